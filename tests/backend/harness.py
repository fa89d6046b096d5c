"""Running one back-end conformance case (tests/cases/backend/*.txt; format: tests/casefile.py).

Besides its files, a case may hold:

    --- file ARGS          options as for `fgc compile`: `-D name=value`, `-I dir`, `--no-import`
    --- file VARS          a JSON object: the variables given to construct() (not written)

and these expectations (diagnostics are written inline, `### error CODE @COL "regexp"`,
and matched by `casefile.check_diagnostics`):

    --- expect graph        graph.json (compared as JSON, so any layout will do)
    --- expect construct    repr() of construct("main", **VARS) after random.seed(0)
    --- expect error        `ExceptionType: substring` raised by construct("main", **VARS)

A case that expects no diagnostic must compile without any. Every case that
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
