"""The config layer never raises on bad input: mutated conformance cases (deleted, duplicated,
swapped lines, inserted or deleted characters, truncation) end in a document and diagnostics,
every span inside the text."""

from __future__ import annotations

import random

from casefile import all_cases
from fgc.sourcemap import SourceMap
from fgc.syntax.config_ast import Entry, walk
from fgc.syntax.config_parser import parse_config

SPECIAL = list(":-?[]{},#&*!|>'\"%@` \t\n\\") + ["\x07", "\ufeff", "é"]


def mutate(text: str, rnd: random.Random) -> str:
    lines = text.split("\n")
    kind = rnd.randrange(6)
    if kind == 0 and lines:
        del lines[rnd.randrange(len(lines))]
    elif kind == 1 and lines:
        i = rnd.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == 2 and len(lines) > 1:
        i, j = rnd.randrange(len(lines)), rnd.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 3:
        i = rnd.randrange(len(text) + 1)
        return text[:i] + rnd.choice(SPECIAL) + text[i:]
    elif kind == 4 and text:
        i = rnd.randrange(len(text))
        return text[:i] + text[i + 1:]
    else:
        return text[: rnd.randrange(len(text) + 1)]
    return "\n".join(lines)


def check_spans(text: str, document, diagnostics) -> None:
    n_lines = text.count("\n") + 1
    for d in diagnostics:
        assert 1 <= d.span.line <= n_lines and d.span.col >= 1, (d, text)
        assert (d.span.line, d.span.col) <= (d.span.end_line, d.span.end_col), (d, text)
    if document.root is None:
        return
    for node in walk(document.root):
        s = node.span
        assert 1 <= s.line <= s.end_line <= n_lines and s.col >= 1, (node, text)


def test_mutated_cases_never_raise():
    inputs = [c.files[c.input] for c in all_cases("config")]
    rnd = random.Random(20261127)
    count = 0
    for _ in range(12):
        for text in inputs:
            mutated = text
            for _ in range(rnd.randrange(1, 4)):
                mutated = mutate(mutated, rnd)
            document, diagnostics = parse_config(mutated, SourceMap.identity("m.yaml", mutated))
            assert document is not None
            check_spans(mutated, document, diagnostics)
            count += 1
    assert count >= 2000


def test_entries_cover_their_keys_and_values():
    for case in all_cases("config"):
        text = case.files[case.input]
        document, _ = parse_config(text, SourceMap.identity("doc.yaml", text))
        for node in walk(document.root):
            for entry in getattr(node, "entries", []):
                assert isinstance(entry, Entry)
                assert (entry.span.line, entry.span.col) <= (entry.key.span.line, entry.key.span.col)
                assert (entry.value.span.end_line, entry.value.span.end_col) <= (entry.span.end_line, entry.span.end_col)
