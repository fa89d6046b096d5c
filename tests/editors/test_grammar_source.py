"""The grammar JSON is generated from editors/vscode/syntaxes/build_grammar.py; its tag kinds
are fgc's."""

from __future__ import annotations

import importlib.util
import re

from fgc.tags import TAGS

from .conftest import VSCODE

SOURCE = VSCODE / "syntaxes" / "build_grammar.py"


def load_builder():
    spec = importlib.util.spec_from_file_location("build_grammar", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_json_is_generated_from_the_source():
    builder = load_builder()
    assert builder.OUT.read_text() == builder.render(), (
        "forgather.tmLanguage.json is stale: run python editors/vscode/syntaxes/build_grammar.py")


def _rules(value):
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _rules(v)
    elif isinstance(value, list):
        for v in value:
            yield from _rules(v)


def test_tag_kinds_are_fgcs():
    """The grammar scopes exactly fgc's tags (fgc/tags.py) as known ones."""
    builder = load_builder()
    [match] = [r["match"] for r in _rules(builder.grammar()) if r.get("name") == "storage.type.tag.forgather"]
    known = re.search(r"\(\?:([\w|]+)\)", match)
    assert known and set(known.group(1).split("|")) == set(TAGS)
