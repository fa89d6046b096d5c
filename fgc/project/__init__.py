"""Projects in the reference layout (docs/language.md, Projects): a directory with a `meta.yaml`,
inside a workspace (an ancestor holding `forgather_workspace/`).

    load_project(dir) -> (Project | None, diagnostics)
    project.config_file(name) -> the config template's path (FG0804 when there is none)
    project.configs() -> every config's name

    discovery  find the project and the workspace by walking up
    globals    `project_dir`, `workspace_root`, `hostname`, `uname`, `versions`
    meta       meta.yaml rendered by the pipeline and read as plain data
    listing    the configs under `<searchdir>/<config_prefix>/`, their metadata (`fgc ls`)

This layer sits above the pipeline (it renders meta.yaml with it), next to the CLI and the API.
Diagnostics FG08xx (docs/diagnostics.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, Result, did_you_mean, error
from .discovery import META_FILE, WORKSPACE_DIR, find_project_dir, find_workspace_root, is_project_dir
from .globals import project_globals
from .meta import Meta, load_meta

__all__ = ["Project", "load_project", "find_project_dir", "find_workspace_root", "is_project_dir"]

CONFIG_SUFFIXES = (".yaml", ".fg")


@dataclass(frozen=True)
class Project:
    """A project directory with its workspace, meta.yaml and globals."""
    dir: Path
    workspace_root: Path
    meta: Meta
    globals: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return self.meta.name or self.dir.name

    @property
    def include_dirs(self) -> list[Path]:
        """The configs' template search path (meta's `searchdir`), after the config's directory."""
        return list(self.meta.searchdir)

    def config_roots(self) -> list[Path]:
        """`<root>/<config_prefix>` for each search root that has one, in search order."""
        return [r / self.meta.config_prefix for r in self.meta.searchdir if (r / self.meta.config_prefix).is_dir()]

    def configs(self) -> dict[str, Path]:
        """Config name (relative to the prefix, `/`-separated) -> file, sorted by name; a name
        found under two roots is the first root's (first match wins, as template lookup)."""
        found: dict[str, Path] = {}
        for root in self.config_roots():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
                for f in filenames:
                    if f.endswith(CONFIG_SUFFIXES):
                        name = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                        found.setdefault(name, Path(dirpath) / f)
        return dict(sorted(found.items()))

    @property
    def default_config(self) -> str | None:
        """meta's `default_config`, else the first config by name."""
        if self.meta.default_config:
            return self.meta.default_config
        names = list(self.configs())
        return names[0] if names else None

    def config_file(self, name: str | None) -> tuple[Path | None, list[Diagnostic]]:
        """The file of config `name` (None: the default); FG0804/FG0805 when there is none.
        `name` may omit the `.yaml` suffix."""
        configs = self.configs()
        if name is None:
            name = self.default_config
            if name is None:
                where = ", ".join(str(r / self.meta.config_prefix) for r in self.meta.searchdir) or "(no searchdir)"
                return None, [error("FG0805", f"project `{self.dir}` has no configs (looked in {where})")]
            explicit = False
        else:
            explicit = True
        for candidate in (name, *(name + s for s in CONFIG_SUFFIXES)):
            if candidate in configs:
                return configs[candidate], []
        # An unknown default is the meta.yaml's mistake: at its `default_config` line.
        span = None if explicit else self.meta.default_config_span
        which = "config" if explicit else "default config"
        return None, [
            error(
                "FG0804",
                f"project `{self.name}` has no {which} `{name}`; its configs: {', '.join(configs) or '(none)'}",
                span,
                hint=did_you_mean(name if name.endswith(CONFIG_SUFFIXES) else name + ".yaml", list(configs)),
            )
        ]


def load_project(path: str | Path) -> Result[Project | None]:
    """The project at or above `path`: workspace found, meta.yaml rendered and read."""
    project_dir = find_project_dir(path)
    if project_dir is None:
        return Result(None, [error("FG0801", f"no project at `{path}`: no {META_FILE} in it or in a directory above it")])
    workspace = find_workspace_root(project_dir)
    if workspace is None:
        return Result(None, [
            error(
                "FG0802",
                f"project `{project_dir}` is in no workspace: no `{WORKSPACE_DIR}/` directory in it or above it",
                hint=f"create `{WORKSPACE_DIR}/` (with meta_defaults.yaml) in the project or a directory above it",
            )
        ])
    globals = project_globals(project_dir, workspace)
    meta, diags = load_meta(project_dir, workspace, globals)
    if meta is None:
        return Result(None, diags)
    return Result(Project(project_dir, workspace, meta, globals), diags)
