"""Mutated case inputs never crash the template layer: each ends in text or diagnostics.

Deterministic mutations of the conformance cases (deleted, duplicated and swapped lines,
inserted delimiters and prefixes, truncation). The full fuzz test over both layers
(`fgc check`) is tests/frontend/test_fuzz.py; this one is the template layer's own quick check.
"""

from __future__ import annotations

import random

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
