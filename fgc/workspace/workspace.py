"""The workspace: one long-lived analysis of many experiments, shared by every query.

It holds the inputs (the source overlay of open documents, the search path options, the import
policy, the folders of the editor's workspace) and what is derived from them and worth keeping:
the parse cache, the render cache, the signature cache, the projects read, the last analysis of
each experiment and the reverse index from a template to the experiments that read it.

`compute(path, snapshot)` runs the pipeline of `fgc check` on one open document, reading
templates through the snapshot and the caches, and says what the document is:

    experiment   a template checked as `fgc check FILE` checks it
    config       one of a project's configs, checked as `fgc check PROJECT -t CONFIG` (the input
                 resolver of the command line, fgc/analysis/inputs.py, with the project's search
                 path and globals)
    library      a template of fgc's stdlib, an include directory or a project's template
                 directories: checked through the experiments that use it (their analyses come
                 with it; the language server shows in it the diagnostics that hold in all of them)
    syntax       a library template that nothing uses: its syntax only, with a note

`compute` stores nothing (the language server's worker thread calls it); `store` records an
analysis (the event loop's thread); `check` does both, for in-process callers. Every cache is
keyed by content and bounded, so that memory stays flat over a long editing session.

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
from ..analysis.inputs import Input, project_config
from ..diagnostics import Diagnostic, Result, note
from ..imports.cache import SignatureCache, default_cache_dir
from ..inheritance.template_pass import TemplateGraph
from ..loader import ParseCache, TemplateSource
from ..render import Reuse
from ..syntax.config_chunks import ChunkCache
from .bounded import LruDict
from .overlay import Snapshot, SourceOverlay
from .reverse_index import ReverseIndex
from .source_index import SourceIndex
from .usage import UsageIndex

if TYPE_CHECKING:
    from ..graph import Graph
    from ..imports import Imports
    from ..project import Project
    from ..render import RenderResult


# The render cache: lowered templates (by their text) with their jinja2 parse and compiled code.
REUSE_ENTRIES = 256
REUSE_CHARACTERS = 16 << 20
VERSIONS_KEPT = 2  # lowered versions of one template: the current one and the one an undo brings back
MARKER_RESERVE = 100_000  # origin-marker ids kept free
PARSED_FILES = 1024  # template ASTs kept (one version of each file)
SYNTAX_ONLY = "FG0542"
USERS_CHECKED = 3  # experiments a library template is checked through


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


class Kind(str, enum.Enum):
    EXPERIMENT = "experiment"
    CONFIG = "config"
    LIBRARY = "library"
    SYNTAX = "syntax"


@dataclass
class Analysis:
    """The last check of one document."""

    path: str  # absolute
    diagnostics: list[Diagnostic]
    compilation: pipeline.Compilation | None  # None: no compilation (a library, a bug)
    files: list[str] = field(default_factory=list)  # every template file read
    kind: Kind = Kind.EXPERIMENT
    versions: dict[str, int | None] = field(default_factory=dict)  # the open documents read
    users: list[str] = field(default_factory=list)  # a library's experiments
    variables: dict[str, Any] = field(default_factory=dict)  # the template variables given
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
    def good(self) -> bool:
        """It got as far as a config graph with targets (what hover and completion read): the
        text compiled, though an argument may be wrong."""
        return self.graph is not None and bool(self.graph.targets)

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


class Projects:
    """Projects read once, again when one of the files their meta.yaml read changes."""

    def __init__(self) -> None:
        self._loaded: dict[Path, tuple[list[tuple[str, tuple[int, int] | None]], Result[Project | None]]] = {}

    def load(self, directory: Path) -> Result[Project | None]:
        from ..project import load_project
        from ..project.discovery import META_FILE, find_project_dir

        key = find_project_dir(directory) or Path(directory)
        known = self._loaded.get(key)
        if known is not None and all(_stat(f) == st for f, st in known[0]):
            return known[1]
        result = load_project(key)
        project = result.value
        files = [str(key / META_FILE), *(str(t) for t in (project.meta.templates if project is not None else ()))]
        self._loaded[key] = ([(f, _stat(f)) for f in dict.fromkeys(files)], result)
        return result

    def forget(self) -> None:
        self._loaded.clear()


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Workspace:
    def __init__(
        self,
        include_dirs: Sequence[str | Path] = (),
        import_mode: ImportMode = ImportMode.ON,
        variables: Mapping[str, Any] | None = None,
        roots: Sequence[str | Path] = (),
    ) -> None:
        self.overlay = SourceOverlay()
        self.parses = ParseCache(limit=PARSED_FILES)
        self.reverse = ReverseIndex()
        self.analyses: dict[str, Analysis] = {}
        # The last analysis of each experiment that got as far as a config graph: while the
        # user types, the buffer is often broken, and completion still needs the blocks,
        # variables and signatures of a moment ago.
        self.last_good: dict[str, Analysis] = {}
        self.include_dirs = [Path(d) for d in include_dirs]
        self.variables = dict(variables or {})
        self.roots = [Path(r) for r in roots]  # the editor's workspace folders
        self.projects = Projects()
        self.usage = UsageIndex()
        self.set_import_mode(import_mode)
        self.reuse = self._new_reuse()
        self.chunks = ChunkCache()  # each rendered config's top-level entries, from its last parse

    @staticmethod
    def _new_reuse() -> Reuse:
        """Stable origin markers, and lowered and compiled templates by their text, bounded."""

        def size(key: tuple[str, str, str]) -> int:
            return len(key[2])

        def template(key: tuple[str, str, str]) -> tuple[str, str]:
            return key[0], key[1]

        return Reuse(
            prepared=LruDict(REUSE_ENTRIES, REUSE_CHARACTERS, size, template, VERSIONS_KEPT),
            compiled=LruDict(REUSE_ENTRIES, REUSE_CHARACTERS, size, template, VERSIONS_KEPT),
            reads=LruDict(REUSE_ENTRIES, REUSE_CHARACTERS, size, template, VERSIONS_KEPT),
            lowered=LruDict(REUSE_ENTRIES, REUSE_CHARACTERS, size, template, VERSIONS_KEPT),
        )

    def set_import_mode(self, mode: ImportMode) -> None:
        self.import_mode = mode
        # One cache object for the workspace's life: its files are read once, and each entry
        # is still checked against its module files' mtimes at every use.
        directory = default_cache_dir() if mode != ImportMode.OFF else None
        self.signatures = SignatureCache(directory, import_on_miss=mode == ImportMode.ON)

    # -- what a document is ------------------------------------------------------------------

    def input_for(self, path: str) -> Input:
        """The input resolver's answer for an open document (fgc/analysis/inputs.py): a
        project's config gets the project's search path and globals; the file need not exist on
        the disk (an unsaved or `untitled:` buffer)."""
        file = Path(path)
        return project_config(file, self.include_dirs, self.variables, self.projects.load) or Input(
            file, list(self.include_dirs), dict(self.variables)
        )

    def is_library(self, path: str) -> bool:
        """A template of fgc's stdlib, of an include directory, or of a project's template
        directories outside its configs: one that experiments use rather than one to compile."""
        from ..project.discovery import find_project_dir
        from ..resources import stdlib_dir

        real = os.path.realpath(path)
        if _under(real, [stdlib_dir(), *self.include_dirs]):
            return True
        project_dir = find_project_dir(Path(path).parent)
        if project_dir is None:
            return False
        project = self.projects.load(project_dir).value
        if project is None:
            return False
        if _under(real, project.config_roots()):
            return False
        return _under(real, [*project.meta.searchdir, project.workspace_root / "forgather_workspace"])

    def search_roots_of(self, file: str) -> list[Path]:
        """Where `file`'s template names are looked up (as the input resolver would compile it)."""
        from ..loader import search_path

        inp = self.input_for(file)
        return search_path(inp.path, inp.include_dirs)[0].roots

    # -- checks ------------------------------------------------------------------------------

    def compute(
        self,
        path: str | Path,
        snapshot: Snapshot | None = None,
        generate_code: bool = True,
        checkpoint: pipeline.Checkpoint | None = None,
        users: Sequence[str] | None = None,
    ) -> list[Analysis]:
        """The analyses of checking `path`: its own last, after those of the experiments a
        library template is checked through (`users`: the checked experiments known to read it;
        None: ask the reverse index, from the thread that stores). Stores nothing."""
        key = os.path.abspath(path)
        snap = snapshot if snapshot is not None else self.overlay.snapshot()
        inp = self.input_for(key)
        if inp.project is None and self.is_library(key):
            known = [e for e in (users if users is not None else self.affected_by(key)) if e != key]
            return self._library(key, known, snap, generate_code, checkpoint)
        return [self._check_input(key, inp, snap, generate_code, checkpoint)]

    def _check_input(
        self, key: str, inp: Input, snap: Snapshot, generate_code: bool, checkpoint: pipeline.Checkpoint | None
    ) -> Analysis:
        self._bound_reuse()

        def read_text(file: str) -> str:
            if checkpoint is not None:
                checkpoint()
            return snap.read_text(file)

        source = TemplateSource(read_text=read_text, parse=self.parses)
        front = pipeline.frontend(
            key,
            inp.include_dirs,
            inp.variables,
            source,
            globals=inp.globals or None,
            reuse=self.reuse,
            checkpoint=checkpoint,
            chunks=self.chunks,
        )
        comp = pipeline.backend(
            front,
            import_modules=self.import_mode != ImportMode.OFF,
            cache=self.signatures,
            use_black=False,
            code_text=False,
            generate_code=generate_code,
            stop_after="plan",  # generating the module reports nothing: what reaches it is valid
            checkpoint=checkpoint,
        )
        files = [str(p) for p in front.render.templates] if front.render is not None else []
        kind = Kind.CONFIG if inp.project is not None else Kind.EXPERIMENT
        versions = {f: snap.version(f) for f in {key, *files} if snap.is_open(f)}
        return Analysis(key, [*inp.diagnostics, *comp.diagnostics], comp, files, kind, versions, variables=inp.variables)

    def _library(
        self, key: str, users: list[str], snap: Snapshot, generate_code: bool, checkpoint: pipeline.Checkpoint | None
    ) -> list[Analysis]:
        """A library template: the analyses of the experiments that use it (`users`, else those
        found in the workspace's folders), then its own record naming them; syntax only when
        nothing uses it."""
        if not users:
            users = self.usage.users(
                key,
                self._scan_roots(),
                self.search_roots_of,
                self.is_library,
                snap.read_text,
                limit=USERS_CHECKED,
            )
        out = []
        for user in users[:USERS_CHECKED]:
            analysis = self._check_input(user, self.input_for(user), snap, generate_code, checkpoint)
            if key in analysis.files:
                out.append(analysis)
        if out:
            versions = {key: snap.version(key)} if snap.is_open(key) else {}
            return [*out, Analysis(key, [], None, [key], Kind.LIBRARY, versions, [a.path for a in out])]
        return [self.syntax_only(key, snap)]

    def _scan_roots(self) -> list[Path]:
        from ..resources import stdlib_dir

        return [*self.roots, *self.include_dirs, stdlib_dir()]

    def syntax_only(self, key: str, snap: Snapshot) -> Analysis:
        """The template's own syntax (its statements, blocks and Jinja), with a note that no
        experiment using it was found."""
        from ..syntax.template_parser import normalize_newlines, parse_template

        try:
            text = normalize_newlines(snap.read_text(key))
        except (OSError, UnicodeDecodeError):
            text = ""
        diags = list(parse_template(text, key, os.path.basename(key), check_jinja=True)[1])
        diags.append(
            note(
                SYNTAX_ONLY,
                "checked for its syntax only: no experiment that uses this library template was found "
                "in the workspace, and alone it is no experiment",
                None,
                hint="open an experiment that extends or includes it to check it in that context",
            )
        )
        versions = {key: snap.version(key)} if snap.is_open(key) else {}
        return Analysis(key, diags, None, [key], Kind.SYNTAX, versions)

    def store(self, analysis: Analysis) -> None:
        key = analysis.path
        self.analyses[key] = analysis
        if analysis.good:
            self.last_good[key] = analysis
        if analysis.kind in (Kind.EXPERIMENT, Kind.CONFIG):
            self.reverse.record(key, analysis.files)
        else:
            self.reverse.forget(key)

    def check(self, path: str | Path, generate_code: bool = True) -> Analysis:
        """Every diagnostic `fgc check` would report for `path`, reading the overlay; stored.
        `generate_code=False` stops after imports and signatures, before the compile-time nodes
        are planned (linking another project, a model package: the server leaves them to open and
        save). The module itself is never generated: that only proves it valid and reports
        nothing, and it costs as much as the rest together (and holds the interpreter's lock for
        long, in `compile`)."""
        analyses = self.compute(path, None, generate_code)
        for a in analyses:
            self.store(a)
        return analyses[-1]

    def _bound_reuse(self) -> None:
        """An edit that adds lines to a template takes a new marker range: start afresh before
        the ids run out (the next check lowers everything again)."""
        if self.reuse.markers.remaining() < MARKER_RESERVE:
            self.reuse = self._new_reuse()

    def forget(self, path: str | Path) -> None:
        key = os.path.abspath(path)
        self.analyses.pop(key, None)
        self.last_good.pop(key, None)
        self.reverse.forget(key)
        self.chunks.forget(key)

    def files_changed(self) -> None:
        """Files were created, deleted or changed on the disk: projects and the usage index are
        read again when next needed."""
        self.projects.forget()
        self.usage.forget()

    def affected_by(self, file: str | Path) -> list[str]:
        """The checked experiments that read `file` (so must be checked again when it changes)."""
        return self.reverse.experiments_reaching(str(file))


def _under(path: str, roots: Sequence[Path]) -> bool:
    for root in roots:
        base = os.path.realpath(root)
        if path == base or path.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False
