"""One registry of diagnostic codes (fgc/diagnostic_codes.py), kept in step with its uses and
with docs/diagnostics.md.

Every `FGxxxx` written anywhere in fgc/ (a reported code, a constant, a comment naming one) must
be registered; every registered code must be reported by some module (a string constant equal
to it); docs/diagnostics.md's tables must list exactly the registered codes with the registered
meanings; and a code reported through `warning(...)` must be documented as a warning, one
reported through `error(...)` not only as a warning.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from fgc.diagnostic_codes import CODES

ROOT = Path(__file__).resolve().parents[2]
FGC = ROOT / "fgc"
REGISTRY = FGC / "diagnostic_codes.py"
CODE = re.compile(r"FG\d{4}")
DOC_ROW = re.compile(r"^\| `(FG\d{4})` \| (.*) \|$", re.M)


@functools.cache
def sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(FGC.rglob("*.py")) if p != REGISTRY}


@functools.cache
def reported() -> dict[str, list[tuple[str, str, int]]]:
    """code -> (how: "error"/"warning"/"note"/"constant", file, line) for every string constant
    in fgc/ that is exactly a code."""
    out: dict[str, list[tuple[str, str, int]]] = {}
    for path, text in sources().items():
        tree = ast.parse(text, str(path))
        calls: dict[int, str] = {}  # id of a first-argument constant -> the function called
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                calls[id(node.args[0])] = name
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
                how = calls.get(id(node), "constant")
                how = how if how in ("error", "warning", "note") else "constant"
                out.setdefault(node.value, []).append((how, str(path.relative_to(ROOT)), node.lineno))
    return out


def test_registry_is_well_formed():
    assert list(CODES) == sorted(CODES), "keep fgc/diagnostic_codes.py in code order"
    for code, meaning in CODES.items():
        assert CODE.fullmatch(code), code
        assert meaning.strip() and "\n" not in meaning, code


def test_every_code_written_in_fgc_is_registered():
    unknown = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
        for path, text in sources().items()
        for m in CODE.finditer(text)
        if m.group() not in CODES
    ]
    assert not unknown, "codes missing from fgc/diagnostic_codes.py:\n" + "\n".join(unknown)


def test_every_registered_code_is_reported():
    unused = sorted(set(CODES) - set(reported()))
    assert not unused, f"registered but reported nowhere in fgc/ (remove them, or report them): {unused}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_severity_matches_the_meaning(code):
    """A meaning that starts with "warning:" is a warning's only; one that says "warning:" later
    (FG0518) documents an error and a warning."""
    meaning = CODES[code]
    for how, file, line in reported().get(code, []):
        if how == "warning":
            assert "warning:" in meaning, f"{file}:{line}: {code} is reported as a warning, documented as an error"
        elif how == "error":
            assert not meaning.startswith("warning:"), f"{file}:{line}: {code} is reported as an error, documented as a warning"


def test_docs_list_exactly_the_registry():
    doc = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    rows = DOC_ROW.findall(doc)
    codes = [code for code, _ in rows]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    assert not twice, f"docs/diagnostics.md lists these codes twice: {twice}"
    documented = dict(rows)
    assert sorted(set(CODES) - set(documented)) == [], "registered but not in docs/diagnostics.md"
    assert sorted(set(documented) - set(CODES)) == [], "in docs/diagnostics.md but not registered"
    differ = [f"{c}:\n  docs:     {documented[c]}\n  registry: {CODES[c]}" for c in CODES if documented[c] != CODES[c]]
    assert not differ, "meanings differ:\n" + "\n".join(differ)


def test_the_scanner_sees_a_stray_code(tmp_path):
    """The scan is not vacuous: a code outside the registry in a source text is found."""
    text = 'error("FG9999", "x")\n'
    assert [m.group() for m in CODE.finditer(text) if m.group() not in CODES] == ["FG9999"]
    assert "FG0620" in reported() and any(how == "error" for how, _, _ in reported()["FG0620"])
