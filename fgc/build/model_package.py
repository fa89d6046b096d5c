"""`build/model/`: the generated `modeling.py` and every module it imports relatively.

Which files a model package holds is decided in `forgather_files.model_package`, which the
runtime's `export` uses too. The runtime's portable blocks (`forgather/ml/models/*.py`) are
copied as files: they are found through the installed package's location
(`importlib.util.find_spec` of the top-level package finds it without running it), or next to
this source tree, and never imported, because the compiler never imports the runtime. The
package format is the runtime's (docs/runtime.md, "Models").
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterable

from forgather_files.model_package import PackageError, package_files, write_package

from ..pyast import parse_python

__all__ = ["PackageError", "blocks_dir", "write_model_package"]

_SOURCE_BLOCKS = Path(__file__).resolve().parents[2] / "runtime" / "forgather" / "ml" / "models"


def blocks_dir() -> Path:
    """The directory of the runtime's block modules."""
    spec = importlib.util.find_spec("forgather")
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(root) / "ml" / "models"
        if candidate.is_dir():
            return candidate
    if _SOURCE_BLOCKS.is_dir():
        return _SOURCE_BLOCKS
    raise PackageError("the runtime package `forgather` is not installed: its block modules cannot be copied")


def write_model_package(out_dir: Path, modeling: str, user_modules: Iterable[str] = ()) -> None:
    """Write `out_dir/` (inside the build's temporary directory, so no atomic dance of its own):
    `__init__.py`, `modeling.py` and a copy of every module it needs."""
    files = package_files(modeling, blocks=blocks_dir(), user_modules=user_modules, parse=parse_python)
    out_dir.mkdir(parents=True)
    write_package(out_dir, modeling, files)
