"""Conformance cases of the config layer: tests/cases/config/*.txt (format: tests/casefile.py).

Each case's first file is parsed as YAML (identity source map). Its diagnostics are written
inline (`### error CODE @COL "regexp"`) and matched by `casefile.check_diagnostics`; they
must also come sorted by position. Expectation kinds:

    ast          `fgc.syntax.config_ast.dump` of the document, exactly
    yaml         the document's Python value as JSON (aliases resolved, duplicate keys last-wins,
                 merge keys merged: tests/config/yaml_oracle.to_python)
    pyyaml-differs  why PyYAML (YAML 1.2 typing) reads this document differently (docs/language.md)

Every case without Forgather tags is also compared with PyYAML (tests below).
"""

from __future__ import annotations

import json

import pytest
import yaml

from pathlib import Path

from casefile import all_cases, check_diagnostics, params
from fgc.diagnostic_codes import CODES
from fgc.diagnostics import sort_key
from fgc.sourcemap import SourceMap
from fgc.syntax import config_codes
from fgc.syntax.config_ast import dump
from fgc.syntax.config_parser import parse_config
from yaml_oracle import ConversionError, fgc_value, has_forgather_tags, pyyaml_value, same, to_python

CASES = all_cases("config")
CONFIG_CODES = {code for code in CODES if code.startswith("FG04")}


def parse(case):
    text = case.files[case.input]
    return parse_config(text, SourceMap.identity(case.input, text))


@pytest.mark.parametrize("case", params(CASES))
def test_case(case):
    document, diagnostics = parse(case)
    if "ast" in case.expect:
        assert dump(document) == case.expect["ast"], case.source
    if "yaml" in case.expect:
        expected = json.dumps(json.loads(case.expect["yaml"]), ensure_ascii=False)
        assert json.dumps(to_python(document), ensure_ascii=False) == expected, case.source
    check_diagnostics(case, diagnostics, Path("."))
    assert diagnostics == sorted(diagnostics, key=sort_key), f"{case.source}: diagnostics out of position order"


def untagged(case) -> bool:
    document, _ = parse(case)
    return not has_forgather_tags(document)


UNTAGGED = [c for c in CASES if untagged(c)]


@pytest.mark.parametrize("case", params(UNTAGGED))
def test_agrees_with_pyyaml(case):
    """fgc and PyYAML (pure Python, YAML 1.2 core-schema typing) accept and reject the same
    documents and read the same values, except in the cases marked `pyyaml-differs`."""
    text = case.files[case.input]
    ours, theirs = fgc_value(text), pyyaml_value(text)
    agree = (ours[0] == theirs[0] == "error") or (ours[0] == theirs[0] == "ok" and same(ours[1], theirs[1]))
    if "pyyaml-differs" in case.expect:
        assert not agree, f"{case.source}: marked pyyaml-differs, but fgc and PyYAML agree: {ours} / {theirs}"
    else:
        assert agree, f"{case.source}:\nfgc:    {ours}\nPyYAML: {theirs}"


@pytest.mark.parametrize("case", params(UNTAGGED))
def test_yaml11_warning_iff_reference_differs(case):
    """Without a YAML 1.1 warning, the reference's own loader (PyYAML SafeLoader, YAML 1.1)
    reads the same value as fgc; with one, it reads a different value (or fails)."""
    document, diagnostics = parse(case)
    if any(d.is_error for d in diagnostics) or "pyyaml-differs" in case.expect:
        return
    try:
        ours = to_python(document)
    except ConversionError:
        return
    warned = any(d.code == config_codes.YAML11 for d in diagnostics)
    theirs = pyyaml_value(case.files[case.input], yaml.SafeLoader)
    differs = theirs[0] == "error" or not same(ours, theirs[1])
    assert warned == differs, f"{case.source}: warned={warned}, reference reads {theirs}"


def test_enough_cases():
    assert len(CASES) >= 80


def test_codes_documented():
    """docs/diagnostics.md lists exactly the config layer's codes."""
    doc = (Path(__file__).parents[2] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    section = doc.split("## Config layer", 1)[1].split("\n## ", 1)[0]
    listed = {line.split("|")[1].strip().strip("`") for line in section.splitlines() if line.startswith("| `FG04")}
    assert listed == CONFIG_CODES


def test_every_code_has_a_case():
    used = {e.code for case in CASES for e in case.diagnostics}
    assert CONFIG_CODES <= used, sorted(CONFIG_CODES - used)
