"""Running one template-layer conformance case (shared by the case and oracle tests).

A case (see tests/casefile.py) may hold, besides its template files:

    --- file ARGS          command-line options for the case, as for `fgc render`:
                           `-D name=value` (value read as a YAML scalar) and `-I dir`
                           (relative to the case directory). Not written to disk.

and these expectations (diagnostics are written inline, `### error CODE @COL "regexp"`,
and matched by `casefile.check_diagnostics`):

    --- expect render      the exact rendered text
    --- expect origins     one line per rendered line: `file:line | text`; `-` for a line
                           with no origin (several origins: `a.fg:1, b.fg:2`)
    --- expect ast         `fgc parse` of the input file (paths relative to the case)
    --- expect jinja       the canonical Jinja of every chunk of the input (no markers),
                           chunks separated by `#--- name ---` lines
    --- expect reference   what the reference implementation renders when it differs from
                           `render` (a quirk fixed by fgc); `!error` when it fails

A case that expects no diagnostic must produce none.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from casefile import Case, relative

from fgc.cli.common import parse_defines
from fgc.cli.main import build_parser


@dataclass
class Options:
    include_dirs: list[Path]
    variables: dict


def write_case(case: Case, root: Path) -> tuple[Path, Options]:
    """Write the case's files below root; its input path and options."""
    for name, text in case.files.items():
        if name == "ARGS":
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    argv = shlex.split(case.files.get("ARGS", ""))
    args = build_parser().parse_args(["render", str(root / case.input), *argv])
    include = [root / d for d in args.include_dirs]
    return root / case.input, Options(include, parse_defines(args.defines))


def origin_lines(result, root: Path) -> list[str]:
    out = []
    for text, origins in zip(result.source_map.rendered_lines, result.source_map.origins):
        label = ", ".join(f"{relative(o.file, root)}:{o.line}" for o in origins) or "-"
        out.append(f"{label} | {text}")
    return out


def normalize_origins(expected: str) -> list[str]:
    out = []
    for line in expected.split("\n"):
        label, sep, text = line.partition(" | ")
        if not sep:
            label, text = line.rstrip(" |"), ""
        out.append(f"{label.strip()} | {text}")
    return out
