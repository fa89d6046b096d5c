"""The jinja2 settings of the template layer, and an environment that only parses with them.

Whether a template parses depends only on the lexer settings (delimiters, `trim_blocks`, line
handling), not on globals or filters, so the syntax checks, the template pass and the renderer
share these settings and rendering adds the rest (`fgc.render.environment`).
"""

from __future__ import annotations

import functools

import jinja2.lexer
from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import SandboxedEnvironment

from ..pyast import literal_eval

# jinja2's lexer turns a float token (`1.0e-3`) into its value with `ast.literal_eval`, an AST
# conversion that must not run beside another thread's (fgc/pyast.py, python/cpython#106905).
jinja2.lexer.literal_eval = literal_eval

SETTINGS = dict(
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=False,
    keep_trailing_newline=False,
    autoescape=False,
    auto_reload=False,
)


@functools.cache
def parse_environment() -> SandboxedEnvironment:
    """An environment used only to parse (never to render: it has no globals or filters)."""
    return SandboxedEnvironment(**SETTINGS)


@functools.lru_cache(maxsize=8192)
def parse_statement(body: str) -> nodes.Node | None:
    """jinja2's node for one statement `{% body %}`, or None when it does not parse (the syntax
    checks report that). Cached by text: the template pass and every knob lookup ask again for
    the same statements (callers only read the node)."""
    from jinja2.exceptions import TemplateSyntaxError
    from jinja2.parser import Parser

    try:
        tree = Parser(parse_environment(), "{% " + body + " %}").parse()
    except TemplateSyntaxError:
        return None
    return tree.body[0] if tree.body else None
