"""Compiled templates on disk: jinja2's Python code for a lowered template, kept between
processes so that a command-line run does not generate and compile it again (about a tenth of a
cold `fgc render`); and jinja2's parse tree of it (`load_tree`/`store_tree`), which the checks
and the knob reads walk, so that an unchanged template is not parsed by jinja2 again either.

The key is everything the code depends on: the lowered text (the template's whole content with
its origin markers), its jinja2 name and file name, the environment's settings, jinja2's and
Python's versions (marshal's format). Entries are marshalled code objects in
`<cache dir>/templates/`, written atomically; past `LIMIT` files (counted at one write in 32)
the oldest half is removed. A damaged or unreadable entry is a miss. The language server's `Reuse` keeps code in memory
instead and never reads here.
"""

from __future__ import annotations

import hashlib
import marshal
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import jinja2

from ..cache_dir import default_cache_dir, read_entry, write_entry
from ..loader import fgc_stamp
from ..syntax.jinja_env import SETTINGS, dump_with_environment, load_with_environment

LIMIT = 4096
_SALT = repr(("sandboxed", jinja2.__version__, sys.version_info[:3], sorted(SETTINGS.items(), key=lambda kv: kv[0]))).encode()


def _directory() -> Path:
    return default_cache_dir() / "templates"


def _path(filename: str, name: str, lowered: str) -> Path:
    h = hashlib.sha256(_SALT)
    for part in (filename, name, lowered):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return _directory() / f"{h.hexdigest()}.code"


def load(filename: str, name: str, lowered: str) -> types.CodeType | None:
    data = read_entry("templates", _path(filename, name, lowered).name)
    try:
        code = marshal.loads(data) if data is not None else None
    except (ValueError, EOFError, TypeError):
        return None
    return code if isinstance(code, types.CodeType) else None


def store(filename: str, name: str, lowered: str, code: types.CodeType) -> None:
    write_entry("templates", _path(filename, name, lowered).name, marshal.dumps(code), LIMIT)


def _tree_key(filename: str, name: str, lowered: str) -> str:
    return "tree-" + _path(filename, name, lowered).name.replace(".code", "") + hashlib.sha256(fgc_stamp()).hexdigest()[:16]


def load_tree(filename: str, name: str, lowered: str, env: jinja2.Environment) -> Any | None:
    """jinja2's parse tree of a lowered template kept by `store_tree` (pickled with its
    environment left out), bound to `env`; None on a miss or an unreadable entry."""
    data = read_entry("templates", _tree_key(filename, name, lowered))
    tree = load_with_environment(data, env) if data is not None else None
    return tree if isinstance(tree, jinja2.nodes.Template) else None


def has_tree(filename: str, name: str, lowered: str) -> bool:
    """Whether a tree of this lowered template is kept (only a clean parse is): `load_tree`
    reads it when it is needed (a code miss, a knob-reads miss), a stat instead of a read."""
    return (_directory() / _tree_key(filename, name, lowered)).is_file()


def store_tree(filename: str, name: str, lowered: str, tree: Any, env: jinja2.Environment) -> None:
    data = dump_with_environment(tree, env)
    if data is not None:
        write_entry("templates", _tree_key(filename, name, lowered), data, LIMIT)


# The knob reads of one rendering's templates (`Rendering.reads`), kept as one entry keyed by
# every template's key and place: a walk of each tree that an unchanged set of templates need
# not repeat (a few ms of a command).


def _reads_key(places: list[tuple[str, str, str, str, int]]) -> str:
    h = hashlib.sha256(_SALT + fgc_stamp())
    for filename, name, lowered, file, first_line in places:
        h.update(_path(filename, name, lowered).name.encode() + f"\0{file}\0{first_line}\0".encode("utf-8", "surrogatepass"))
    return "reads-" + h.hexdigest()


def load_reads(places: list[tuple[str, str, str, str, int]]) -> Any | None:
    """What `store_reads` kept for these templates; None on a miss or an unreadable entry."""
    data = read_entry("templates", _reads_key(places))
    if data is None:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # damaged
        return None


def store_reads(places: list[tuple[str, str, str, str, int]], reads: Any) -> None:
    try:
        data = pickle.dumps(reads, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # what does not pickle is only not kept
        return
    write_entry("templates", _reads_key(places), data, LIMIT)
