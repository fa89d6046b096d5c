"""The compiled programs of the regular expressions a compiler command uses, kept between runs.

`re` parses and compiles each pattern in Python (`re._parser`, `re._compiler`): about 10 ms of a
170 ms `fgc check`, for the ~65 patterns of fgc, jinja2, argparse, json... What that work makes
is a list of integers (the matcher's program) and the group tables, which `_sre.compile` turns
into a pattern object; they depend only on the pattern, its flags and the `_sre` engine. They
are kept in the cache directory (one marshal file per Python and `_sre.MAGIC`) and handed to
`_sre.compile` in place of parsing.

A program is kept only when the pattern object made from it equals the one `re` makes (pattern
objects compare their flags, text and program), and anything unexpected (another Python's
internals) falls back to `re`'s own compile. Used like `fgc/cli/dataclass_code.py`: by the `fgc`
process of a compiler command, around the whole command.
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KIND = "regex-code"
LIMIT = 2000  # programs kept at most; past it only the last run's are written back

Key = tuple  # (bytes pattern?, pattern, flags)
Entry = tuple  # (flags, code, groups, groupindex, indexgroup): `_sre.compile`'s arguments after the pattern


def _load(key: str) -> dict[Key, Entry]:
    from ..cache_dir import read_marshalled

    kept = read_marshalled(KIND, key)
    return kept if isinstance(kept, dict) else {}  # none, or damaged


@contextmanager
def kept_regex_code() -> Iterator[None]:
    """Within the block, `re` compiles a pattern seen before from its kept program; programs new
    to the cache are added to it at the end."""
    import importlib

    try:  # re's private modules (no stubs): by name
        _sre = importlib.import_module("_sre")
        _compiler = importlib.import_module("re._compiler")
        _parser = importlib.import_module("re._parser")
    except ImportError:  # another Python's layout: re as it is
        yield
        return
    key = f"{sys.implementation.cache_tag}-{_sre.MAGIC}"
    original = _compiler.compile
    kept = _load(key)
    used: dict[Key, Entry] = {}
    missed = False

    def program(p: Any, flags: int) -> Entry:
        parsed = _parser.parse(p, flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup: list[str | None] = [None] * parsed.state.groups
        for name, i in groupindex.items():
            indexgroup[i] = name
        code = [int(c) for c in _compiler._code(parsed, flags)]
        return (int(flags | parsed.state.flags), code, parsed.state.groups - 1, groupindex, tuple(indexgroup))

    def compile(p: Any, flags: int = 0) -> Any:
        nonlocal missed
        if type(p) not in (str, bytes) or flags & _compiler.SRE_FLAG_DEBUG:  # (marshal: exact types)
            return original(p, flags)
        k = (isinstance(p, bytes), p, int(flags))
        entry = kept.get(k)
        if entry is not None:
            try:
                compiled = _sre.compile(p, *entry)
                used[k] = entry
                return compiled
            except Exception:
                pass
        compiled = original(p, flags)  # raises re.error for a bad pattern, as ever
        try:
            entry = program(p, int(flags))
            if _sre.compile(p, *entry) == compiled:
                kept[k] = used[k] = entry
                missed = True
        except Exception:  # not kept: compiled by re as usual
            pass
        return compiled

    setattr(_compiler, "compile", compile)
    try:
        yield
    finally:
        setattr(_compiler, "compile", original)
        if missed:
            from ..cache_dir import write_entry

            try:
                data = marshal.dumps(kept if len(kept) <= LIMIT else used)
            except ValueError:  # an entry that does not marshal: keep nothing
                pass
            else:
                write_entry(KIND, key, data)
