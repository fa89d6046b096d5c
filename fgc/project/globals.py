"""The project globals of the reference (docs/language.md, Projects): `project_dir`,
`workspace_root`, `hostname`, `uname` and `versions`.

`versions` is read from the installed distributions' metadata (importlib.metadata), never by
importing torch: rendering a template must not cost a torch import. A distribution that is not
installed has the version None (the reference fails to load the project instead).
"""

from __future__ import annotations

import functools
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# The distributions the reference's `versions` names, besides Python.
VERSIONED_DISTRIBUTIONS = ("torch", "transformers", "accelerate")


@functools.cache
def installed_versions() -> dict[str, str | None]:
    """{"python": "3.11.9", "torch": "2.5.1" or None, ...}; read once per process."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED_DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def project_globals(project_dir: Path, workspace_root: Path) -> dict[str, Any]:
    """The globals a project's meta.yaml and configs render with (absolute directories)."""
    return {
        "project_dir": str(project_dir),
        "workspace_root": str(workspace_root),
        "hostname": platform.node(),
        "uname": platform.uname(),
        "versions": dict(installed_versions()),
    }
