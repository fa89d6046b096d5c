"""The fast lexer (fgc/syntax/jinja_lexer.py) gives exactly jinja2's tokens: every template
in the repository and the edge cases of the data scan below, lexed by both."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2.lexer import Lexer

from fgc.syntax.jinja_env import SETTINGS, parse_environment
from fgc.syntax.jinja_lexer import FastLexer, fast_lexer

ROOT = Path(__file__).resolve().parents[2]

EDGE_CASES = [
    "",
    "plain data without any tag",
    "{",
    "}",
    "{{",
    "{%",
    "{#",
    "a { b } c {x} {{ y }}",
    "{{ x }}{{ y }}",
    "trailing brace {",
    "{ {{ x }}",
    "{{{ x }}}",
    "{%- if a -%}\n  b\n{%- endif %}\n",
    "{%+ if a %}b{% endif +%}",
    "text {# comment {{ not a tag }} #} more",
    "{%- raw -%} {{ literal }} {% endraw %}",
    "{% raw %}{% if %}{% endraw %} after",
    "windows\r\nline\r\nendings {{ x }}\r\n",
    "old mac\rline {{ 'a\r\nb' }}",
    "{{ '{' }} {{ \"{%\" }} {{ '}}' }}",
    "{% set d = {'a': {'b': 1}} %}{{ d }}",
    "a: {b: 1}\n" * 50 + "{{ tail }}",
    "unicode é ✓ {{ 'ü' }} 😀 {",
    "{{ x -}}   \n\n   {%- if y %}\n{% endif %}",
]


def _tokens(lexer: Lexer, source: str) -> list[tuple[int, str, str]] | str:
    try:
        return [(t.lineno, t.type, t.value) for t in lexer.tokenize(source)]
    except jinja2.TemplateSyntaxError as exc:
        return f"error at line {exc.lineno}: {exc.message}"


def _sources() -> list[Path]:
    found = []
    for sub in ("fgc", "stdlib", "examples", "tests", "templates"):
        if (ROOT / sub).is_dir():
            found += sorted(p for p in (ROOT / sub).rglob("*") if p.suffix in (".fg", ".yaml", ".jinja", ".j2"))
    return found


def test_the_fast_lexer_is_the_environments():
    assert isinstance(parse_environment().lexer, FastLexer)
    assert parse_environment().lexer.rules["root"][0].pattern.pattern != Lexer(parse_environment()).rules["root"][0].pattern.pattern


@pytest.mark.parametrize("source", EDGE_CASES, ids=range(len(EDGE_CASES)))
@pytest.mark.parametrize("trim_blocks", [True, False])
@pytest.mark.parametrize("lstrip_blocks", [False, True])
def test_edge_cases(source, trim_blocks, lstrip_blocks):
    env = jinja2.Environment(**{**SETTINGS, "trim_blocks": trim_blocks, "lstrip_blocks": lstrip_blocks})
    assert _tokens(fast_lexer(env), source) == _tokens(Lexer(env), source)


def test_every_template_in_the_repository():
    env = parse_environment()
    sources = _sources()
    assert len(sources) > 100
    stock = Lexer(env)
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _tokens(env.lexer, text) == _tokens(stock, text), path


def test_every_lowered_template():
    """What the renderer really lexes: each `.fg` chunk lowered to canonical Jinja."""
    from fgc.syntax.jinja_source import lower_chunk
    from fgc.syntax.template_parser import parse_template

    env = parse_environment()
    stock = Lexer(env)
    lowered = 0
    for path in _sources():
        if path.suffix != ".fg":
            continue
        template = parse_template(path.read_text(encoding="utf-8", errors="replace"), str(path), path.name, check_jinja=False).value
        for chunk in template.chunks if template is not None else []:
            text = lower_chunk(chunk)
            assert _tokens(env.lexer, text) == _tokens(stock, text), (path, chunk.name)
            lowered += 1
    assert lowered > 50


def test_other_delimiters_keep_jinja2s_scan():
    env = jinja2.Environment(line_statement_prefix="--", line_comment_prefix="##")
    lexer = fast_lexer(env)
    assert lexer.rules["root"][0].pattern.pattern == Lexer(env).rules["root"][0].pattern.pattern
    source = "-- if x\n{{ y }}\n## note\n-- endif\n"
    assert _tokens(lexer, source) == _tokens(Lexer(env), source)
