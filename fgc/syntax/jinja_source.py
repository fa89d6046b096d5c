"""Lowering: a template chunk's AST -> its canonical Jinja source, line for line.

Line N of the output is line `chunk.first_line + N - 1` of the file, so jinja2's line numbers
are file lines (offset by the chunk's first line). The translation is the reference's:

    -- X     {% X %}            << X    {%- X %}            >> X    {% X -%}
    == X     {{ X }}            => X    {{ (X)|trim('\\n') }}
    ## c     {##}               [name]  {% block name %}    [name!] {% filter trim %}{% block name %}

and a TOML-style block closes by appending, to the last line before its end,
`{{'\\n'}}` (when that line is not empty) `{% endblock name +%}` (`{% endfilter %}` too for `!`).
Trailing ` ##` comments are gone (the parser cut them outside quotes).

With a `mark` function (line -> text), each text line also gets its origin marker (the renderer
passes `fgc.render.markers`; the syntax checks pass none):
after its last non-blank character, or, when the line ends with a tag whose line break
trim_blocks or `-` would eat, after its indentation (none when the line starts with a tag: its
output is marked where it was written, or joins the next line). Blank lines and the bodies of
`{% set x %}...{% endset %}` get none. A marker never stands where it would change what
whitespace control or trim_blocks removes.
"""

from __future__ import annotations

from typing import Callable

from .pairing import structure_of
from .template_ast import (
    BadLine,
    BlankLine,
    Chunk,
    Comment,
    Expression,
    Item,
    JinjaPiece,
    LiteralText,
    PieceKind,
    Statement,
    TextLine,
    TomlBlock,
)

_CLOSE_NEWLINE = "{{'\\n'}}"


Mark = Callable[[int], str]  # file line -> the marker to append to it


def lower_chunk(chunk: Chunk, mark: Mark | None = None) -> str:
    """The Jinja source of `chunk`; origin markers from `mark` when it is given."""
    out: list[str] = []
    state = _State(chunk, mark)
    _lower_items(chunk.items, out, state, at_end=chunk.trailing_newline)
    text = "\n".join(out)
    if chunk.trailing_newline and not state.final_line_used:
        text += "\n"
    return text


class _State:
    def __init__(self, chunk: Chunk, mark: Mark | None) -> None:
        self._mark = mark
        self.structure = structure_of(chunk)
        self.final_line_used = False  # blocks open at the end closed on the empty last line

    def mark(self, item: Item) -> str:
        """The marker of `item`'s line: none inside a `{% set x %}` body (its text is a value,
        not output) as it stands after the item's own statements."""
        if self._mark is None or any(p.keyword == "set" for p in self.structure.open_after(item)):
            return ""
        return self._mark(item.span.line)


def _lower_items(items: list[Item], out: list[str], state: _State, at_end: bool = False) -> None:
    """Lower items into `out`, one string per source line. at_end: these items end a chunk
    whose text ends with a line break; blocks still open there close on the empty line after
    that break (the reference's "current last line"), not on the last item's line."""
    for i, item in enumerate(items):
        if isinstance(item, TextLine):
            out.append(_text(item, state))
        elif isinstance(item, Statement):
            left = "-" if item.prefix == "<<" else ""
            right = "-" if item.prefix == ">>" else ""
            out.append("{%" + left + " " + item.body + " " + right + "%}")
        elif isinstance(item, BlankLine):
            out.append(item.text)
        elif isinstance(item, Comment):
            out.append("{##}")
        elif isinstance(item, Expression):
            if item.prefix == "=>":
                code = "{{ (" + item.body + ")|trim('\\n') }}"
            else:
                code = "{{ " + item.body + " }}"
            out.append(code + state.mark(item))
        elif isinstance(item, TomlBlock):
            opener = "{% block " + item.name + " %}"
            out.append("{% filter trim %}" + opener if item.trim else opener)
            last = at_end and i == len(items) - 1
            _lower_items(item.items, out, state, at_end=last)
            if last and not state.final_line_used:
                out.append("")
                state.final_line_used = True
            closer = "{% endblock " + item.name + " +%}"
            if item.trim:
                closer += "{% endfilter %}"
            if out[-1] != "":
                closer = _CLOSE_NEWLINE + closer
            out[-1] += closer
        elif isinstance(item, BadLine):
            out.append(item.text)
        else:  # pragma: no cover - every item kind is handled above
            raise TypeError(f"cannot lower {type(item).__name__}")


def _text(item: TextLine, state: _State) -> str:
    text = item.text
    marker = state.mark(item)
    if not marker:
        return text
    if len(item.parts) == 1 and type(item.parts[0]) is LiteralText:  # plain text: the usual line
        end = len(text.rstrip())
        return text[:end] + marker + text[end:]
    parts = [p for p in item.parts if not (isinstance(p, LiteralText) and not p.text.strip())]
    if not parts:
        return text
    last, first = parts[-1], parts[0]
    if not _eats_following_newline(last):
        end = len(text.rstrip())
        return text[:end] + marker + text[end:]
    if isinstance(first, JinjaPiece):
        # No literal text of its own before the tag that joins it to the next line: what it
        # outputs comes from expressions (marked where their text was written, for macros and
        # super()) or joins the next line, whose marker then names it.
        return text
    start = len(text) - len(text.lstrip())
    return text[:start] + marker + text[start:]


def _eats_following_newline(part: object) -> bool:
    """Would a marker after this part change what happens to the line break after it?"""
    if not isinstance(part, JinjaPiece):
        return False
    if part.strip_right == "-":
        return True
    return part.kind is not PieceKind.EXPRESSION and part.strip_right != "+"
