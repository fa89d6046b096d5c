"""One registry of diagnostic codes (fgc/diagnostic_codes.py), kept in step with its uses and
with docs/diagnostics.md, whose tables are generated from it.

Every `FGxxxx` written anywhere in fgc/ (a reported code, a constant, a comment naming one) must
be registered; every registered code must be reported by some module (a string constant equal
to it); docs/diagnostics.md must be what `python -m fgc.diagnostic_codes docs/diagnostics.md`
writes; and a code reported through `warning(...)` must be registered as a warning's, one
reported through `error(...)` as an error's.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from fgc.diagnostic_codes import CODES, REGISTRY, document

ROOT = Path(__file__).resolve().parents[2]
FGC = ROOT / "fgc"
REGISTRY_FILE = FGC / "diagnostic_codes.py"
CODE = re.compile(r"FG\d{4}")
DOC_ROW = re.compile(r"^\| `(FG\d{4})` \| (.*) \|$", re.M)


@functools.cache
def sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(FGC.rglob("*.py")) if p != REGISTRY_FILE}


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
    """A code is reported only with the severities its registry entry names (its meaning's first
    word: "warning:", "note", else an error; FG0518 names both an error and a warning)."""
    allowed = REGISTRY[code].severities
    for how, file, line in reported().get(code, []):
        if how in ("warning", "error"):
            assert (
                how in allowed
            ), f"{file}:{line}: {code} is reported as {how}, registered as {REGISTRY[code].severity}"


def test_registry_severities():
    assert REGISTRY["FG0100"].severities == ("warning",)
    assert REGISTRY["FG0505"].severities == ("note",)
    assert REGISTRY["FG0518"].severities == ("error", "warning")
    assert REGISTRY["FG0201"].severities == ("error", "warning")
    assert REGISTRY["FG0202"].severities == ("error",)


def test_docs_are_generated_from_the_registry():
    path = ROOT / "docs" / "diagnostics.md"
    doc = path.read_text(encoding="utf-8")
    assert document(doc) == doc, "docs/diagnostics.md is stale: run python -m fgc.diagnostic_codes docs/diagnostics.md"
    rows = DOC_ROW.findall(doc)
    assert [code for code, _ in rows] == list(CODES)  # every code once, in registry order
    assert dict(rows) == CODES


def test_the_generator_rewrites_a_stale_table():
    stale = "intro\n<!-- codes FG00 -->\n| code | meaning |\n|---|---|\n| `FG0001` | old text |\n\nafter\n"
    with pytest.raises(ValueError, match="FG01xx"):
        document(stale)  # the other hundreds have no table
    every = "".join(f"<!-- codes {h} -->\n" for h in sorted({c[:4] for c in CODES}))
    fresh = document(stale + every)
    assert fresh.startswith("intro\n<!-- codes FG00 -->\n| code | meaning |\n|---|---|\n| `FG0001` | bad command line")
    assert "old text" not in fresh and fresh.count("\nafter\n") == 1 and document(fresh) == fresh


def test_the_scanner_sees_a_stray_code(tmp_path):
    """The scan is not vacuous: a code outside the registry in a source text is found."""
    text = 'error("FG9999", "x")\n'
    assert [m.group() for m in CODE.finditer(text) if m.group() not in CODES] == ["FG9999"]
    assert "FG0620" in reported() and any(how == "error" for how, _, _ in reported()["FG0620"])
