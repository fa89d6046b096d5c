"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.inputs import Input, InputDiagnostics  # the resolver's record and error, re-exported
from ..diagnostics import Diagnostic, error, has_errors, print_diagnostics, render_json

if TYPE_CHECKING:
    from ..passes.overrides import Override

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2


def add_input_options(p: argparse.ArgumentParser) -> None:
    """FILE, -I DIR and -D name=value: how a template and its variables are found."""
    p.add_argument(
        "file",
        metavar="FILE",
        help="the experiment template (.fg, or .yaml of the reference dialect), or PROJECT_DIR: a "
        "project of the reference layout (a directory at or below one with meta.yaml, in a workspace)",
    )
    p.add_argument(
        "-t",
        "--config-template",
        dest="config",
        metavar="CONFIG",
        default=None,
        help="with PROJECT_DIR: the config to use, relative to the project's config prefix "
        "(default: meta.yaml's default_config)",
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


def add_override_option(p: argparse.ArgumentParser) -> None:
    """`--override KEY.PATH=VALUE` (repeatable): fgc.passes.overrides."""
    p.add_argument(
        "--override",
        dest="overrides",
        metavar="KEY.PATH=VALUE",
        action="append",
        default=[],
        help="set one value of the resolved config, e.g. `--override optimizer.lr=1e-4` or "
        "`--override trainer.args.max_steps=10` (repeatable; a later one of the same path wins). "
        "KEY.PATH starts at a target or a named node; VALUE is a config value (`1e-4` a float, "
        "`'3'` a string, `[1, 2]` a list, a tagged value). Checked like a template's value "
        "(signature, types); `fgc explain` shows it with the command line as its origin",
    )


def read_overrides(args: argparse.Namespace, saved: list[str] | None = None) -> list[Override]:
    """The `--override`s of a command line (after those a build recorded, `saved`), as
    fgc.passes.overrides.Override; UsageError when one is not KEY.PATH=VALUE."""
    texts = [*(saved or []), *getattr(args, "overrides", [])]
    if not texts:  # the usual case: the overrides module stays unimported
        return []
    from ..passes.overrides import OverrideSyntaxError, parse_overrides

    try:
        return parse_overrides(texts)
    except OverrideSyntaxError as e:
        raise UsageError(str(e)) from None


def add_dynamic_args_option(p: argparse.ArgumentParser) -> None:
    """`-- OPTION ...`: the config's own options, declared by its `dynamic_args` target. main()
    takes the words after `--` off the command line before argparse sees it (an optional
    positional after FILE would swallow nothing, argparse matching it early) and sets
    `args.dynamic_words`; a command without this option refuses them."""
    p.set_defaults(dynamic_words=[])
    p.epilog = (
        "after `--`: options that the config declares in its dynamic_args, passed as template "
        "variables (e.g. `-- --max-steps 100`); `-- --help` lists them"
    )


def add_format_option(p: argparse.ArgumentParser, output: str = "", text: str | None = None) -> None:
    """`--format human|json`; `output`: what the command prints besides diagnostics, in json;
    `text`: the whole help, for a command whose json is not diagnostics."""
    p.add_argument(
        "--format",
        choices=("human", "json"),
        default="human",
        help=text
        or "human: diagnostics as rustc-style text on stderr (the default); json: every line of "
        "stdout is one JSON object (code, severity, message, file, line, col, end_line, end_col, "
        "hint, related), usage errors included (FG0001)" + (f"; {output}" if output else ""),
    )


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, but lines that start with spaces (examples) are kept as written;
    the other lines are wrapped as paragraphs (a blank line separates them)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                out.append(super(HelpFormatter, self)._fill_text(" ".join(paragraph), width, indent))
                paragraph.clear()

        for line in text.splitlines():
            if line.startswith(" ") or not line.strip():
                flush()
                out.append(indent + line if line.strip() else "")
            else:
                paragraph.append(line.strip())
        flush()
        return "\n".join(out)


def add_examples(p: argparse.ArgumentParser, *lines: str) -> None:
    """An `examples:` section at the end of a command's --help (after any other epilog)."""
    examples = "examples:\n" + "\n".join(f"  {line}" for line in lines)
    p.epilog = f"{p.epilog}\n\n{examples}" if p.epilog else examples
    p.formatter_class = HelpFormatter


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


def load_project_or_report(directory: str) -> tuple[Any, list[Diagnostic]]:
    """The project at `directory` (fgc.project.Project); InputDiagnostics when it has errors."""
    from ..project import load_project

    project, diags = load_project(directory)
    if project is None:
        raise InputDiagnostics(diags)
    return project, diags


def read_target(args: argparse.Namespace) -> Input:
    """FILE or PROJECT_DIR [-t CONFIG], -I, -D and the words after `--` of a command line, through
    the one input resolver (a FILE that is a project's config gets the project's search path and
    globals); UsageError when they name nothing to compile."""
    from ..analysis.inputs import InputError, resolve_input

    try:
        return resolve_input(
            args.file,
            getattr(args, "config", None),
            args.include_dirs,
            parse_defines(args.defines),
            getattr(args, "dynamic_words", None) or [],
        )
    except InputError as e:
        raise UsageError(str(e)) from None


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
