"""The workspace: one long-lived analysis of many experiments, shared by every query.

It holds the inputs (the source overlay of open documents, the search path options, the import
policy) and what is derived from them and worth keeping (the parse cache, the signature cache,
the last analysis of each experiment and the reverse index from a template to the experiments
that read it). `check(path)` runs the same pipeline as `fgc check`, reading templates through
the overlay and the parse cache.

Trust: checking never executes config code. Import resolution imports the modules a config
names to read their signatures (their top-level code runs), exactly as `fgc check` does; the
import mode `cached-only` answers from the on-disk signature cache and imports nothing, `off`
resolves no callable at all (as `--no-import`).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .. import pipeline
from ..diagnostics import Diagnostic
from ..imports.cache import SignatureCache, default_cache_dir
from ..inheritance.template_pass import TemplateGraph
from ..loader import TemplateSource
from ..render import Reuse
from .overlay import SourceOverlay
from .parse_cache import ParseCache
from .reverse_index import ReverseIndex
from .source_index import SourceIndex

if TYPE_CHECKING:
    from ..graph import Graph
    from ..imports import Imports
    from ..render import RenderResult


REUSE_LIMIT = 2000  # lowered templates kept for reuse
MARKER_RESERVE = 100_000  # origin-marker ids kept free


class ImportMode(str, enum.Enum):
    ON = "on"  # import what `fgc check` imports
    CACHED_ONLY = "cached-only"  # the signature cache only; a miss is left unchecked
    OFF = "off"  # no import resolution (`--no-import`)

    @staticmethod
    def parse(value: object) -> "ImportMode":
        """A setting's value; anything unknown is the safe choice, `cached-only`."""
        try:
            return ImportMode(str(value))
        except ValueError:
            return ImportMode.CACHED_ONLY


@dataclass
class Analysis:
    """The last check of one experiment."""

    path: str  # absolute
    diagnostics: list[Diagnostic]
    compilation: pipeline.Compilation | None  # None when the check itself failed (a bug)
    files: list[str] = field(default_factory=list)  # every template file read
    _index: SourceIndex | None = None

    @property
    def _render(self) -> RenderResult | None:
        return self.compilation.front.render if self.compilation is not None else None

    @property
    def template_graph(self) -> TemplateGraph | None:
        return self._render.graph if self._render is not None else None

    @property
    def graph(self) -> Graph | None:  # None when the passes did not run
        return self.compilation.graph if self.compilation is not None else None

    @property
    def imports(self) -> Imports | None:
        return self.compilation.imports if self.compilation is not None else None

    @property
    def search_roots(self) -> list[Path]:
        render = self._render
        return list(render.search.roots) if render is not None and render.search is not None else []

    @property
    def index(self) -> SourceIndex:
        if self._index is None:
            render = self._render
            document = self.compilation.front.document if self.compilation is not None else None
            self._index = SourceIndex(render.source_map if render is not None else None, document, self.graph)
        return self._index


class Workspace:
    def __init__(
        self,
        include_dirs: Sequence[str | Path] = (),
        import_mode: ImportMode = ImportMode.ON,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.overlay = SourceOverlay()
        self.parses = ParseCache()
        self.reverse = ReverseIndex()
        self.analyses: dict[str, Analysis] = {}
        # The last analysis of each experiment that got as far as a config graph: while the
        # user types, the buffer is often broken, and completion still needs the blocks,
        # variables and signatures of a moment ago.
        self.last_good: dict[str, Analysis] = {}
        self.include_dirs = [Path(d) for d in include_dirs]
        self.variables = dict(variables or {})
        self.set_import_mode(import_mode)
        self.source = TemplateSource(read_text=self.overlay.read_text, parse=self.parses.parse)
        self.reuse = Reuse()  # stable origin markers; lowered and compiled templates by their text

    def set_import_mode(self, mode: ImportMode) -> None:
        self.import_mode = mode
        # One cache object for the workspace's life: its files are read once, and each entry
        # is still checked against its module files' mtimes at every use.
        directory = default_cache_dir() if mode != ImportMode.OFF else None
        self.signatures = SignatureCache(directory, import_on_miss=mode == ImportMode.ON)

    def check(self, path: str | Path, generate_code: bool = True) -> Analysis:
        """Every diagnostic `fgc check` would report for `path`, reading the overlay.
        `generate_code=False` stops after imports and signatures: code generation only proves
        the module valid (FG07xx, rare) and costs as much as the rest together, so the server
        leaves it to open and save and skips it while the user types."""
        key = os.path.abspath(path)
        self._bound_reuse()
        front = pipeline.frontend(key, self.include_dirs, self.variables, self.source, reuse=self.reuse)
        comp = pipeline.backend(
            front,
            import_modules=self.import_mode != ImportMode.OFF,
            cache=self.signatures,
            use_black=False,
            code_text=False,
            generate_code=generate_code,
        )
        files = [str(p) for p in front.render.templates] if front.render is not None else []
        analysis = Analysis(key, list(comp.diagnostics), comp, files)
        self.analyses[key] = analysis
        if comp.graph is not None and comp.graph.targets:
            self.last_good[key] = analysis
        self.reverse.record(key, files)
        return analysis

    def _bound_reuse(self) -> None:
        """Every edit adds a lowered text to the render cache and may take a new marker range:
        start afresh before either grows without bound (the next check lowers everything)."""
        if len(self.reuse.prepared) > REUSE_LIMIT or self.reuse.markers.remaining() < MARKER_RESERVE:
            self.reuse = Reuse()

    def forget(self, path: str | Path) -> None:
        key = os.path.abspath(path)
        self.analyses.pop(key, None)
        self.last_good.pop(key, None)
        self.reverse.forget(key)

    def affected_by(self, file: str | Path) -> list[str]:
        """The checked experiments that read `file` (so must be checked again when it changes)."""
        return self.reverse.experiments_reaching(str(file))
