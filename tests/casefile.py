"""The conformance case files under tests/cases/: one reader and one diagnostics matcher.

One file per feature, many small cases per file (in the manner of starlark-go's
syntax/testdata/errors.star). A case holds one or more input files and its expectations;
an expected diagnostic is written on the line it is about:

    # Lines before the first case are a comment about the whole file.
    === case override-of-nothing
    --- file main.fg
    -- extends 'base.fg'
    [body]
    x: 2
    [nope]  ### warning FG0203 @2 "block `nope` overrides nothing"
    y: 3
    --- file base.fg
    [body]
    x: 1
    --- expect render
    x: 2

Files. The first file of a case is its input. File contents and expectations are taken
verbatim (the line break before the next `===`/`---` header belongs to the header). One
blank line before a header is a separator and is dropped; leave two to end a body with a
newline. Expectation kinds are free-form words (render, origins, ast, yaml, graph,
construct, ...); each test driver handles the kinds of its stage and ignores the others.

Inline diagnostics. ` ### SEVERITY CODE [@COL] ["REGEXP"]` at the end of a line of any file
of the case expects one diagnostic on that line of that file: severity `error`, `warning` or
`note`, its code, optionally its column (1-based), and optionally a Python regular expression
searched (re.S) in the message followed by ` (hint)` when there is a hint; `\\"` is a quote
inside it. Several annotations may follow each other on one line. The reader removes them
(and the space before the first) before the file is written, so the compiler never sees them
and they may sit anywhere, even inside a block scalar or a quoted string; a line holding
only an annotation becomes an empty line.

Explicit diagnostics, for what has no line of a case file (a diagnostic without a position,
in a file of the standard library, past the last line of a file):

    --- expect diagnostics
    -: warning[FG0100]: search path entry
    <stdlib>/models/llama.fg:3:1: error[FG0201]: REGEXP

one per line, `FILE:LINE[:COL]: SEVERITY[CODE]: REGEXP` (`-` for no position; the regexp may
be empty). Files are named relative to the case directory, `<stdlib>/` for the template
library.

Matching (`check_diagnostics`): the diagnostics a case produces and the ones it expects
(inline and explicit together) must pair up one to one, in any order; a case that expects
none must produce none. A mismatch is reported with the case-file line of each expectation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"

_HEADER = re.compile(r"^(===|---) (case|file|expect) (\S.*?)\s*$")
_SEVERITY = "(?P<severity>error|warning|note)"  # as fgc.diagnostics.Severity prints them
_CODE = "(?P<code>[A-Z]+[0-9]+)"
# Where the annotations of a line start: ` ### error ...`, or `### error ...` at column 1.
_ANNOTATION_START = re.compile(r"(?:^| )### (?=(?:error|warning|note) )")
_ANNOTATION = re.compile(
    _SEVERITY + " " + _CODE + r'(?: @(?P<col>[0-9]+))?(?: "(?P<pattern>(?:[^"\\]|\\.)*)")?[ \t]*(?:$|### )'
)
_EXPLICIT = re.compile(
    r"^(?:-|(?P<file>\S+?):(?P<line>[0-9]+)(?::(?P<col>[0-9]+))?): " + _SEVERITY + r"\[" + _CODE + r"\](?:: ?(?P<pattern>.*))?$"
)


class CaseFileError(ValueError):
    """A malformed case file; the message starts with `cases/area/feature.txt:LINE:`."""


@dataclass(frozen=True)
class Expected:
    """One expected diagnostic."""

    file: str | None  # relative to the case directory (`<stdlib>/...`); None: no position
    line: int | None
    col: int | None  # None: any column
    severity: str
    code: str
    pattern: str | None  # a regular expression searched in "message (hint)"; None: any message
    where: str  # "cases/area/feature.txt:LINE" of the expectation

    def describe(self) -> str:
        pos = "-" if self.file is None else f"{self.file}:{self.line}" + (f":{self.col}" if self.col else "")
        text = f" /{self.pattern}/" if self.pattern else ""
        return f"{pos}: {self.severity}[{self.code}]{text}   ({self.where})"

    def matches(self, got: "Produced") -> bool:
        return (
            (self.file, self.line) == (got.file, got.line)
            and self.col in (None, got.col)
            and (self.severity, self.code) == (got.severity, got.code)
            and (self.pattern is None or re.search(self.pattern, got.text, re.S) is not None)
        )


@dataclass(frozen=True)
class Produced:
    """One diagnostic the compiler produced, in the terms of `Expected`."""

    file: str | None
    line: int | None
    col: int | None
    severity: str
    code: str
    text: str  # the message, then ` (hint)` when there is one

    def describe(self) -> str:
        pos = "-" if self.file is None else f"{self.file}:{self.line}:{self.col}"
        return f"{pos}: {self.severity}[{self.code}]: {self.text}"


@dataclass
class Case:
    name: str
    source: str  # "cases/area/feature.txt:LINE" for failure messages
    files: dict[str, str] = field(default_factory=dict)  # annotations removed
    expect: dict[str, str] = field(default_factory=dict)  # every kind but diagnostics
    diagnostics: list[Expected] = field(default_factory=list)  # inline and explicit

    @property
    def input(self) -> str:
        return next(iter(self.files))

    def write(self, root: Path) -> Path:
        """Write the case's files below root; return the input file's path."""
        for name, text in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root / self.input

    def __repr__(self) -> str:
        return f"Case({self.name} @ {self.source})"


# --------------------------------------------------------------------------------------------
# Reading


def _unquote(pattern: str) -> str:
    """The regexp of a quoted pattern: `\\"` is a quote, every other escape stays as written."""
    return re.sub(r'\\(.)', lambda m: '"' if m.group(1) == '"' else m.group(0), pattern, flags=re.S)


def _compiled(pattern: str | None, where: str) -> str | None:
    if not pattern:
        return None
    try:
        re.compile(pattern)
    except re.error as e:
        raise CaseFileError(f"{where}: bad regular expression {pattern!r}: {e}") from None
    return pattern


def _annotations(text: str, file: str, line: int, where: str) -> tuple[str, list[Expected]]:
    """The line without its annotations, and what they expect."""
    m = _ANNOTATION_START.search(text)
    if m is None:
        return text, []
    out = []
    pos = m.end()
    while pos < len(text):
        a = _ANNOTATION.match(text, pos)
        if a is None:
            raise CaseFileError(
                f"{where}:{pos + 1}: malformed annotation {text[pos:]!r}: "
                'want `### error|warning|note CODE [@COL] ["REGEXP"]`'
            )
        col = int(a["col"]) if a["col"] else None
        pattern = _unquote(a["pattern"]) if a["pattern"] is not None else None
        out.append(Expected(file, line, col, a["severity"], a["code"], _compiled(pattern, where), where))
        pos = a.end()
    return text[: m.start()], out


def _explicit(text: str, where: str) -> Expected:
    m = _EXPLICIT.match(text)
    if m is None:
        raise CaseFileError(
            f"{where}: malformed diagnostic {text!r}: want `FILE:LINE[:COL]: SEVERITY[CODE]: REGEXP` or `-: ...`"
        )
    line = int(m["line"]) if m["line"] else None
    col = int(m["col"]) if m["col"] else None
    return Expected(m["file"], line, col, m["severity"], m["code"], _compiled(m["pattern"], where), where)


def read_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    body: list[str] | None = None
    target: tuple[dict, str] | None = None
    file: str | None = None  # the file whose body is being read
    explicit = False  # the body being read is `expect diagnostics`
    with_explicit: set[int] = set()  # indexes of the cases that have one
    try:
        rel = path.relative_to(CASES_DIR.parent).as_posix()
    except ValueError:  # a case file elsewhere (the reader's own tests)
        rel = path.as_posix()

    def flush() -> None:
        if target is not None and body is not None:
            d, key = target
            d[key] = "\n".join(body)

    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        m = _HEADER.match(line)
        if not m:
            if body is not None:
                if file is not None:
                    line, expected = _annotations(line, file, len(body) + 1, f"{rel}:{lineno}")
                    cases[-1].diagnostics.extend(expected)
                elif explicit and line.strip():
                    cases[-1].diagnostics.append(_explicit(line.strip(), f"{rel}:{lineno}"))
                body.append(line)
            continue
        marker, kind, arg = m.groups()
        if (marker == "===") != (kind == "case"):
            raise CaseFileError(f"{rel}:{lineno}: malformed header {line!r}")
        flush()
        file, explicit = None, False
        if kind == "case":
            cases.append(Case(arg, f"{rel}:{lineno}"))
            body, target = None, None
            continue
        if not cases:
            raise CaseFileError(f"{rel}:{lineno}: {kind} before the first case")
        case = cases[-1]
        if kind == "expect" and arg == "diagnostics":
            if len(cases) in with_explicit:
                raise CaseFileError(f"{rel}:{lineno}: duplicate expect 'diagnostics' in case {case.name}")
            with_explicit.add(len(cases))
            body, target, explicit = [], None, True
            continue
        d = case.files if kind == "file" else case.expect
        if arg in d:
            raise CaseFileError(f"{rel}:{lineno}: duplicate {kind} {arg!r} in case {case.name}")
        body, target = [], (d, arg)
        file = arg if kind == "file" else None
    flush()
    # A blank line before the next header only separates: drop one trailing "" line.
    for case in cases:
        for d in (case.files, case.expect):
            for k, v in d.items():
                if v.endswith("\n"):
                    d[k] = v[:-1]
        _check_inline_lines(case)
    return cases


def _check_inline_lines(case: Case) -> None:
    """An annotation on the separator line after a file's last line would expect a line
    that the file does not have."""
    for e in case.diagnostics:
        if e.file in case.files and e.line is not None and e.line > case.files[e.file].count("\n") + 1:
            raise CaseFileError(f"{e.where}: annotation after the last line of {e.file}")


def all_cases(area: str | None = None, kind: str | None = None) -> list[Case]:
    """Every case under tests/cases[/area], optionally only those expecting `kind`
    ("diagnostics": those expecting at least one diagnostic)."""
    root = CASES_DIR / area if area else CASES_DIR
    out = []
    for path in sorted(root.rglob("*.txt")):
        for c in read_cases(path):
            if kind is None or kind in c.expect or (kind == "diagnostics" and c.diagnostics):
                out.append(c)
    return out


def params(cases: list[Case]):
    """pytest.param objects with readable ids."""
    import pytest

    return [pytest.param(c, id=f"{c.source.split(':')[0].removeprefix('cases/')}::{c.name}") for c in cases]


# --------------------------------------------------------------------------------------------
# Matching


def relative(path: str, root: Path) -> str:
    """A file name as the expectations write it: relative to the case, or `<stdlib>/...`."""
    from fgc import resources

    p = Path(path)
    for base, label in ((root.resolve(), ""), (root, ""), (resources.stdlib_dir(), "<stdlib>/")):
        try:
            return label + p.relative_to(base).as_posix()
        except ValueError:
            continue
    return path


def produced(diagnostics, root: Path) -> list[Produced]:
    out = []
    for d in diagnostics:
        s = d.span
        text = d.message + (f" ({d.hint})" if d.hint else "")
        if s is None:
            out.append(Produced(None, None, None, str(d.severity), d.code, text))
        else:
            out.append(Produced(relative(s.file, root), s.line, s.col, str(d.severity), d.code, text))
    return out


def _pair(expected: list[Expected], got: list[Produced]) -> dict[int, int]:
    """A maximum one-to-one pairing {expected index: produced index} (augmenting paths)."""
    candidates = [[j for j, g in enumerate(got) if e.matches(g)] for e in expected]
    owner: dict[int, int] = {}  # produced index -> expected index

    def assign(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        assign(i, set())
    return {i: j for j, i in owner.items()}


def check_diagnostics(case: Case, diagnostics, root: Path) -> None:
    """The diagnostics and the case's expectations pair up one to one (any order)."""
    __tracebackhide__ = True  # pytest: the report is the message, not this function
    got = produced(diagnostics, root)
    pairs = _pair(case.diagnostics, got)
    if len(pairs) == len(case.diagnostics) == len(got):
        return
    missing = [e for i, e in enumerate(case.diagnostics) if i not in pairs]
    extra = [g for j, g in enumerate(got) if j not in set(pairs.values())]
    lines = [f"{case.source} ({case.name}): the diagnostics differ from the expected ones"]
    if missing:
        lines.append("  expected, not produced:")
        lines.extend(f"    {e.describe()}" for e in missing)
    if extra:
        lines.append("  produced, not expected:")
        lines.extend(f"    {g.describe()}" for g in extra)
    raise AssertionError("\n".join(lines))
