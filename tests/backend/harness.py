"""Running one back-end conformance case (tests/cases/backend/*.txt; format: tests/casefile.py).

Besides its files, a case may hold:

    --- file ARGS          options as for `fgc compile`: `-D name=value`, `-I dir`, `--no-import`
    --- file VARS          a JSON object: the variables given to construct() (not written)

and these expectations:

    --- expect graph        graph.json (compared as JSON, so any layout will do)
    --- expect diagnostics  `file:line:col: severity[CODE]: substring` per diagnostic, in order
                            (the substring is looked for in the message and the hint)
    --- expect construct    repr() of construct("main", **VARS) after random.seed(0)
    --- expect error        `ExceptionType: substring` raised by construct("main", **VARS)

A case without a `diagnostics` expectation must compile without any diagnostic. Every case that
compiles is also built into a build directory, imported, and each of its targets constructed and
compared with what the test interpreter (interp.py) builds from graph.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from casefile import Case

from fgc.cli.common import parse_defines

SPECIAL_FILES = {"ARGS", "VARS"}


@dataclass
class Options:
    include_dirs: list[Path] = field(default_factory=list)
    defines: dict = field(default_factory=dict)
    no_import: bool = False
    variables: dict = field(default_factory=dict)


def write_case(case: Case, root: Path) -> tuple[Path, Options]:
    for name, text in case.files.items():
        if name in SPECIAL_FILES:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    p = argparse.ArgumentParser()
    p.add_argument("-I", dest="include", action="append", default=[])
    p.add_argument("-D", dest="defines", action="append", default=[])
    p.add_argument("--no-import", action="store_true")
    a = p.parse_args(shlex.split(case.files.get("ARGS", "")))
    variables = json.loads(case.files["VARS"]) if "VARS" in case.files else {}
    return root / case.input, Options(
        [root / d for d in a.include], parse_defines(a.defines), a.no_import, variables
    )


def relative(path: str, root: Path) -> str:
    p = Path(path)
    for base in (root.resolve(), root):
        try:
            return p.relative_to(base).as_posix()
        except ValueError:
            continue
    return path


def diagnostic_lines(diagnostics, root: Path) -> list[tuple[str, str, str]]:
    out = []
    for d in diagnostics:
        s = d.span
        where = f"{relative(s.file, root)}:{s.line}:{s.col}" if s else "-"
        out.append((where, f"{d.severity}[{d.code}]", d.message + (f" ({d.hint})" if d.hint else "")))
    return out


def check_diagnostics(expected: str, diagnostics, root: Path) -> None:
    got = diagnostic_lines(diagnostics, root)
    want = [line for line in expected.split("\n") if line.strip()]
    shown = "\n".join(f"{w}: {c}: {t}" for w, c, t in got)
    assert len(got) == len(want), f"expected {len(want)} diagnostics, got:\n{shown}"
    for (where, code, text), line in zip(got, want):
        head, _, w_text = line.partition("]: ")
        w_where, _, w_code = head.rpartition(": ")
        assert (where, code) == (w_where.strip(), w_code.strip() + "]"), f"expected `{line}`, got:\n{shown}"
        assert w_text.strip() in text, f"expected `{w_text.strip()}` in `{text}`; all:\n{shown}"
