"""The silent mistakes that fgc now reports: tests/cases/mistakes/*.txt.

    knobs_unread.txt      FG0208  a `-- set` or `-D` that no template reads
    knobs_hidden.txt      FG0522  a knob whose every read is overridden or not rendered
    block_keys.txt        FG0523  a key whose column takes it out of its block
    replaced_anchors.txt  FG0501  an undefined alias, noted at the block that replaced its anchor

Each case compiles its first file to the config graph (nothing imported), with the `-D`s of its
ARGS file (format: tests/backend/harness.py), and matches the diagnostics (tests/casefile.py).
A `--- expect related` section lists, one per line, `FILE:LINE: REGEXP` of the notes that the
case's diagnostics must carry (FILE relative to the case, `<stdlib>/...` for the library).
"""

from __future__ import annotations

import re

import pytest
from casefile import all_cases, check_diagnostics, params, relative

from fgc.pipeline import compile_file

from backend.harness import write_case

CASES = all_cases("mistakes")


def test_enough_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", params(CASES))
def test_case(case, tmp_path) -> None:
    path, options = write_case(case, tmp_path)
    assert set(case.expect) <= {"related", "render"}, case
    comp = compile_file(path, options.include_dirs, options.defines, import_modules=False, stop_after="graph")
    check_diagnostics(case, comp.diagnostics, tmp_path)
    notes = [
        (relative(r.span.file, tmp_path) if r.span else "-", r.span.line if r.span else 0, r.message)
        for d in comp.diagnostics
        for r in d.related
    ] + [("-", 0, d.hint or "") for d in comp.diagnostics]
    for line in case.expect.get("related", "").splitlines():
        if not line.strip():
            continue
        where, _, pattern = line.partition(": ")
        file, _, n = where.rpartition(":")
        want = (file, int(n)) if file else ("-", 0)
        assert any(
            (f, ln) == want and re.search(pattern, m) for f, ln, m in notes
        ), f"{case.source}: no note {line!r} among {notes}"
