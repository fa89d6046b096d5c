"""Readable, collision-free Python names for generated code.

Names come from the config (`@name`, anchor, key); they are made identifiers, never Python
keywords, never equal to an imported symbol or to a name the generated module already uses.
"""

from __future__ import annotations

import builtins
import keyword
import re


def identifier(text: str, fallback: str = "value") -> str:
    """`text` as a Python identifier: other characters become `_`; a leading digit gets `_`."""
    name = re.sub(r"\W", "_", text)
    name = re.sub(r"_+", "_", name).strip("_") or fallback
    if name[0].isdigit():
        name = "_" + name
    return name


class Namer:
    """Hands out unique names within one scope."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()) -> None:
        self.used: set[str] = set(reserved)

    def take(self, wanted: str, fallback: str = "value") -> str:
        base = identifier(wanted, fallback)
        if keyword.iskeyword(base) or keyword.issoftkeyword(base):
            base += "_"
        name, i = base, 2
        while name in self.used:
            name = f"{base}_{i}"
            i += 1
        self.used.add(name)
        return name

    def reserve(self, *names: str) -> None:
        self.used.update(names)


BUILTIN_NAMES = frozenset(dir(builtins))
