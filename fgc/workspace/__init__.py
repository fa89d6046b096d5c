"""The workspace layer: one analysis of many experiments for long-lived clients (the language
server), built on the same pipeline as the command line.

    overlay        the editor's unsaved text wins over the disk; snapshots for a check
    bounded        a size-bounded, least-recently-used mapping for the content-keyed caches
    reverse_index  template -> the experiments that read it (edit a parent, re-check children)
    usage          template -> the experiments in the workspace's folders that use it
    source_index   the inverse source map: template position -> rendered lines, entry, node
    positions      LSP UTF-16 columns, converted at the edge
    workspace      `Workspace.compute/store/check`, what a document is (`Kind`), the import
                   policy (`ImportMode`)

The template parse cache is the loader's (`fgc.loader.ParseCache`), shared with
`fgc check PROJECT --all`.
"""

from .positions import LineIndex, utf16_length
from .workspace import Analysis, ImportMode, Kind, Workspace

__all__ = ["Analysis", "ImportMode", "Kind", "LineIndex", "Workspace", "utf16_length"]
