"""Fuzz: `fgc check` on thousands of mutated conformance cases ends in diagnostics or success.

Mutations are deterministic (seeded): deleted, duplicated and swapped lines, random characters
inserted or replaced (biased towards the characters the two language layers care about),
indentation changes and truncation. Each mutant runs the whole pipeline in-process, imports
included; the only acceptable outcomes are a clean result or a list of diagnostics. A failure
message carries the mutant so it can be turned into a case.
"""

from __future__ import annotations

import random
import traceback

import pytest

import fgc
from fgc.diagnostics import Diagnostic
from tests.casefile import all_cases

MUTANTS = 2400
CHUNKS = 24
SPECIAL = "{}[]%#:-!&*|>'\"\\@,.=~?\t \n<"
SPECIAL_TOKENS = [
    "{{", "}}", "{%", "%}", "{#", "#}", "-- ", "== ", "=> ", "<< ", ">> ", "## ", "[x]", "[b!]",
    "#--- s ---", "!partial:", "!call:random:random", "!var ", "!dict:@n", "*a", "&a", "<<: *a",
    "|", ">-", "? ", "---", "...", "super()", "-- block b", "-- endblock", "-- extends 'nope.fg'",
    "-- include 'x'", "'", '"', "\t", "\\u12", "!!float", "%YAML 1.2",
]

_CASES = [c for c in all_cases() if c.files]


def _mutate_text(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    op = rng.randrange(8)
    i = rng.randrange(len(lines))
    if op == 0 and len(lines) > 1:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[i])
    elif op == 2 and len(lines) > 1:
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3:
        line = lines[i]
        k = rng.randrange(len(line) + 1)
        lines[i] = line[:k] + rng.choice(SPECIAL) + line[k:]
    elif op == 4 and lines[i]:
        line = lines[i]
        k = rng.randrange(len(line))
        lines[i] = line[:k] + rng.choice(SPECIAL + "aZ09_") + line[k + 1 :]
    elif op == 5:
        line = lines[i]
        k = rng.randrange(len(line) + 1)
        lines[i] = line[:k] + rng.choice(SPECIAL_TOKENS) + line[k:]
    elif op == 6:
        lines[i] = " " * rng.choice((1, 2, 3, 4, 8)) + lines[i] if rng.random() < 0.6 else lines[i].lstrip()
    else:
        joined = "\n".join(lines)
        return joined[: rng.randrange(len(joined) + 1)]
    return "\n".join(lines)


def _mutant(index: int):
    rng = random.Random(index)
    case = _CASES[rng.randrange(len(_CASES))]
    files = dict(case.files)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        name = case.input if rng.random() < 0.75 else rng.choice(list(files))
        files[name] = _mutate_text(files[name], rng)
    return case, files


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_check_never_crashes(chunk, tmp_path):
    per_chunk = MUTANTS // CHUNKS
    for index in range(chunk * per_chunk, (chunk + 1) * per_chunk):
        case, files = _mutant(index)
        root = tmp_path / f"m{index}"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        try:
            diagnostics = fgc.check(root / case.input)
        except Exception:
            shown = "\n".join(f"--- file {n}\n{t}" for n, t in files.items())
            pytest.fail(
                f"mutant {index} of {case.source} ({case.name}) raised:\n"
                f"{traceback.format_exc()}\n{shown}"
            )
        assert all(isinstance(d, Diagnostic) for d in diagnostics)
        for d in diagnostics:
            if d.span is not None:
                assert d.span.line >= 1 and d.span.col >= 1, (index, d)
