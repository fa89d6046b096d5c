"""Mutated case inputs never crash the template layer: each ends in text or diagnostics.

Deterministic mutations of the conformance cases (deleted, duplicated and swapped lines,
inserted delimiters and prefixes, truncation). The full fuzz test over both layers
(`fgc check`) is tests/frontend/test_fuzz.py; this one is the template layer's own quick check.
"""

from __future__ import annotations

import random

import pytest
from casefile import all_cases

from fgc.render import render_file

_INSERTS = ["{{", "}}", "{%", "%}", "{#", "#}", "-- ", "== ", "<< ", "[a]", "  [b!]", "#--- s ---\n",
            "## ", " ## c", "'", '"', "\n", "\t", "-- endif", "-- if x", "{{ super() }}", "\U000f0001"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    op = rng.randrange(5)
    if op == 0 and lines:
        del lines[rng.randrange(len(lines))]
    elif op == 1 and lines:
        j = rng.randrange(len(lines))
        lines.insert(j, lines[j])
    elif op == 2 and len(lines) > 1:
        a, b = rng.sample(range(len(lines)), 2)
        lines[a], lines[b] = lines[b], lines[a]
    elif op == 3:
        text = "\n".join(lines)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(text) + 1)
            text = text[:pos] + rng.choice(_INSERTS) + text[pos:]
        return text
    else:
        text = "\n".join(lines)
        return text[: rng.randrange(len(text) + 1)]
    return "\n".join(lines)


def test_mutations_end_in_text_or_diagnostics(tmp_path):
    rng = random.Random(20261127)
    cases = all_cases("templates")
    for i in range(400):
        case = rng.choice(cases)
        root = tmp_path / str(i)
        files = {k: v for k, v in case.files.items() if k != "ARGS"}
        target = rng.choice(list(files))
        files[target] = _mutate(files[target], rng)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        result = render_file(root / case.input, [], {"x": 1})
        errors = [d for d in result.diagnostics if d.is_error]
        assert (result.text is None) == bool(errors), (case.name, result.diagnostics)
        for d in result.diagnostics:
            assert d.span is None or (d.span.line >= 1 and d.span.col >= 1), d


# Deep nesting: jinja2's parser recurses per level and Python refuses the code it compiles past
# 20 nested loops or about 100 levels. Each is a diagnostic (FG0541) at the most deeply nested
# statement, never an internal error; what jinja2 compiles stays clean.
NESTED = [
    ("-- if x{i} is not defined", "-- endif", 60, None),
    ("-- if x{i} is not defined", "-- endif", 99, "Python refuses"),
    ("-- if x{i} is not defined", "-- endif", 400, "nested 101 deep"),
    ("-- for i{i} in [1]", "-- endfor", 21, "Python refuses"),
]


@pytest.mark.parametrize("opener, closer, depth, message", NESTED)
def test_deep_nesting_is_a_diagnostic(tmp_path, opener, closer, depth, message):
    lines = [opener.format(i=i) for i in range(depth)] + ["a: 1"] + [closer] * depth
    path = tmp_path / "deep.fg"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = render_file(path)
    if message is None:
        assert result.diagnostics == [] and result.text is not None
        return
    (d,) = result.diagnostics
    assert d.code == "FG0541" and message in d.message
    assert d.span is not None and d.span.line == min(depth, 101)
