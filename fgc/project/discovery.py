"""Where a project and its workspace are (docs/language.md, Projects).

A *project* is the nearest directory, from the one given up to `/`, that holds a `meta.yaml`
file; its *workspace root* is the nearest directory, from the project up, that holds a
*directory* named `forgather_workspace` (workspaces nest: the innermost one wins).
"""

from __future__ import annotations

from pathlib import Path

META_FILE = "meta.yaml"
WORKSPACE_DIR = "forgather_workspace"


def _upwards(start: Path) -> list[Path]:
    start = Path(start).resolve()
    return [start, *start.parents]


def find_project_dir(start: str | Path) -> Path | None:
    """The nearest directory at or above `start` holding `meta.yaml`; None when there is none."""
    for d in _upwards(Path(start)):
        if (d / META_FILE).is_file():
            return d
    return None


def find_workspace_root(project_dir: str | Path) -> Path | None:
    """The nearest directory at or above `project_dir` holding `forgather_workspace/`."""
    for d in _upwards(Path(project_dir)):
        if (d / WORKSPACE_DIR).is_dir():
            return d
    return None


def is_project_dir(path: str | Path) -> bool:
    """`path` is a directory at or below a project (what a PROJECT_DIR argument may name)."""
    return Path(path).is_dir() and find_project_dir(path) is not None
