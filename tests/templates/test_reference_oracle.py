"""fgc renders every case as an independent implementation of the reference's text-rewriting
pipeline does (tests/templates/reference_dialect.py), except for the quirks a case records with
`--- expect reference`."""

from __future__ import annotations

import pytest
from casefile import all_cases, params

from . import reference_dialect
from .harness import write_case

CASES = [c for c in all_cases("templates") if "render" in c.expect]


def test_quirks_are_recorded():
    assert sum("reference" in c.expect for c in CASES) >= 5


@pytest.mark.parametrize("case", params(CASES))
def test_reference_renders_the_same(case, tmp_path):
    path, options = write_case(case, tmp_path)
    expected = case.expect.get("reference", case.expect["render"])
    try:
        got = reference_dialect.render(path, options.include_dirs, options.variables)
    except Exception as e:  # the reference fails on some inputs fgc accepts
        got = f"!error {type(e).__name__}"
        assert expected.startswith("!error"), f"reference failed: {e!r}"
        return
    assert got == expected
