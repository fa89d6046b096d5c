"""A project's `meta.yaml` (docs/language.md, Projects): rendered with the same front end as a config
(its own diagnostics, at positions in meta.yaml or the workspace files it extends), its root
mapping read as plain data, never constructed.

Search path of meta.yaml: the project directory, `<workspace_root>/forgather_workspace`, then
the user's `<config dir>/forgather/templates` when it exists (and fgc's stdlib, last).

Keys read, each checked for its type at its position (FG0803):

    searchdir       list of template roots for the configs   default [<project>/templates]
    config_prefix   where the configs are under each root     default "configs"
    default_config  the config `-t` defaults to               default: the first config, by name
    name, description                                         shown by `fgc ls`
    system_path     a directory added to sys.path by runs     relative to the project

Relative `searchdir` entries are taken relative to the project directory (the reference takes
them relative to the process's working directory, so a project's meaning depended on where the
command ran); entries that are not directories are dropped, as the reference drops them.

The reading is kept between processes (`<cache dir>/meta/`): every command in a project reads
meta.yaml first, and a kept reading spares its rendering (about a tenth of a `fgc check`). It is
keyed by this fgc, the project and workspace directories, the search path, the globals and the
environment the globals read (`fgc.recording.environment_key`), and used while every template
it read and every search-path probe is as it was (`fgc.recording`); a meta.yaml that may read
the clock is read every time.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..diagnostics import Diagnostic, Span, error, has_errors
from ..graph import Graph, Node
from .discovery import META_FILE, WORKSPACE_DIR

if TYPE_CHECKING:
    from ..recording import Recording

DEFAULT_CONFIG_PREFIX = "configs"


@dataclass(frozen=True)
class Meta:
    """What a project's meta.yaml says (defaults applied)."""

    file: Path
    searchdir: tuple[Path, ...]
    config_prefix: str
    default_config: str | None  # as written; None: not given
    default_config_span: Span | None
    name: str | None
    description: str | None
    system_path: Path | None
    templates: tuple[Path, ...]  # every template file that rendering meta.yaml read


def user_templates_dir() -> Path | None:
    """`~/.config/forgather/templates` (platformdirs), on the meta search path when it exists."""
    from ..render.environment import forgather_config_dir

    d = Path(forgather_config_dir()) / "templates"
    return d if d.is_dir() else None


def meta_search_path(workspace_root: Path) -> list[Path]:
    """The include directories of meta.yaml (its own directory comes first by itself)."""
    dirs = [workspace_root / WORKSPACE_DIR]
    user = user_templates_dir()
    if user is not None:
        dirs.append(user)
    return dirs


@dataclass(frozen=True)
class _Reading:
    """What rendering meta.yaml gave, with the record of what it read (None: not to be kept)."""

    meta: Meta | None  # its searchdir not yet filtered to existing directories
    diagnostics: tuple[Diagnostic, ...]
    inputs: dict[str, Any] | None


def load_meta(
    project_dir: Path, workspace_root: Path, globals: Mapping[str, Any]
) -> tuple[Meta | None, list[Diagnostic]]:
    """Render and read `<project_dir>/meta.yaml` (or take the kept reading); None when it has
    errors."""
    from ..cache_dir import kept
    from ..recording import Recording

    search = meta_search_path(workspace_root)
    reading = kept(
        "meta",
        _key(project_dir, workspace_root, search, globals),
        lambda: _read(project_dir, search, globals),
        accept=lambda r: isinstance(r, _Reading) and r.inputs is not None and Recording.still_valid(r.inputs),
        keep=lambda r: r.inputs is not None,
    )
    meta = reading.meta
    if meta is not None:  # a directory created or removed since: checked every time
        meta = dataclasses.replace(meta, searchdir=tuple(d for d in meta.searchdir if d.is_dir()))
    return meta, list(reading.diagnostics)


def _key(project_dir: Path, workspace_root: Path, search: list[Path], globals: Mapping[str, Any]) -> str:
    import hashlib

    from ..loader import fgc_stamp
    from ..recording import environment_key

    h = hashlib.sha256(b"meta-v1" + fgc_stamp())
    h.update(repr((str(project_dir), str(workspace_root), [str(d) for d in search])).encode())
    h.update(repr(sorted(globals.items())).encode())
    h.update(repr(environment_key()).encode())
    return h.hexdigest()


def _read(project_dir: Path, search: list[Path], globals: Mapping[str, Any]) -> _Reading:
    from ..recording import Recording

    recording = Recording()
    meta, diags = _render(project_dir, search, globals, recording)
    return _Reading(meta, tuple(diags), None if recording.volatile else recording.to_json())


def _render(
    project_dir: Path, search: list[Path], globals: Mapping[str, Any], recording: Recording
) -> tuple[Meta | None, list[Diagnostic]]:
    from ..frontend import analyze, frontend

    file = project_dir / META_FILE
    front = frontend(file, search, {}, globals=globals, source=recording.source())
    diags = list(front.diagnostics)
    templates = tuple(front.render.templates) if front.render is not None else ()
    if not front.ok or front.document is None:
        return None, diags
    graph, pass_diags = analyze(front)
    diags.extend(pass_diags)
    if has_errors(pass_diags):
        return None, diags
    reader = _Reader(graph, file)
    roots = reader.string_list("searchdir")
    searchdir = (
        tuple(Path(os.path.normpath(project_dir / r)) for r in roots)
        if roots is not None
        else (project_dir / "templates",)
    )
    prefix = reader.string("config_prefix") or DEFAULT_CONFIG_PREFIX
    default = reader.string("default_config")
    system_path = reader.string("system_path")
    meta = Meta(
        file=file,
        searchdir=searchdir,
        config_prefix=prefix,
        default_config=default,
        default_config_span=graph.target_spans.get("default_config"),
        name=reader.string("name"),
        description=reader.string("description"),
        system_path=Path(os.path.normpath(project_dir / system_path)) if system_path else None,
        templates=templates,
    )
    diags.extend(reader.diagnostics)
    return (None if has_errors(reader.diagnostics) else meta), diags


class _Reader:
    """Reads top-level keys of meta.yaml's graph as plain data, with FG0803 for a wrong type."""

    def __init__(self, graph: Graph, file: Path) -> None:
        self.graph = graph
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def _value(self, key: str) -> Any:
        return self.graph.values.get(key)

    def _wrong(self, key: str, expected: str, value: Any) -> None:
        got = value.describe() if isinstance(value, Node) else type(value).__name__
        span = self.graph.target_spans.get(key) or Span.point(str(self.file), 1)
        self.diagnostics.append(error("FG0803", f"meta.yaml: `{key}` must be {expected}, got {got}", span))

    def string(self, key: str) -> str | None:
        value = self._value(key)
        if value is None or isinstance(value, str):
            return value
        self._wrong(key, "a string", value)
        return None

    def string_list(self, key: str) -> list[str] | None:
        value = self._value(key)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self._wrong(key, "a list of directories (strings)", value)
        return None
