"""The compiled code of the methods `dataclasses` generates, kept between runs of `fgc`.

Python 3.11 and 3.12 write each generated method (`__init__`, `__repr__`, `__eq__`, `__hash__`,
a frozen class's `__setattr__`...) as source text and `exec` it, one compile per method: 30-40 ms
of an `fgc check` for its ~80 classes, the largest part of importing fgc. The text is the same
every run, so its compiled code is kept in the cache directory (one marshal file per Python
version) and executed in place of the text: the methods are the functions dataclasses builds
(the same text, globals and locals), only the compiling is skipped. `exec` of a text inherits no
`from __future__` of the caller here (dataclasses.py has none), so neither does the compile.

Only fgc's own classes are kept (those of a module the command imports, a checked config's, are
built as usual). Used by the `fgc` process of a compiler command around the whole command (fgc/cli/main.py); a
caller of `main(argv)` and the long-running commands build their dataclasses as Python does.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any

KIND = "dataclass-code"
LIMIT = 4000  # texts kept at most; past it only the last run's are written back


def _load(key: str) -> dict[str, CodeType]:
    from ..cache_dir import read_marshalled

    codes = read_marshalled(KIND, key)
    if not isinstance(codes, dict):
        return {}  # none, or damaged
    return {k: v for k, v in codes.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _ours(globals: Any) -> bool:
    """Whether the class is fgc's (a user module's, imported by a check, is not kept)."""
    name = globals.get("__name__") if isinstance(globals, dict) else None
    return isinstance(name, str) and (name == "fgc" or name.startswith("fgc."))


@contextmanager
def kept_dataclass_code() -> Iterator[None]:
    """Within the block, dataclasses execute kept code for a method text seen before; texts new
    to the cache are compiled and added to it at the end."""
    key = sys.implementation.cache_tag
    if key is None or "exec" in vars(dataclasses):
        yield
        return
    codes = _load(key)
    used: dict[str, CodeType] = {}
    missed = False

    def cached_exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
        nonlocal missed
        if isinstance(source, str):
            # Compiled here, a text would inherit this module's `from __future__` flags.
            if not _ours(globals):
                source = compile(source, "<string>", "exec", dont_inherit=True)
            else:
                code = codes.get(source)
                if code is None:
                    code = compile(source, "<string>", "exec", dont_inherit=True)
                    codes[source] = code
                    missed = True
                used[source] = code
                source = code
        builtins.exec(source, globals, locals)

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if missed:
            from ..cache_dir import write_entry

            write_entry(KIND, key, marshal.dumps(codes if len(codes) <= LIMIT else used))
