"""The case-file reader and the diagnostics matcher (tests/casefile.py) that every
conformance driver uses: annotations are read and removed, mismatches are reported."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import casefile  # noqa: E402
from casefile import CaseFileError, Expected, check_diagnostics, read_cases  # noqa: E402

from fgc.diagnostics import Span, error, note, warning  # noqa: E402


def _read(tmp_path: Path, text: str):
    path = tmp_path / "feature.txt"
    path.write_text(text, encoding="utf-8")
    return read_cases(path)


def _one(tmp_path, body: str):
    (case,) = _read(tmp_path, "=== case c\n--- file main.fg\n" + body)
    return case


# (file body, its text once read, what the annotations expect: (line, col, severity, code, pattern))
ANNOTATIONS = [
    ("a: 1\n", "a: 1\n", []),
    ("a: {{ x y }} ### error FG0110 @9 \"got 'y'\"", "a: {{ x y }}", [(1, 9, "error", "FG0110", "got 'y'")]),
    ("a: 1\nb: 2 ### warning FG0420", "a: 1\nb: 2", [(2, None, "warning", "FG0420", None)]),
    ('x: "a ### b" ### error FG0401 @4 "q\\"uote"', 'x: "a ### b"', [(1, 4, "error", "FG0401", 'q"uote')]),
    ("k: v ### error FG0401 @1 \"a\" ### note FG0201 \"b\\(c\\)\"", "k: v",
     [(1, 1, "error", "FG0401", "a"), (1, None, "note", "FG0201", r"b\(c\)")]),
    ("### error FG0101 @1\nz", "\nz", [(1, 1, "error", "FG0101", None)]),
    ("a\n ### error FG0101 @1", "a\n", [(2, 1, "error", "FG0101", None)]),  # the line after the last newline
    ("trailing   ### error FG0101 @1", "trailing  ", [(1, 1, "error", "FG0101", None)]),
    ("### three hashes stay a comment\n", "### three hashes stay a comment\n", []),
    ("a: |\n  text ### error FG0402 @3\n", "a: |\n  text\n", [(2, 3, "error", "FG0402", None)]),
]


@pytest.mark.parametrize(("body", "text", "want"), ANNOTATIONS)
def test_annotations_are_read_and_removed(tmp_path, body, text, want):
    case = _one(tmp_path, body + "\n")
    assert case.files["main.fg"] == text
    got = [(e.line, e.col, e.severity, e.code, e.pattern) for e in case.diagnostics]
    assert got == want
    assert all(e.file == "main.fg" for e in case.diagnostics)


def test_annotations_in_every_file_and_explicit_ones(tmp_path):
    (case,) = _read(tmp_path, (
        "=== case c\n--- file main.fg\n-- extends 'base.fg'\n--- file base.fg\n[a] ### error FG0203 @2\n"
        "--- expect diagnostics\n-: warning[FG0100]: search path\n<stdlib>/x.fg:3:1: error[FG0201]:\n"
    ))
    assert [(e.file, e.line, e.col, e.code, e.pattern) for e in case.diagnostics] == [
        ("base.fg", 1, 2, "FG0203", None),
        (None, None, None, "FG0100", "search path"),
        ("<stdlib>/x.fg", 3, 1, "FG0201", None),
    ]
    assert "diagnostics" not in case.expect
    assert case.diagnostics[1].where.endswith(":7")


BAD = [
    ("a ### error FG01 @x\n", "malformed annotation"),
    ("a ### error FG0101 junk\n", "malformed annotation"),
    ('a ### error FG0101 "(unclosed"\n', "bad regular expression"),
    ("a\n\n--- expect diagnostics\nmain.fg: error[FG0101]\n", "malformed diagnostic"),
    ("a\n\n--- expect diagnostics\n-: error[FG0101]: x\n--- expect diagnostics\n", "duplicate expect 'diagnostics'"),
    ("a\n ### error FG0101\n--- expect render\na\n", "annotation after the last line of main.fg"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_malformed_case_files_are_reported_with_their_line(tmp_path, body, message):
    with pytest.raises(CaseFileError, match=re.escape(message)) as info:
        _one(tmp_path, body)
    assert re.match(r"\S+/feature\.txt:\d+", str(info.value)), str(info.value)


def _case(*expected: Expected):
    return casefile.Case("c", "cases/x.txt:1", {"main.fg": ""}, {}, list(expected))


def _want(line, col, code="FG0110", pattern=None, severity="error", file="main.fg"):
    return Expected(file, line, col, severity, code, pattern, f"cases/x.txt:{line}")


def _diag(line, col, code="FG0110", message="unexpected 'y'", hint=None, make=error, file="main.fg"):
    return make(code, message, Span(file, line, col, line, col + 1), hint=hint)


MATCHES = [
    ([], []),
    ([_want(2, 7)], [_diag(2, 7)]),
    ([_want(2, None)], [_diag(2, 30)]),
    ([_want(2, 7, pattern="unexpected '.'")], [_diag(2, 7)]),
    ([_want(2, 7, pattern=r"did you mean `lr`\?")], [_diag(2, 7, hint="did you mean `lr`?")]),
    # any order, and the pairing is found even when a greedy one would fail
    ([_want(1, None), _want(1, 3, pattern="b")], [_diag(1, 3, message="b"), _diag(1, 5, message="a")]),
    ([_want(3, 1, "FG0420", severity="warning"), _want(1, 1)], [_diag(1, 1), _diag(3, 1, "FG0420", make=warning)]),
]

MISMATCHES = [
    ([], [_diag(1, 1)], "produced, not expected"),
    ([_want(1, 1)], [], "expected, not produced"),
    ([_want(2, 8)], [_diag(2, 7)], "expected, not produced"),
    ([_want(3, 7)], [_diag(2, 7)], "expected, not produced"),
    ([_want(2, 7, "FG0111")], [_diag(2, 7)], "expected, not produced"),
    ([_want(2, 7, severity="warning")], [_diag(2, 7)], "expected, not produced"),
    ([_want(2, 7, pattern="expected 'z'")], [_diag(2, 7)], "expected, not produced"),
    ([_want(2, 7, file="base.fg")], [_diag(2, 7)], "expected, not produced"),
    ([_want(2, 7)], [_diag(2, 7), _diag(2, 7)], "produced, not expected"),
    ([_want(2, 7), _want(2, 7)], [_diag(2, 7)], "expected, not produced"),
    ([_want(1, 1, severity="note")], [_diag(1, 1, make=warning)], "expected, not produced"),
]


@pytest.mark.parametrize(("expected", "diagnostics"), MATCHES)
def test_matching_diagnostics_pass(expected, diagnostics):
    check_diagnostics(_case(*expected), diagnostics, Path("."))


@pytest.mark.parametrize(("expected", "diagnostics", "section"), MISMATCHES)
def test_mismatches_fail_and_say_where(expected, diagnostics, section):
    with pytest.raises(AssertionError) as info:
        check_diagnostics(_case(*expected), diagnostics, Path("."))
    report = str(info.value)
    assert report.startswith("cases/x.txt:1 (c): the diagnostics differ") and section in report
    if expected and section.startswith("expected"):
        assert "(cases/x.txt:" in report.split(section, 1)[1]  # the expectation's own line


def test_a_diagnostic_without_a_position_matches_only_an_explicit_dash():
    d = note("FG0100", "search path entry", None)
    check_diagnostics(_case(Expected(None, None, None, "note", "FG0100", "search", "cases/x.txt:2")), [d], Path("."))
    with pytest.raises(AssertionError):
        check_diagnostics(_case(_want(1, None, "FG0100", severity="note")), [d], Path("."))


def test_the_documented_example_holds(tmp_path):
    """The example at the top of tests/casefile.py is a real case: it renders as it says."""
    import textwrap

    from fgc.render import render_file

    doc = casefile.__doc__
    example = doc.split("it is about:\n", 1)[1].split("\nFiles.", 1)[0]
    (case,) = _read(tmp_path, textwrap.dedent(example).strip("\n") + "\n")
    assert [e.code for e in case.diagnostics] == ["FG0203"]
    root = tmp_path / "case"
    result = render_file(case.write(root), [], {})
    check_diagnostics(case, result.diagnostics, root)
    assert result.text == case.expect["render"] + "\n"  # a docstring cannot show the second blank line
