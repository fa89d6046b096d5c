"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, has_errors, print_diagnostics

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def add_input_options(p: argparse.ArgumentParser) -> None:
    """FILE, -I DIR and -D name=value: how a template and its variables are found."""
    p.add_argument("file", metavar="FILE", help="the experiment template (.fg, or .yaml of the reference dialect)")
    p.add_argument(
        "-I",
        dest="include_dirs",
        metavar="DIR",
        action="append",
        default=[],
        help="add DIR to the template search path (after FILE's directory, before stdlib/)",
    )
    p.add_argument(
        "-D",
        dest="defines",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="set a template variable; VALUE is read as a YAML scalar (1e-3 is a float)",
    )


def add_format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("human", "json"),
        default="human",
        help="diagnostics as text (default) or one JSON object per line",
    )


class UsageError(Exception):
    """A bad command line: reported in one line, exit code 2."""


def parse_scalar(text: str) -> Any:
    """Read a command-line value as a YAML 1.2 core-schema scalar: plain (`3` is an int, `1e-3`
    a float, `~` None), or quoted (`'3'` and `"3"` are strings)."""
    from ..syntax.scalars import resolve_plain_scalar

    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        import json

        try:
            return json.loads(text)
        except ValueError:
            return text[1:-1]
    return resolve_plain_scalar(text)


def parse_defines(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UsageError(f"expected NAME=VALUE with NAME an identifier, got {item!r}")
        out[name] = parse_scalar(value)
    return out


def check_input_file(path: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no such file: {path}")
    return p


def read_input(args) -> tuple[Path, dict[str, Any]]:
    """FILE and the -D variables of a command line (UsageError when either is bad)."""
    return check_input_file(args.file), parse_defines(args.defines)


def report(diagnostics: list[Diagnostic], fmt: str) -> int:
    """Print diagnostics to stderr; the exit code they imply."""
    print_diagnostics(diagnostics, fmt, sys.stderr)
    return EXIT_INPUT if has_errors(diagnostics) else EXIT_OK


def usage_error(message: str) -> int:
    print(f"fgc: error: {message}", file=sys.stderr)
    return EXIT_USAGE
