"""Render: a template file on disk -> rendered YAML text plus a source map.

    render_file(path, include_dirs, variables) -> RenderResult

The stages, each with its diagnostics:

1. load and parse the input (`fgc.loader`, `fgc.syntax.template_parser`);
2. the template pass resolves every static reference, loading and parsing what it names, and
   checks inheritance (`fgc.inheritance.template_pass`);
3. every loaded template is lowered to canonical Jinja with origin markers
   (`fgc.syntax.jinja_source`, the ids from `fgc.render.markers`) and parsed by jinja2 (syntax
   errors get exact positions, `fgc.syntax.jinja_check`);
4. jinja2 renders the input in a fresh sandboxed environment (`fgc.render.environment`),
   loading templates named only at render time (dynamic `extends`) the same way; errors map
   back to file:line:col (`fgc.render.errors`);
5. the markers are removed and give the source map (`fgc.render.markers`).

A later stage runs only when the earlier ones found no error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, MutableMapping, Sequence, TypeGuard

import jinja2
from jinja2 import exceptions as jx

from ..diagnostics import Diagnostic, has_errors, sort_key
from ..inheritance.knobs import knob_pass
from ..inheritance.template_pass import TemplateGraph, add_dynamic_references, template_pass
from ..loader import BadName, LoadedChunk, Loader, SearchPath, TemplateSource, search_path
from ..sourcemap import SourceMap
from ..syntax.jinja_check import check_chunk
from ..syntax.jinja_source import lower_chunk
from . import code_cache
from .environment import make_environment
from .errors import LoadFailed, nested_too_deep, render_error, unique
from .knob_reads import ReadSite, read_sites, unread_knobs
from .markers import MarkerTable, unmark


@dataclass
class RenderResult:
    """What rendering one input produced."""

    text: str | None  # the rendered YAML without markers; None when there were errors
    source_map: SourceMap | None
    graph: TemplateGraph | None = None
    templates: list[Path] = field(default_factory=list)  # every template file used
    diagnostics: list[Diagnostic] = field(default_factory=list)
    root: str | None = None  # the input's template name
    search: SearchPath | None = None  # where templates were looked up (the build records it)
    reads: dict[str, list[ReadSite]] = field(default_factory=dict)  # variable -> where templates read it
    knob_values: dict[str, Any] = field(default_factory=dict)  # the top-level variables' final values (plain data)

    @property
    def ok(self) -> bool:
        return self.text is not None and not has_errors(self.diagnostics)


# `Rendering.prepare`'s tree of a chunk whose jinja2 tree is kept on disk and not read yet.
_ON_DISK: Any = object()


class _Internal(Exception):
    """A bug in fgc surfaced inside jinja2's loading: re-raised as it is, never a diagnostic."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


@dataclass
class Reuse:
    """What a long-lived caller (fgc/workspace) lets its renderings share: one marker table, so
    that an unchanged template lowers to the same text every time, and by that text the jinja2
    parse (with its diagnostics) and the compiled code of each lowered template. The lowered
    text holds the template's whole content and its markers, so it is the whole cache key."""

    markers: MarkerTable = field(default_factory=MarkerTable)
    prepared: dict[tuple[str, str, str], tuple[Any, list[Diagnostic]]] = field(default_factory=dict)
    compiled: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    # The template variables each lowered template reads (`knob_reads.read_sites`), by the same key.
    reads: dict[tuple[str, str, str], dict[str, list[ReadSite]]] = field(default_factory=dict)
    # The lowered text of each template (file, name, text, marker base): an unchanged one is not
    # lowered again.
    lowered: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    # What the shared parses are made with (jinja2 ties every node to the environment that parsed
    # it): an environment of their own, never a rendering's, which would live as long as they do.
    parse_env: jinja2.Environment = field(default_factory=lambda: make_environment())


class Rendering:
    """One rendering: its loader (and sub-template registry), markers and Jinja environment."""

    def __init__(self, search: list[Path], source: TemplateSource | None = None, reuse: Reuse | None = None) -> None:
        self.reuse = reuse
        self.markers = reuse.markers if reuse is not None else MarkerTable()  # ids given out as templates are lowered
        self._keys: dict[int, tuple[str, str, str]] = {}  # chunk -> its key in `reuse`
        self.loader = Loader(search, source)
        self.env = make_environment(_JinjaLoader(self))
        self.env.on_reference = self._on_reference
        self.references: list[tuple[str, str]] = []  # (referencing template, target) at render
        self._prepared: dict[int, tuple[Any, list[Diagnostic]]] = {}
        self.reported: set[int] = set()  # files whose parse diagnostics were already reported

    def prepare(self, chunk: LoadedChunk) -> tuple[Any, list[Diagnostic]]:
        """(jinja2 AST or None, diagnostics) of a chunk lowered with its markers."""
        key = id(chunk.chunk)
        if key not in self._prepared:
            lowered = self._lower(chunk)
            shared = self._keys[key] = (chunk.jinja_filename, chunk.name, lowered)
            prepared = self.reuse.prepared.get(shared) if self.reuse is not None else None
            if prepared is None and self.reuse is None and code_cache.has_tree(*shared):
                # One process: jinja2's tree is on disk, read when needed (`tree`); a kept tree
                # is a clean parse of the same text, so the template has no diagnostics.
                prepared = (_ON_DISK, [])
            if prepared is None:
                env = self.reuse.parse_env if self.reuse is not None else self.env
                prepared = check_chunk(chunk.chunk, lowered, env, chunk.file.diagnostics, chunk.jinja_filename)
                if self.reuse is not None:
                    self.reuse.prepared[shared] = prepared
                elif prepared[0] is not None and not prepared[1]:  # only a clean parse is kept
                    code_cache.store_tree(*shared, prepared[0], self.env)
            self._prepared[key] = prepared
        return self._prepared[key]

    def tree(self, chunk: LoadedChunk) -> Any:
        """jinja2's tree of a chunk (None when it does not parse), read from disk if `prepare`
        left it there."""
        key = id(chunk.chunk)
        tree, diags = self.prepare(chunk)
        if tree is _ON_DISK:
            shared = self._keys[key]
            tree = code_cache.load_tree(*shared, self.env)
            if tree is None:  # unreadable since: parse again (the same clean parse)
                tree = check_chunk(chunk.chunk, shared[2], self.env, chunk.file.diagnostics, chunk.jinja_filename)[0]
            self._prepared[key] = (tree, diags)
        return tree

    def _lower(self, chunk: LoadedChunk) -> str:
        marks = self.markers.line_marks(chunk.file.path, chunk.file.line_count)
        base = self.markers.register(chunk.file.path, chunk.file.line_count)  # the range `marks` writes
        if self.reuse is None or base is None:
            return lower_chunk(chunk.chunk, marks)
        key = (chunk.jinja_filename, chunk.name, chunk.file.text, base)
        lowered = self.reuse.lowered.get(key)
        if lowered is None:
            lowered = self.reuse.lowered[key] = lower_chunk(chunk.chunk, marks)
        return lowered

    def check_loaded(self) -> list[Diagnostic]:
        """Jinja-parse every template loaded so far; their diagnostics."""
        out: list[Diagnostic] = []
        for chunk in self.loader.chunks():
            out.extend(self.prepare(chunk)[1])
        return out

    def jinja_template(self, name: str, globals: MutableMapping[str, Any]) -> jinja2.Template:
        if not isinstance(name, str):
            raise jx.TemplateNotFound(repr(name), f"a template name is a string, not {type(name).__name__} {name!r}")
        try:
            chunk = self.loader.resolve(name)
        except BadName as e:
            raise jx.TemplateNotFound(name, str(e)) from None
        if chunk is None:
            raise jx.TemplateNotFound(name)
        # A file first loaded now (a dynamic target) reports its parse diagnostics here.
        new = [] if id(chunk.file) in self.reported else list(chunk.file.diagnostics)
        self.reported.add(id(chunk.file))
        tree, diags = self.prepare(chunk)
        if tree is None or has_errors(new):
            raise LoadFailed(new + diags)
        shared = self._keys[id(chunk.chunk)]
        if self.reuse is not None:  # a long-lived caller: in memory
            code = self.reuse.compiled.get(shared)
            if code is None:
                code = self.reuse.compiled[shared] = self._compile(chunk, tree)
        else:  # one process, one rendering: on disk, for the next process
            code = code_cache.load(*shared)
            if code is None:
                code = self._compile(chunk, self.tree(chunk))
                code_cache.store(*shared, code)
        return self.env.template_class.from_code(self.env, code, globals, lambda: True)

    def _compile(self, chunk: Any, tree: Any) -> Any:
        try:
            return self.env.compile(tree, chunk.name, chunk.jinja_filename)
        except SyntaxError as e:  # Python refuses the code jinja2 wrote: nesting too deep
            raise LoadFailed([nested_too_deep(chunk, e)]) from None

    def reads(self) -> dict[str, list[ReadSite]]:
        """The template variables that the loaded templates read, with where
        (fgc/render/knob_reads.py)."""
        trees = [(chunk, self.prepare(chunk)[0]) for chunk in self.loader.chunks()]
        trees = [(chunk, tree) for chunk, tree in trees if tree is not None]
        # One process (no `reuse`): the reads of the same templates kept on disk by an earlier run.
        places = [(*self._keys[id(c.chunk)], c.file.path, c.chunk.first_line) for c, _ in trees]
        if self.reuse is None:
            kept = code_cache.load_reads(places)
            if _is_reads(kept):
                return kept
        out: dict[str, list[ReadSite]] = {}
        for chunk, _ in trees:
            shared = self._keys[id(chunk.chunk)]
            found = self.reuse.reads.get(shared) if self.reuse is not None else None
            if found is None:
                tree = self.tree(chunk)
                if tree is None:
                    continue
                found = read_sites(tree, chunk.file.path, chunk.chunk.first_line)
                if self.reuse is not None:
                    self.reuse.reads[shared] = found
            for name, sites in found.items():
                out.setdefault(name, []).extend(sites)
        if self.reuse is None:
            code_cache.store_reads(places, out)
        return out

    def _on_reference(self, target: str, parent: str) -> None:
        self.references.append((parent, target))


class _JinjaLoader(jinja2.BaseLoader):
    """Serves jinja2 the compiled templates of one rendering."""

    def __init__(self, rendering: Rendering) -> None:
        self.rendering = rendering

    def load(
        self, environment: jinja2.Environment, name: str, globals: MutableMapping[str, Any] | None = None
    ) -> jinja2.Template:
        try:
            return self.rendering.jinja_template(name, globals or {})
        except (jx.TemplateError, LoadFailed):
            raise
        except Exception as e:  # not the user's input: let the CLI report an internal error
            raise _Internal(e) from e


def render_file(
    path: str | Path,
    include_dirs: Sequence[str | Path] = (),
    variables: Mapping[str, Any] | None = None,
    source: TemplateSource | None = None,
    globals: Mapping[str, Any] | None = None,
    reuse: Reuse | None = None,
) -> RenderResult:
    """Render the template file `path` (its search path: its directory, `include_dirs`, stdlib/)
    with the template variables `variables`; the text, its source map and diagnostics. `source`
    (default: the disk) is where templates are read and parsed (the language server's overlay);
    `reuse` lets renderings share lowered and compiled templates (see `Reuse`)."""
    path = Path(path)
    variables = dict(variables or {})
    search, diags = search_path(path, include_dirs)
    rendering = Rendering(search.roots, source, reuse)
    # A project's globals (`project_dir`, `hostname`, ..., fgc/project/): seen by every template,
    # imported macros included, and not knobs as `-D` variables are.
    rendering.env.globals.update(globals or {})
    loader = rendering.loader
    root = loader.load_root(path)
    result = RenderResult(None, None, root=root.name if root else None, search=search)
    if root is None:
        result.diagnostics = _finish(diags + loader.diagnostics)
        return result
    graph, pass_diags = template_pass(loader, root)
    result.graph = graph
    diags = diags + loader.diagnostics + pass_diags + rendering.check_loaded()
    for f in loader.files.values():
        rendering.reported.add(id(f))
    if has_errors(diags):
        result.templates = [Path(p) for p in loader.files]
        result.diagnostics = _finish(diags)
        return result

    before = len(loader.diagnostics)
    loaded = not has_errors(diags)  # every static template loaded and parsed: their reads are known
    try:
        # Template.render, keeping its context: the top-level variables the chain ended with.
        template = rendering.env.get_template(root.name)
        context = template.new_context(dict(variables))
        try:
            raw = rendering.env.concat(template.root_render_func(context))
        except Exception:
            rendering.env.handle_exception()
        result.knob_values = {k: v for k, v in context.vars.items() if _plain(v)}
    except _Internal as e:
        raise e.original
    except Exception as exc:  # a Jinja error, or one raised by code the template called
        raw = None
        diags.extend(render_error(exc, loader, variables, rendering.env))
    diags.extend(d for d in loader.diagnostics[before:] if d not in diags)
    add_dynamic_references(graph, loader, rendering.references)
    diags.extend(knob_pass(graph, variables))  # needs the -D names and the parents seen rendering
    if loaded:  # a render error (an undefined name) still leaves every knob's reads known
        result.reads = rendering.reads()
        diags.extend(unread_knobs(graph, set(result.reads), variables, rendering.env.globals))
    result.templates = [Path(p) for p in loader.files]
    if raw is not None and not has_errors(diags):
        result.text, result.source_map = unmark(raw, rendering.markers, loader.source_lines(), root.file.path)
    result.diagnostics = _finish(diags)
    return result


def _is_reads(value: Any) -> TypeGuard[dict[str, list[ReadSite]]]:
    """Whether `value` is what `Rendering.reads` returns (a kept entry is checked before use)."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(s, ReadSite) for s in v)
        for k, v in value.items()
    )


def _plain(value: Any, depth: int = 0) -> bool:
    """Data a listing can show (`fgc vars`): no macros, namespaces or other objects."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if depth < 4 and isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if depth < 4 and isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _finish(diags: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(unique(diags), key=sort_key)
