"""Positions and diagnostics shared by every stage of fgc and by the language server.

A `Span` names a range in an original template file (never in rendered text): 1-based line and
column of the first character, and the 1-based line and column just past the last character.
A `Diagnostic` is one finding: a stable code, a severity, a message, the primary span, related
spans ("overridden here", "inherited from") and an optional hint ("did you mean `lr`?").

Codes are grouped by stage; every code is registered, with its meaning, in
fgc/diagnostic_codes.py (and docs/diagnostics.md):
    FG00xx  command line and internal
    FG01xx  loading and template syntax        FG02xx  template pass (inheritance)
    FG03xx  rendering (Jinja)                  FG04xx  config syntax (YAML layer)
    FG05xx  semantic passes                    FG06xx  imports and signatures
    FG07xx  codegen, build directory and run   FG08xx  projects and from_project
"""

from __future__ import annotations

import enum
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Generic, Iterable, NamedTuple, Protocol, Sequence, TypeVar


@dataclass(frozen=True, order=True)
class Span:
    """A range of a source file: 1-based lines and columns, the end exclusive."""
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(file: str, line: int, col: int = 1, length: int = 0) -> "Span":
        return Span(file, line, col, line, col + length)

    def union(self, other: "Span") -> "Span":
        """The smallest span covering both (same file assumed; else self)."""
        if other.file != self.file:
            return self
        start = min((self.line, self.col), (other.line, other.col))
        end = max((self.end_line, self.end_col), (other.end_line, other.end_col))
        return Span(self.file, start[0], start[1], end[0], end[1])

    def __str__(self) -> str:
        return f"{display_path(self.file)}:{self.line}:{self.col}"


class Severity(enum.IntEnum):
    NOTE = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Related:
    """A note attached to a diagnostic, at another position."""
    span: Span | None  # None: a note without a position (a `-D` on the command line)
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """One message about the input: its code, severity, text and where."""
    code: str
    severity: Severity
    message: str
    span: Span | None = None
    related: tuple[Related, ...] = ()
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def to_json(self) -> dict:
        s = self.span
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "file": s.file if s else None,
            "line": s.line if s else None,
            "col": s.col if s else None,
            "end_line": s.end_line if s else None,
            "end_col": s.end_col if s else None,
            "hint": self.hint,
            "related": [
                {
                    "message": r.message,
                    "file": r.span.file if r.span else None,
                    "line": r.span.line if r.span else None,
                    "col": r.span.col if r.span else None,
                    "end_line": r.span.end_line if r.span else None,
                    "end_col": r.span.end_col if r.span else None,
                }
                for r in self.related
            ],
        }

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity}[{self.code}]: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def _repr_html_(self) -> str:  # notebooks
        import html

        return f"<pre>{html.escape(render_human([self], color=False))}</pre>"


def error(code: str, message: str, span: Span | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, **kw)


def warning(code: str, message: str, span: Span | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, **kw)


def note(code: str, message: str, span: Span | None = None, **kw: Any) -> Diagnostic:
    return Diagnostic(code, Severity.NOTE, message, span, **kw)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, or None when nothing is close. A candidate that is
    the word but for case and underscores wins (`DynamicCausalLM` -> `dynamic_causal_lm`)."""
    candidates = list(candidates)
    folded = word.replace("_", "").lower()
    same = [c for c in candidates if c.replace("_", "").lower() == folded]
    import difflib  # here: most runs never suggest a name

    matches = same[:1] or difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    s = d.span
    return (s.file, s.line, s.col, d.code) if s else ("", 0, 0, d.code)


# --------------------------------------------------------------------------------------------
# Renderers


def display_path(path: str) -> str:
    """A path relative to the working directory when it lies below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


class _SourceCache:
    def __init__(self) -> None:
        self._lines: dict[str, list[str] | None] = {}

    def line(self, path: str, lineno: int) -> str | None:
        if path not in self._lines:
            try:
                with open(path, encoding="utf-8", errors="replace", newline="") as f:
                    self._lines[path] = f.read().splitlines()
            except OSError:
                self._lines[path] = None
        lines = self._lines[path]
        if lines is None or not 1 <= lineno <= len(lines):
            return None
        return lines[lineno - 1]


_COLORS = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.NOTE: "\x1b[1;36m",
}
_BOLD, _BLUE, _RESET = "\x1b[1m", "\x1b[1;34m", "\x1b[0m"


def render_human(diagnostics: Sequence[Diagnostic], color: bool = False) -> str:
    """rustc-style text: header, file:line:col, the source line, a caret, notes and hint."""
    cache = _SourceCache()
    c = (lambda code, s: f"{code}{s}{_RESET}") if color else (lambda code, s: s)
    out: list[str] = []
    for d in diagnostics:
        out.append(f"{c(_COLORS[d.severity], f'{d.severity}[{d.code}]')}{c(_BOLD, ': ' + d.message)}")
        if d.span:
            out.extend(_snippet(d.span, cache, c, _COLORS[d.severity]))
        for r in d.related:
            out.append(f"  {c(_BLUE, '=')} note: {r.message}")
            if r.span:
                out.extend(_snippet(r.span, cache, c, _BLUE))
        if d.hint:
            out.append(f"  {c(_BLUE, '=')} help: {d.hint}")
        out.append("")
    return "\n".join(out)


def _snippet(span: Span, cache: _SourceCache, c: Callable[[str, str], str], caret_color: str) -> list[str]:
    gutter = len(str(span.line))
    lines = [f"{' ' * gutter}{c(_BLUE, '-->')} {span}"]
    text = cache.line(span.file, span.line)
    if text is None:
        return lines
    text = text.expandtabs(1).rstrip("\n")
    if span.end_line == span.line:
        width = max(1, span.end_col - span.col)
    else:
        width = max(1, len(text) - span.col + 1)
    pad = " " * gutter
    lines.append(f"{pad} {c(_BLUE, '|')}")
    lines.append(f"{c(_BLUE, str(span.line))} {c(_BLUE, '|')} {text}")
    lines.append(f"{pad} {c(_BLUE, '|')} {' ' * (span.col - 1)}{c(caret_color, '^' * width)}")
    return lines


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """One JSON object per line."""
    import json

    return "".join(json.dumps(d.to_json()) + "\n" for d in diagnostics)


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(d.severity == Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity == Severity.WARNING for d in diagnostics)
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts) if parts else "no problems"


def print_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str = "human", stream: IO[str] | None = None) -> None:
    """Text on stderr, or JSON lines on stdout (unless `stream` says otherwise)."""
    stream = stream or (sys.stdout if fmt == "json" else sys.stderr)
    ordered = list(diagnostics)
    if fmt == "json":
        stream.write(render_json(ordered))
        stream.flush()
        return
    color = hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")
    if ordered:
        stream.write(render_human(ordered, color=color))
        stream.write(summary(ordered) + "\n")


# --------------------------------------------------------------------------------------------
# What a stage returns (docs/architecture.md, "Stage results")

T = TypeVar("T", covariant=True)  # a Result[Linked] is a Result[LinkedBuild]


class Result(NamedTuple, Generic[T]):
    """A stage's output and the diagnostics it found. A user's error is a diagnostic here, never
    an exception; the output means something only when `ok` (else it is a placeholder: None, an
    empty graph). A tuple, so `value, diags = stage(...)` reads it too."""

    value: T
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


class Outcome(Protocol):
    """Any stage result: a `Result`, or a stage's own record with more than one output (the
    render's `RenderResult`, the pipeline's `Frontend` and `Compilation`)."""

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    @property
    def ok(self) -> bool: ...


@dataclass
class DiagnosticError(Exception):
    """Raised inside a stage to abort it with diagnostics already built; the stage catches it
    and returns them (it never crosses a stage's boundary). Its subclass fgc.api.CompileError is
    how the Python API, outside the stages, reports a failed compilation."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)
