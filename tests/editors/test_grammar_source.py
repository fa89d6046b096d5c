"""The grammar JSON is generated from editors/vscode/syntaxes/build_grammar.py; its tag kinds
are fgc's."""

from __future__ import annotations

import importlib.util

from fgc.syntax.config_ast import FORGATHER_TAGS

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


def test_tag_kinds_are_fgcs():
    builder = load_builder()
    assert set(builder.FORGATHER_TAGS) == set(FORGATHER_TAGS)
