"""The workspace layer: one analysis of many experiments for long-lived clients (the language
server), built on the same pipeline as the command line.

    overlay        the editor's unsaved text wins over the disk
    parse_cache    template ASTs reused while a file's text hash is unchanged
    reverse_index  template -> the experiments that read it (edit a parent, re-check children)
    source_index   the inverse source map: template position -> rendered lines, entry, node
    positions      LSP UTF-16 columns, converted at the edge
    workspace      `Workspace.check(path) -> Analysis`, the import policy (`ImportMode`)
"""

from .positions import LineIndex, utf16_length
from .workspace import Analysis, ImportMode, Workspace

__all__ = ["Analysis", "ImportMode", "LineIndex", "Workspace", "utf16_length"]
