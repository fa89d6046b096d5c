"""Running one template-layer conformance case (shared by the case and oracle tests).

A case (see tests/casefile.py) may hold, besides its template files:

    --- file ARGS          command-line options for the case, as for `fgc render`:
                           `-D name=value` (value read as a YAML scalar) and `-I dir`
                           (relative to the case directory). Not written to disk.

and these expectations:

    --- expect render      the exact rendered text
    --- expect origins     one line per rendered line: `file:line | text`; `-` for a line
                           with no origin (several origins: `a.fg:1, b.fg:2`)
    --- expect diagnostics `file:line:col: severity[CODE]: text` per diagnostic, in order;
                           the text is a substring of the message and hint, ` ... `
                           between fragments that appear in that order
    --- expect ast         `fgc parse` of the input file (paths relative to the case)
    --- expect jinja       the canonical Jinja of every chunk of the input (no markers),
                           chunks separated by `#--- name ---` lines
    --- expect reference   what the reference implementation renders when it differs from
                           `render` (a quirk fixed by fgc); `!error` when it fails

A case without a `diagnostics` expectation must produce no diagnostic at all.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from casefile import Case

from fgc import resources
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


def relative(path: str, root: Path) -> str:
    """A file name as the expectations write it: relative to the case, or `<stdlib>/...`."""
    p = Path(path)
    for base, label in ((root.resolve(), ""), (root, ""), (resources.stdlib_dir(), "<stdlib>/")):
        try:
            return label + p.relative_to(base).as_posix()
        except ValueError:
            continue
    return path


def diagnostic_lines(diagnostics, root: Path) -> list[tuple[str, str, str]]:
    """(position, `severity[CODE]`, text) of each diagnostic."""
    out = []
    for d in diagnostics:
        s = d.span
        where = f"{relative(s.file, root)}:{s.line}:{s.col}" if s else "-"
        text = d.message + (f" ({d.hint})" if d.hint else "")
        out.append((where, f"{d.severity}[{d.code}]", text))
    return out


def check_diagnostics(expected: str, diagnostics, root: Path) -> None:
    got = diagnostic_lines(diagnostics, root)
    want = [line for line in expected.split("\n") if line.strip()]
    shown = "\n".join(f"{w}: {c}: {t}" for w, c, t in got)
    assert len(got) == len(want), f"expected {len(want)} diagnostics, got:\n{shown}"
    for (where, code, text), line in zip(got, want):
        w_where, w_code, w_text = _split_expected(line)
        assert (where, code) == (w_where, w_code), f"expected `{line}`, got:\n{shown}"
        assert _contains_in_order(text, w_text.split(" ... ")), f"expected `{w_text}` in `{text}`; all:\n{shown}"


def _contains_in_order(text: str, fragments: list[str]) -> bool:
    pos = 0
    for fragment in fragments:
        found = text.find(fragment, pos)
        if found < 0:
            return False
        pos = found + len(fragment)
    return True


def _split_expected(line: str) -> tuple[str, str, str]:
    # file:line:col: severity[CODE]: text
    head, _, text = line.partition("]: ")
    where, _, code = head.rpartition(": ")
    return where.strip(), code.strip() + "]", text.strip()


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
