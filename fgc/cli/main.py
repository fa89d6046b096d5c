"""Entry point of the `fgc` command.

Exit codes: 0 clean, 1 errors in the input, 2 bad command line, 3 internal error.
Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from typing import NoReturn

from ..version import __version__

# Subcommand name -> module under fgc.cli, in --help order.
COMMANDS = {
    "check": "check",
    "render": "render",
    "parse": "parse",
    "compile": "compile",
    "graph": "graph",
    "explain": "explain",
    "diff": "diff",
    "targets": "targets",
    "vars": "vars",
    "run": "run",
    "ctl": "ctl",
    "sweep": "sweep",
    "convert": "convert",
    "serve": "serve",
    "new": "new",
    "ls": "ls",
    "lsp": "lsp",
}

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

# Commands that run user code or serve for long: they keep Python's garbage-collector settings.
LONG_RUNNING = frozenset({"run", "ctl", "sweep", "serve", "lsp"})


def requested_format(argv: list[str]) -> str:
    """The `--format` of a command line, read before argparse (which may reject the rest)."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--format" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--format="):
            return arg.split("=", 1)[1]
    return "human"


class _Parser(argparse.ArgumentParser):
    output_format = "human"  # set by main() from the command line

    def error(self, message: str):  # argparse's default exit code is already 2; keep the text short
        if _Parser.output_format == "json":
            from .common import usage_error

            usage_error(f"{self.prog}: {message}", "json")
            self.exit(EXIT_USAGE)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of `only` (the command being run: the other modules,
    and what they import, stay unimported; `fgc check` starts in a few tens of milliseconds)."""
    parser = _Parser(
        prog="fgc",
        description=(
            "fgc, the Forgather compiler: compiles YAML + Jinja2 experiment templates into a "
            "Python module and runs it."
        ),
        epilog=(
            "typical use:\n"
            "  fgc check exp.fg            report problems with file:line:col\n"
            "  fgc compile exp.fg -o build  write build/ (config.py, manifest, sources)\n"
            "  fgc run build                construct the `main` target and run it\n"
            "\nexit codes: 0 clean, 1 errors in the input, 2 bad command line, 3 internal error"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fgc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(f"fgc.cli.{module}")
        except ModuleNotFoundError as e:
            if e.name != f"fgc.cli.{module}":
                raise
            continue  # not built yet
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None and not (len(sys.argv) > 1 and sys.argv[1] in LONG_RUNNING):
        # A command that compiles and exits keeps almost everything it allocates (modules,
        # trees) to the end: the collector's young-generation passes over them are wasted
        # work, about 5% of `fgc check`. Collect rarely (the thresholds mypy's command uses);
        # only in the `fgc` process itself, never for a caller of main(argv).
        gc.set_threshold(200_000, 30, 30)
        # Its modules' code read from one file, its dataclasses' methods from code compiled by
        # an earlier run (20-35 ms of a command), its regular expressions from programs
        # compiled by an earlier run (about 10 ms).
        from .dataclass_code import kept_dataclass_code
        from .module_code import kept_module_code
        from .regex_code import kept_regex_code

        with kept_module_code(), kept_dataclass_code(), kept_regex_code():
            rc = _run(sys.argv[1:])
        _exit_without_teardown(rc)
    return _run(sys.argv[1:] if argv is None else list(argv))


def _exit_without_teardown(rc: int) -> NoReturn:
    """End the `fgc` process now: the exit handlers run and the standard streams are flushed,
    and the interpreter's teardown (freeing every module and object one by one, about 20 ms of
    `fgc check`) is skipped, as mypy's fast exit does. Every file fgc writes is closed by then
    (written with `with`, or atomically); a live non-daemon thread gets Python's own exit."""
    import threading

    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(rc)
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that went away; a closed stream
            pass
    os._exit(rc)


def _run(argv: list[str]) -> int:
    fmt = _Parser.output_format = requested_format(argv)
    # The words after `--` are the config's own options (its dynamic_args, fgc/cli/common.py).
    words = argv[argv.index("--") + 1 :] if "--" in argv else None
    if words is not None:
        argv = argv[: argv.index("--")]
    # `fgc COMMAND ...` needs COMMAND's module only; anything else (--help, a typo) all of them.
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    from .common import InputDiagnostics, UsageError, report, usage_error

    fmt = getattr(args, "format", fmt)
    if words is not None:
        if not hasattr(args, "dynamic_words"):
            return usage_error(f"fgc {args.command}: takes no options after `--`", fmt)
        args.dynamic_words = words
    try:
        return int(args.handler(args) or 0)
    except UsageError as e:  # a bad FILE, -D or --set: one line, exit code 2
        return usage_error(str(e), fmt)
    except InputDiagnostics as e:  # a project that cannot be read: its diagnostics, exit code 1
        return report(e.diagnostics, fmt)
    except KeyboardInterrupt:
        print("fgc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in fgc, never the user's input
        import traceback

        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        if fmt == "json":
            from ..diagnostics import error, render_json
            from .common import INTERNAL_CODE

            message = f"internal error: {type(exc).__name__}: {exc} (at {where}; fgc {__version__})"
            sys.stdout.write(
                render_json([error(INTERNAL_CODE, message, hint="this is a bug in fgc; please report it")])
            )
        print(
            f"fgc: internal error: {type(exc).__name__}: {exc}\n"
            f"  at {where}\n"
            f"  fgc {__version__}, Python {sys.version.split()[0]}\n"
            "  This is a bug in fgc; please report it with the command and input that caused it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
