"""Locate the data directories shipped with fgc: the Lark grammars and the template stdlib.

In an installed wheel they are package data (`fgc/_grammar`, `fgc/_stdlib`); in a source
checkout (including an editable install) they are the top-level `grammar/` and `stdlib/`.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).parent
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _locate(packaged: str, source: str) -> Path:
    # The package's own directory (what importlib.resources.files("fgc") is for a package on
    # disk, without importing importlib.resources and zipfile).
    shipped = _PACKAGE / packaged
    if shipped.is_dir():
        return shipped
    return _SOURCE_ROOT / source


@functools.cache
def grammar_dir() -> Path:
    return _locate("_grammar", "grammar")


@functools.cache
def stdlib_dir() -> Path:
    return _locate("_stdlib", "stdlib")


def grammar_path(name: str) -> Path:
    """Path of one grammar file, e.g. grammar_path("template.lark")."""
    return grammar_dir() / name
