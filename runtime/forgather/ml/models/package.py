"""Write a stand-alone model package: `modeling.py` plus every module it imports relatively.

A model package is a flat directory of Python files that import each other with single-dot
relative imports (`from .causal_lm import CausalLM`) and otherwise only the standard library,
torch and transformers. `fgc compile` writes one as `build/model/`; `export.save_model` copies
one next to the weights, where `transformers` loads it with `trust_remote_code=True`. Which files
belong to a package is decided in `forgather_files.model_package`, for the compiler and the
runtime alike; the blocks are the modules of this directory.
"""

import os
from collections.abc import Iterable
from pathlib import Path

from forgather_files.atomic import new_directory
from forgather_files.model_package import PackageError, import_closure, package_files, write_package

__all__ = ["BLOCKS_DIR", "PackageError", "import_closure", "write_model_package"]

BLOCKS_DIR = Path(__file__).resolve().parent  # forgather/ml/models: the portable blocks


def write_model_package(
    out_dir: str | os.PathLike,
    modeling_source: str,
    modules: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write `out_dir/` = `__init__.py`, `modeling.py` (= `modeling_source`), `hf_causal.py` and a
    copy of every module in the relative-import closure: portable blocks by name, and the user
    modules listed in `modules` (paths). Written atomically. Returns `out_dir`."""
    files = package_files(modeling_source, blocks=BLOCKS_DIR, user_modules=modules)
    with new_directory(out_dir) as tmp:
        write_package(tmp, modeling_source, files)
    return Path(out_dir)
