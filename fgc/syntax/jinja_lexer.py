"""jinja2's lexer with a fast scan of template data; the tokens are exactly jinja2's.

jinja2 finds the next tag with `(.*?)(?:{%...|{{...|{#...)`: at every character of the data
the regular expression tries each alternative, about 17 MB/s, in one C call that holds the
interpreter's lock. A 0.5 MB experiment with little Jinja in it took 30 ms in that call, and a
hover sent to the language server meanwhile waited for it. With the standard delimiters and no
line statements, a tag can only begin at a `{` followed by `%`, `{` or `#`, so the data is
scanned with possessive runs of anything else (`[^{]++`, a tight loop that never backtracks)
and the alternatives are jinja2's own, unchanged (the match groups are the same too). A data
token without a carriage return is already normalized, so it is not rewritten.

Other settings (custom delimiters, line statement prefixes) get jinja2's lexer unchanged.
`tests/syntax/test_jinja_lexer.py` compares the token streams with jinja2's.
"""

from __future__ import annotations

import re

import jinja2
from jinja2.lexer import Lexer, _Rule

_STANDARD_DATA = "(.*?)"
_FAST_DATA = r"((?:[^{]++|\{(?![{%#]))*+)"  # up to the first `{%`, `{{` or `{#`, or the end


class FastLexer(Lexer):
    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        first, *rest = self.rules["root"]
        pattern = first.pattern.pattern
        if _standard(environment) and pattern.startswith(_STANDARD_DATA):
            fast = re.compile(_FAST_DATA + pattern[len(_STANDARD_DATA) :], first.pattern.flags)
            self.rules["root"] = [_Rule(fast, first.tokens, first.command), *rest]

    def _normalize_newlines(self, value: str) -> str:
        if self.newline_sequence == "\n" and "\r" not in value:
            return value
        return super()._normalize_newlines(value)


def _standard(env: jinja2.Environment) -> bool:
    return (
        (env.block_start_string, env.variable_start_string, env.comment_start_string) == ("{%", "{{", "{#")
        and env.line_statement_prefix is None
        and env.line_comment_prefix is None
    )


_lexers: dict[tuple, FastLexer] = {}


def fast_lexer(env: jinja2.Environment) -> FastLexer:
    """The lexer for `env`'s settings (one per settings, as jinja2's `get_lexer`)."""
    key = (
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
    )
    lexer = _lexers.get(key)
    if lexer is None:
        lexer = _lexers[key] = FastLexer(env)
    return lexer
