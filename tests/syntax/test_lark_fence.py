"""The fence around the Lark internals that fgc's config parser reads (fgc/syntax/lalr_tables.py).

If a Lark release moves them, these tests fail with `LarkChanged`'s message, which names the
internal that changed. They check behaviour, not just names: a LALR loop over the extracted
tables must build the same trees as Lark's own parser.
"""

from __future__ import annotations

import lark
import pytest
from lark import Lark, Token, Tree

from fgc.resources import grammar_path
from fgc.syntax import config_parser
from fgc.syntax.lalr_tables import LarkChanged, Tables, lalr_tables

# Everything the config grammar relies on: an inlined `?rule`, aliases, `[x]` placeholders,
# a `_X` terminal dropped from the children, a left-recursive list, an empty alternative.
TOY_GRAMMAR = r"""
start: [item] (_SEP item)*
?item: pair | atom | "(" item ")" -> group
pair: NAME "=" [atom]
?atom: NAME | NUMBER -> number
_SEP: ";"
NAME: /[a-z]+/
NUMBER: /[0-9]+/
%ignore " "
"""

TOY_INPUTS = ["", "a", "a=1", "a=", "(a=b); 3; ((x))", "a; b=; c=7"]


def _toy() -> Lark:
    return Lark(TOY_GRAMMAR, parser="lalr", maybe_placeholders=True)


def _run(tables: Tables, tokens: list[Token]):
    """A plain LALR loop over the extracted tables (what config_parser._Driver does)."""
    ss, vs = [tables.start], []
    for tok in [*tokens, Token("$END", "")]:
        while True:
            act = tables.states[ss[-1]].get(tok.type)
            assert act is not None, f"tables reject {tok!r} in state {ss[-1]}"
            shift, arg = act
            if shift:
                ss.append(arg)
                vs.append(tok)
                break
            children = vs[len(vs) - arg.size:] if arg.size else []
            del vs[len(vs) - arg.size:], ss[len(ss) - arg.size:]
            vs.append(arg.build(children))
            ss.append(tables.states[ss[-1]][arg.origin][1])
            if tok.type == "$END" and ss[-1] == tables.end:
                return vs[-1]


@pytest.mark.parametrize("text", TOY_INPUTS)
def test_tables_parse_like_lark(text):
    parser = _toy()
    try:
        tables = lalr_tables(parser)
    except LarkChanged as e:
        pytest.fail(str(e))
    assert _run(tables, list(parser.lex(text))) == parser.parse(text)


def test_config_grammar_tables():
    grammar = grammar_path("config.lark").read_text(encoding="utf-8")
    parser = Lark(grammar, parser="lalr", lexer=config_parser._TokenFeed, maybe_placeholders=True)
    try:
        tables = lalr_tables(parser)
    except LarkChanged as e:
        pytest.fail(str(e))
    assert tables.start in tables.states and tables.end in tables.states
    for row in tables.states.values():
        for shift, arg in row.values():
            if not shift:  # every reduction has a goto entry for its rule
                assert any(arg.origin in r for r in tables.states.values()), arg.origin


def test_every_tree_the_config_grammar_builds_has_a_builder_method():
    """The driver hands each lark Tree to the `_Builder` method named after its rule or alias."""
    grammar = grammar_path("config.lark").read_text(encoding="utf-8")
    parser = Lark(grammar, parser="lalr", lexer=config_parser._TokenFeed, maybe_placeholders=True)
    names = set()
    try:
        for rule in parser.rules:
            if rule.alias:
                names.add(str(rule.alias))
            elif not rule.options.expand1 or len(rule.expansion) != 1:
                names.add(str(rule.origin.name))
    except AttributeError as e:
        pytest.fail(f"lark {lark.__version__} changed Lark.rules (alias, options.expand1, expansion, origin): {e}")
    missing = sorted(n for n in names if not hasattr(config_parser._Builder, n))
    assert not missing, f"grammar/config.lark rules without a _Builder method: {missing}"


def test_a_missing_internal_is_named():
    """LarkChanged names the attribute path that is gone, and the installed Lark version."""

    class NoTable:
        parser = type("F", (), {"parser": type("L", (), {"parser": object()})()})()

    with pytest.raises(LarkChanged) as info:
        lalr_tables(NoTable())
    message = str(info.value)
    assert "Lark.parser.parser.parser.parse_table is missing" in message
    assert lark.__version__ in message and "fgc/syntax/lalr_tables.py" in message


def test_config_parser_still_works():
    """The tables drive the real config parser end to end (a smoke test of the fence)."""
    from fgc.sourcemap import SourceMap

    text = "a: [1, {b: 2}]\nc:\n  - !singleton:m:f {x: 1}\n"
    document, diagnostics = config_parser.parse_config(text, SourceMap.identity("t.yaml", text))
    assert not diagnostics and document.root is not None
