"""The project globals of the reference (docs/language.md, Projects): `project_dir`,
`workspace_root`, `hostname`, `uname` and `versions`.

`versions` is read from the installed distributions' metadata, never by importing torch:
rendering a template must not cost a torch import. A distribution that is not installed has the
version None (the reference fails to load the project instead). The common case, a
`NAME-VERSION.dist-info` directory on sys.path, is read directly (importing importlib.metadata
is a tenth of a whole `fgc render`); anything else asks importlib.metadata.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

# The distributions the reference's `versions` names, besides Python.
VERSIONED_DISTRIBUTIONS = ("torch", "transformers", "accelerate")


@functools.cache
def installed_versions() -> dict[str, str | None]:
    """{"python": "3.11.9", "torch": "2.5.1" or None, ...}; read once per process, and kept
    between processes (`<cache dir>/versions/`, 2 ms of a command) while no `sys.path` directory
    changed: installing, upgrading or removing a distribution adds or removes its `.dist-info`
    directory, which changes the directory's time."""
    import hashlib

    from ..cache_dir import kept
    from ..recording import stat_of

    key = hashlib.sha256(repr((VERSIONED_DISTRIBUTIONS, sys.version, [(p, stat_of(p or ".")) for p in sys.path])).encode())
    return kept("versions", key.hexdigest(), _read_versions, accept=lambda v: isinstance(v, dict), limit=64)


def _read_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}  # platform.python_version()
    found = _dist_info_versions(VERSIONED_DISTRIBUTIONS)
    for dist in VERSIONED_DISTRIBUTIONS:
        out[dist] = found[dist] or _metadata_version(dist)
    return out


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _dist_info_versions(dists: tuple[str, ...]) -> dict[str, str | None]:
    """For each of `dists`, the `Version:` of its first `DIST-*.dist-info` on sys.path, in
    sys.path order as importlib.metadata searches; None where the first match is anything else
    (an .egg-info) or there is none, for importlib.metadata to answer. Each directory is listed
    once for all of them."""
    wanted = {_normalized(d): d for d in dists}
    out: dict[str, str | None] = dict.fromkeys(dists)
    for entry in sys.path:
        if not wanted:
            break
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info"):
                continue
            dist = wanted.pop(_normalized(stem.split("-")[0]), None)
            if dist is None or suffix != "dist-info":
                continue
            out[dist] = _metadata_file_version(os.path.join(entry or ".", name, "METADATA"))
    return out


def _metadata_file_version(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("Version:"):
                    return line[len("Version:") :].strip()
                if not line.strip():
                    break
    except OSError:
        pass
    return None


def _metadata_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


class uname_result(NamedTuple):  # noqa: N801 (platform's name, and so its repr)
    """`platform.uname()`'s fields and repr, from `os.uname()` as platform reads them on POSIX
    systems: importing platform (it compiles a dozen regular expressions) is 3 ms of `fgc check`.
    Unlike platform's, iterating it gives the five fields without the processor."""

    system: str
    node: str
    release: str
    version: str
    machine: str

    @property
    def processor(self) -> str:
        import platform

        return platform.processor()


@functools.cache
def uname() -> Any:
    if not hasattr(os, "uname"):  # Windows: platform's own answer
        import platform

        return platform.uname()
    return uname_result(*os.uname())


def project_globals(project_dir: Path, workspace_root: Path) -> dict[str, Any]:
    """The globals a project's meta.yaml and configs render with (absolute directories)."""
    return {
        "project_dir": str(project_dir),
        "workspace_root": str(workspace_root),
        "hostname": uname().node,
        "uname": uname(),
        "versions": dict(installed_versions()),
    }
