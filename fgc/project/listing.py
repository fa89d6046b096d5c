"""The configs of a project with the names and descriptions their metadata declares (`fgc ls
PROJECT_DIR`, docs/language.md, Projects): the `meta` target's `config_name` and
`config_description`, read from the graph (nothing is imported or constructed). A config with
errors is still listed, with its first error, so one broken config does not hide the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import Diagnostic
from ..graph import Graph, Kind, Node
from . import Project


@dataclass
class ConfigEntry:
    config: str  # the name `-t` takes
    path: str
    name: str | None  # meta.config_name
    description: str | None  # meta.config_description
    default: bool
    error: str | None = None  # the first error, `file:line:col: error[FGxxxx]: message`


def meta_strings(graph: Graph) -> dict[str, str]:
    """The string entries of the `meta` target (a `!dict` or a plain mapping)."""
    value: Any = graph.values.get("meta")
    if isinstance(value, Node) and value.kind == Kind.DICT:
        value = value.kwargs
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)}


def first_error(diagnostics: list[Diagnostic]) -> Diagnostic | None:
    return next((d for d in diagnostics if d.is_error), None)


def list_configs(project: Project) -> list[ConfigEntry]:
    from ..frontend import analyze, frontend

    default = project.default_config
    out: list[ConfigEntry] = []
    for config, path in project.configs().items():
        front = frontend(path, project.include_dirs, {}, globals=project.globals)
        diags = list(front.diagnostics)
        graph = None
        if front.ok:
            graph, more = analyze(front)
            diags.extend(more)
        meta = meta_strings(graph) if graph is not None else {}
        bad = first_error(diags)
        out.append(
            ConfigEntry(
                config,
                str(path),
                meta.get("config_name"),
                meta.get("config_description"),
                config == default or (default is not None and config == default + ".yaml"),
                str(bad) if bad is not None else None,
            )
        )
    return out
