"""The parse cache: a template file's AST, reused while its text is unchanged.

Keyed by the file's path and the name it is loaded under (a template's name is part of its AST),
checked against a hash of the text, so an edited file (on disk or in the editor) is parsed again
and an unchanged parent is not. One entry per (path, name): an edit replaces the entry, so the
cache holds at most one version of each file. The ASTs are never mutated after parsing (every
later stage reads them), which is what makes sharing them across compilations safe; the
diagnostics list is copied for each caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..diagnostics import Diagnostic, Result
from ..loader import parse_unchecked
from ..syntax.template_ast import Template


@dataclass
class _Entry:
    digest: bytes
    template: Template
    diagnostics: list[Diagnostic]


class ParseCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self.hits = 0
        self.misses = 0

    def parse(self, text: str, path: str, name: str) -> Result[Template]:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        entry = self._entries.get((path, name))
        if entry is not None and entry.digest == digest:
            self.hits += 1
            return Result(entry.template, list(entry.diagnostics))
        self.misses += 1
        template, diags = parse_unchecked(text, path, name)
        self._entries[(path, name)] = _Entry(digest, template, list(diags))
        return Result(template, diags)

    def forget(self, path: str) -> None:
        for key in [k for k in self._entries if k[0] == path]:
            del self._entries[key]
