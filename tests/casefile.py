"""Reader of the conformance case files under tests/cases/.

One file per feature, many small cases per file (in the manner of starlark-go's
syntax/testdata). A case holds one or more input files and one or more expectations:

    # Lines before the first case are a comment about the whole file.
    === case extends-overrides-block
    --- file main.fg
    -- extends 'base.fg'
    [body]
    x: 2
    --- file base.fg
    [body]
    x: 1
    --- expect render
    x: 2
    --- expect diagnostics
    main.fg:3:1: error[FG0201]: a substring of the message

The first file of a case is its input. File contents and expectations are taken verbatim
(the line break before the next `===`/`---` header belongs to the header). One blank line
before a header is a separator and is dropped; leave two to end a body with a newline. Expectation kinds are
free-form words (render, origins, diagnostics, ast, yaml, graph, construct, ...); each test
driver handles the kinds of its stage and ignores the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CASES_DIR = Path(__file__).parent / "cases"

_HEADER = re.compile(r"^(===|---) (case|file|expect) (\S.*?)\s*$")


@dataclass
class Case:
    name: str
    source: str  # "cases/area/feature.txt:LINE" for failure messages
    files: dict[str, str] = field(default_factory=dict)
    expect: dict[str, str] = field(default_factory=dict)

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


def read_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    body: list[str] | None = None
    target: tuple[dict, str] | None = None

    def flush() -> None:
        if target is not None and body is not None:
            d, key = target
            d[key] = "\n".join(body)

    rel = path.relative_to(CASES_DIR.parent)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        m = _HEADER.match(line)
        if not m:
            if body is not None:
                body.append(line)
            continue
        marker, kind, arg = m.groups()
        if (marker == "===") != (kind == "case"):
            raise ValueError(f"{rel}:{lineno}: malformed header {line!r}")
        flush()
        if kind == "case":
            cases.append(Case(arg, f"{rel}:{lineno}"))
            body, target = None, None
            continue
        if not cases:
            raise ValueError(f"{rel}:{lineno}: {kind} before the first case")
        case = cases[-1]
        d = case.files if kind == "file" else case.expect
        if arg in d:
            raise ValueError(f"{rel}:{lineno}: duplicate {kind} {arg!r} in case {case.name}")
        body, target = [], (d, arg)
    flush()
    # A blank line before the next header only separates: drop one trailing "" line.
    for case in cases:
        for d in (case.files, case.expect):
            for k, v in d.items():
                if v.endswith("\n"):
                    d[k] = v[:-1]
    return cases


def all_cases(area: str | None = None, kind: str | None = None) -> list[Case]:
    """Every case under tests/cases[/area], optionally only those expecting `kind`."""
    root = CASES_DIR / area if area else CASES_DIR
    out = []
    for path in sorted(root.rglob("*.txt")):
        out.extend(c for c in read_cases(path) if kind is None or kind in c.expect)
    return out


def params(cases: list[Case]):
    """pytest.param objects with readable ids."""
    import pytest

    return [pytest.param(c, id=f"{c.source.split(':')[0].removeprefix('cases/')}::{c.name}") for c in cases]
