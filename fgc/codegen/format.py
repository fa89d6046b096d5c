"""Turn the emitted tree into formatted source, and record where each node's code ended up.

`ast.unparse` writes the tree; black formats it; the formatted text is parsed again and walked
in parallel with the emitted tree (black never changes the syntax tree, only the layout) to find
the final line and column range of every marked expression. Those ranges become the `ORIGINS`
table appended at the end of the module (after everything else, so that adding it moves no
code), which maps a failing instruction back to the template position of its node.
"""

from __future__ import annotations

import ast
import functools

from typing import TYPE_CHECKING

from ..pyast import parse_python
from .emit import Emitted

if TYPE_CHECKING:
    import black


@functools.cache
def _black_mode() -> black.Mode:
    import black

    return black.Mode(target_versions={black.TargetVersion.PY311})


def black_format(text: str) -> str:
    import black

    return black.format_str(text, mode=_black_mode())


def _parallel(a: ast.AST, b: ast.AST) -> dict[int, ast.AST]:
    """Map id(node of a) -> node of b, for two trees of the same shape."""
    out: dict[int, ast.AST] = {}
    for x, y in zip(ast.walk(a), ast.walk(b), strict=True):
        if type(x) is not type(y):
            raise ValueError(f"tree shapes differ: {type(x).__name__} vs {type(y).__name__}")
        out[id(x)] = y
    return out


def _unparse(statements: list[ast.stmt]) -> str:
    return ast.unparse(ast.Module(body=statements, type_ignores=[]))


@functools.lru_cache(maxsize=4)
def _formatted(text: str) -> str:
    """black output, cached: the support code is the same in every module."""
    return black_format(text)


def render(emitted: Emitted, use_black: bool = True) -> str:
    """The module's source text, ending with its ORIGINS table.

    black formats the module in three parts (head, support code, the config's own code) joined
    by two blank lines, which is what black puts between those statements anyway; the support
    part is formatted once per process.
    """
    body = emitted.module.body
    a, b = emitted.support
    parts = [body[:a], body[a:b], body[b:]]
    texts = [_unparse(p) for p in parts if p]
    if use_black:
        texts = [
            _formatted(t) if p is parts[1] else black_format(t)
            for t, p in zip(texts, [p for p in parts if p])
        ]
        text = "\n\n".join(t.rstrip("\n") + "\n" for t in texts)
    else:
        text = "\n\n\n".join(texts) + "\n"
    formatted = parse_python(text, "config.py")
    mapping = _parallel(emitted.module, formatted)
    rows = []
    for code, origin in emitted.marks:
        node = mapping.get(id(code))
        if not isinstance(node, ast.expr) or node.end_lineno is None or node.end_col_offset is None:
            continue
        rows.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, *origin))
    rows.sort()
    table = ast.Module(
        body=[
            ast.Assign(
                targets=[ast.Name("ORIGINS", ast.Store())],
                value=ast.Tuple(
                    [ast.Tuple([ast.Constant(x) for x in row], ast.Load()) for row in rows], ast.Load()
                ),
                lineno=0,
            )
        ],
        type_ignores=[],
    )
    ast.fix_missing_locations(table)
    comment = "# Generated code position (line, col, end line, end col) -> template position and node.\n"
    tail = ast.unparse(table) + "\n"
    if use_black:
        tail = black_format(tail)
    return text + "\n\n" + comment + tail
