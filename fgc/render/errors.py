"""Jinja errors at render time -> diagnostics at the original file, line and column.

jinja2 rewrites the traceback of an error raised while rendering so that each template frame
has the template's file name and line. Lowering keeps lines, so a frame's line is a line of the
chunk; the loader maps the frame's file name to its chunk and file. The innermost template frame
is the error's position; the outer ones (the `include`, the block call, `super()`, the macro
call) become "rendered from here" notes.

    FG0301  undefined variable or attribute
    FG0302  template not found while rendering (a dynamic `extends`/`include`/`import`)
    FG0303  unknown filter or test
    FG0304  unsafe operation refused by the sandbox
    FG0305  any other error raised while rendering (the exception's type and message)
    FG0306  a required block rendered without an override
    FG0541  statements nested deeper than the Python code jinja2 compiles them to allows
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Iterable

import jinja2
from jinja2 import exceptions as jx
from jinja2.sandbox import SecurityError

from ..diagnostics import Diagnostic, Related, Span, did_you_mean, display_path, error
from ..loader import LoadedChunk, Loader
from ..syntax.template_ast import Expression, JinjaPiece, PieceKind, Statement, TextLine, TomlBlock

_QUOTED = re.compile(r"'([^']*)'")
_SET_NAMES = re.compile(r"\b(?:set|for|as|import|macro)\s+([A-Za-z_]\w*)")
_MAX_NOTES = 8


class LoadFailed(Exception):
    """Raised by the Jinja loader when a template found at render time has errors."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("template has errors")
        self.diagnostics = diagnostics


def template_frames(tb: TracebackType | None, loader: Loader) -> list[tuple[LoadedChunk, int, str]]:
    """(chunk, file line, what jinja2 calls the frame: `top-level template code`, `block 'x'`,
    a macro) of each template frame in the traceback, outermost first."""
    out: list[tuple[LoadedChunk, int, str]] = []
    while tb is not None:
        chunk = loader.by_filename.get(tb.tb_frame.f_code.co_filename)
        if chunk is not None:
            out.append((chunk, chunk.chunk.first_line + tb.tb_lineno - 1, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    return out


def _code_parts(chunk: LoadedChunk, line: int) -> list[tuple[str, Span]]:
    """(Jinja code, span of its first character) of the statements/expressions on a line."""
    out: list[tuple[str, Span]] = []
    for item in chunk.chunk.walk():
        if isinstance(item, TomlBlock):
            if item.header_span.line == line:
                out.append((item.name, item.name_span))
            continue
        if not item.span.line <= line <= item.span.end_line:
            continue
        if isinstance(item, (Statement, Expression)):
            out.append((item.body.strip(), item.body_span))
        elif isinstance(item, TextLine):
            for p in item.parts:
                if isinstance(p, JinjaPiece) and p.kind is not PieceKind.COMMENT and p.span.line <= line <= p.span.end_line:
                    out.append((p.body.strip(), p.body_span))
    return out


def _find(code: str, word: str) -> tuple[int, int] | None:
    pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)" if word.isidentifier() else re.escape(word)
    m = re.search(pattern, code)
    return (m.start(), m.end()) if m else None


def _locate(chunk: LoadedChunk, line: int, word: str | None) -> Span:
    """The span of `word` in the Jinja code on `line` (else the first Jinja code there)."""
    parts = _code_parts(chunk, line)
    if word:
        for code, start in parts:
            found = _find(code, word)
            if found is not None and "\n" not in code[: found[0]]:
                col = start.col + found[0]
                return Span(start.file, start.line, col, start.line, col + found[1] - found[0])
    if parts:
        code, start = parts[0]
        first_line = code.split("\n", 1)[0]
        return Span(start.file, start.line, start.col, start.line, start.col + len(first_line))
    return Span(chunk.file.path, line, 1, line, 1)


def _notes(frames: list[tuple[LoadedChunk, int, str]]) -> tuple[Related, ...]:
    notes: list[Related] = []
    seen = set()
    for i in range(len(frames) - 2, -1, -1):
        chunk, line, _ = frames[i]
        span = _through_extends(frames[i], frames[i + 1]) or _locate(chunk, line, None)
        key = (span.file, span.line)
        if key in seen:
            continue
        seen.add(key)
        notes.append(Related(span, f"reached through `{chunk.name}` here"))
        if len(notes) == _MAX_NOTES:
            break
    return tuple(notes)


_TOP_LEVEL = "top-level template code"  # how jinja2's rewritten traceback names a template's top level


def _through_extends(outer: tuple[LoadedChunk, int, str], inner: tuple[LoadedChunk, int, str]) -> Span | None:
    """A child's top level hands over to its parent's after its last statement, and jinja2 gives
    that call the line of the last statement it ran: when the outer frame is a template's top
    level calling another template's top level from a line that includes nothing, the way in is
    the template's `extends`."""
    chunk, line, name = outer
    if name != _TOP_LEVEL or inner[2] != _TOP_LEVEL or inner[0].chunk is chunk.chunk:
        return None
    if any(_keyword(code) in ("include", "import", "from") for code, _ in _code_parts(chunk, line)):
        return None
    for tag in chunk.chunk.tags():
        if _keyword(tag.body) == "extends":
            return _locate(chunk, tag.span.line, None)
    return None


def _keyword(code: str) -> str:
    from ..syntax.template_ast import keyword_of

    return keyword_of(code)


def nested_too_deep(chunk: LoadedChunk, exc: SyntaxError) -> Diagnostic:
    """Python refused the code jinja2 compiled a chunk to (at most 20 nested loops, about 100
    levels of indentation): an error at the chunk's most deeply nested statement."""
    from ..syntax.pairing import NESTING_CODE, structure_of

    pairs = structure_of(chunk.chunk).pairs
    depth = {id(p): 0 for p in pairs}
    for p in pairs:  # in opener order: a parent is numbered before its children
        depth[id(p)] = depth[id(p.parent)] + 1 if p.parent is not None and id(p.parent) in depth else 1
    deepest = max(pairs, key=lambda p: depth[id(p)], default=None)
    span = deepest.span if deepest is not None else Span.point(chunk.file.path, chunk.chunk.first_line)
    loops = sum(1 for p in pairs if p.keyword == "for")
    return error(
        NESTING_CODE,
        f"statements nested too deeply: Python refuses the code jinja2 compiles them to ({exc.msg})",
        span,
        hint="Python allows at most 20 nested `for` loops and about 100 nested levels: join conditions "
        "(`if a and b`), or move the inner part to a macro or a block" if loops else
        "join conditions (`if a and b`), or move the inner part to a macro or a block",
    )


def _names_in(loader: Loader) -> set[str]:
    names: set[str] = set()
    for f in loader.files.values():
        names.update(_SET_NAMES.findall(f.text))
    return names


def render_error(exc: BaseException, loader: Loader, variables: dict, env: jinja2.Environment) -> list[Diagnostic]:
    """The diagnostics for an exception raised by jinja2 while loading or rendering."""
    if isinstance(exc, LoadFailed):
        return exc.diagnostics
    frames = template_frames(exc.__traceback__, loader)
    notes = _notes(frames)

    def at(word: str | None) -> Span | None:
        if frames:
            chunk, line, _ = frames[-1]
            return _locate(chunk, line, word)
        return _syntax_position(exc, loader, word)

    message = str(getattr(exc, "message", None) or exc).strip().split("\n")[0]
    if isinstance(exc, jx.UndefinedError):
        names = _QUOTED.findall(message)
        word = names[-1] if names else None
        hint = None
        if word and "is undefined" in message:
            known = set(variables) | set(env.globals) | _names_in(loader)
            close = did_you_mean(word, sorted(known)) if len(word) > 2 else None
            hint = close or (
                f"set it with `-D {word}=VALUE`, or give a default: `{{{{ {word} | default(...) }}}}`"
            )
        elif word and "has no attribute" in message:
            hint = None
        return [error("FG0301", message, at(word), related=notes, hint=hint)]
    if isinstance(exc, (jx.TemplatesNotFound, jx.TemplateNotFound)):
        names = list(getattr(exc, "templates", None) or [exc.name])
        searched = ", ".join(display_path(str(p)) for p in loader.search_path)
        target = str(names[0]) if names else "?"
        span = at(None)
        return [
            error(
                "FG0302",
                f"template `{target}` not found while rendering (search path: {searched})",
                span,
                related=notes,
                hint=did_you_mean(target, loader.candidates()),
            )
        ]
    if isinstance(exc, SecurityError):
        return [error("FG0304", f"refused by the sandbox: {message}", at(None), related=notes)]
    if isinstance(exc, (jx.TemplateAssertionError, jx.TemplateRuntimeError)) and (
        "filter" in message.lower() or "test named" in message.lower()
    ):
        names = _QUOTED.findall(message)
        word = names[0] if names else None
        pool = env.filters if "filter" in message.lower() else env.tests
        return [error("FG0303", message, at(word), related=notes, hint=did_you_mean(word or "", sorted(pool)))]
    if isinstance(exc, jx.TemplateRuntimeError) and "Required block" in message:
        names = _QUOTED.findall(message)
        return [error("FG0306", message, at(names[0] if names else None), related=notes)]
    if isinstance(exc, jx.TemplateSyntaxError):
        return [error("FG0110", message, at(None), related=notes)]
    if "non-namespace object" in message and frames:
        # jinja2 raises this one line early (before the assignment's own line mark).
        chunk, line, _ = frames[-1]
        span = _namespace_assignment(chunk, line) or at(None)
        return [
            error(
                "FG0305",
                f"error while rendering: {message}",
                span,
                related=notes,
                hint="a template that extends another runs its top-level statements before its parent's: "
                "create the namespace first, or set its attributes inside a block",
            )
        ]
    if isinstance(exc, RecursionError):
        return [
            error(
                "FG0305",
                "recursion too deep while rendering (does an include or a macro call itself without end?)",
                at(None),
                related=notes[:2],
            )
        ]
    return [error("FG0305", f"error while rendering: {type(exc).__name__}: {message}", at(None), related=notes)]


_NS_SET = re.compile(r"\s*set\s+[A-Za-z_]\w*\s*\.")


def _namespace_assignment(chunk: LoadedChunk, line: int) -> Span | None:
    """The first `set name.attr = ...` at or after `line`."""
    for tag in chunk.chunk.tags():
        if tag.span.line >= line and _NS_SET.match(tag.body):
            return tag.body_span
    return None


def _syntax_position(exc: BaseException, loader: Loader, word: str | None) -> Span | None:
    """Position of an error raised while compiling (it has a file name and line, no frames)."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    chunk = loader.by_filename.get(filename) if filename else None
    if chunk is None or not lineno:
        return None
    return _locate(chunk, chunk.chunk.first_line + lineno - 1, word)


def unique(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
