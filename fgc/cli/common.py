"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, error, has_errors, print_diagnostics, render_json

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def add_input_options(p: argparse.ArgumentParser) -> None:
    """FILE, -I DIR and -D name=value: how a template and its variables are found."""
    p.add_argument(
        "file", metavar="FILE", help="the experiment template (.fg, or .yaml of the reference dialect)"
    )
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
        help="diagnostics as text on stderr (default), or as one JSON object per line on stdout "
        "(usage errors too), for tools: fgc check exp.fg --format json | jq",
    )


class UsageError(Exception):
    """A bad command line: reported in one line (FG0001), exit code 2."""


USAGE_CODE, INTERNAL_CODE = "FG0001", "FG0002"


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


def diagnostic_stream(fmt: str):
    """Where diagnostics go: JSON lines on stdout (machine-readable output is the product, as
    ruff and mypy do it), text on stderr."""
    return sys.stdout if fmt == "json" else sys.stderr


def report(diagnostics: list[Diagnostic], fmt: str) -> int:
    """Print diagnostics (see `diagnostic_stream`); the exit code they imply."""
    print_diagnostics(diagnostics, fmt, diagnostic_stream(fmt))
    return EXIT_INPUT if has_errors(diagnostics) else EXIT_OK


def usage_error(message: str, fmt: str = "human") -> int:
    """A bad command line: one line on stderr, or one FG0001 JSON object on stdout."""
    if fmt == "json":
        sys.stdout.write(render_json([error(USAGE_CODE, message)]))
        sys.stdout.flush()
    else:
        print(f"fgc: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def write_output(text: str, fmt: str) -> None:
    """A command's product on stdout: as it is, or as one `{"output": TEXT}` JSON line so that
    every line of stdout stays JSON with --format json."""
    import json

    if fmt == "json":
        sys.stdout.write(json.dumps({"output": text}, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text)
    sys.stdout.flush()
