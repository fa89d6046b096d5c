"""One experiment for the tools that read a resolved config (fgc explain, fgc diff): an
experiment file (or PROJECT_DIR), a build directory or a run directory, compiled to its graph.

A build or run directory is compiled again from the sources it saved, with the `-D` variables
and `--override`s it recorded (fgc/build/saved_sources.py), so that what it built is what is
read, even when the templates have changed since. Positions in saved sources are shown under
the directory's `sources/` (`build/sources/experiment.fg:12`), real files where they lie.
"""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from forgather_files.runs import MANIFEST, RUN_RECORD

from .. import pipeline
from ..diagnostics import Diagnostic, Span, display_path
from .common import InputDiagnostics, UsageError, parse_defines, read_overrides, read_target


@dataclass
class Experiment:
    """A compiled experiment and how to show its positions."""

    label: str  # as given on the command line
    comp: pipeline.Compilation
    where: Callable[[Span], str]  # `file:line` as the user can open it
    lines: Callable[[Span], str]  # the source line of a span, stripped ("" when unknown)
    diagnostics: list[Diagnostic]
    variables: dict[str, Any] = field(default_factory=dict)  # the -D (and recorded) variables

    @property
    def ok(self) -> bool:
        return self.comp.ok and self.comp.graph is not None


def is_saved_dir(path: Path) -> bool:
    """A build or run directory (it has a manifest or a run record)."""
    return path.is_dir() and any((path / f).is_file() for f in (MANIFEST, RUN_RECORD))


def _reader(comp: pipeline.Compilation) -> Callable[[Span], str]:
    """The source line of a span; an override's own text for the command line."""
    from ..passes.overrides import COMMAND_LINE

    cache: dict[str, list[str]] = {}
    given = {a.override.index: f"--override {a.override.text}" for a in comp.overrides}

    def line(span: Span) -> str:
        if span.file == COMMAND_LINE:
            return given.get(span.line, "")
        if span.file not in cache:
            try:
                cache[span.file] = Path(span.file).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                cache[span.file] = []
        lines = cache[span.file]
        return lines[span.line - 1].strip() if 1 <= span.line <= len(lines) else ""

    return line


def _plain_where(span: Span) -> str:
    return f"{display_path(span.file)}:{span.line}"


@contextmanager
def load_experiment(
    spec: str, args: argparse.Namespace, import_modules: bool = False
) -> Iterator[Experiment]:
    """Compile `spec` to its graph (`import_modules`: through imports and signatures too) with
    the command line's -I, -D, -t and --override; a saved directory's temporary tree lives as
    long as the context."""
    options: dict[str, Any] = dict(import_modules=import_modules, stop_after="imports" if import_modules else "graph")
    path = Path(spec)
    if is_saved_dir(path):
        from ..build import BuildError
        from ..build.saved_sources import saved_input

        try:
            with saved_input(path) as saved:
                variables = {**saved.variables, **parse_defines(args.defines)}
                overrides = read_overrides(args, saved.overrides)
                comp = pipeline.compile_file(
                    saved.path,
                    [*saved.include_dirs, *args.include_dirs],
                    variables,
                    globals=saved.globals or None,
                    overrides=overrides,
                    **options,
                )
                tree = str(saved.path.parent)
                sources = path / "sources"

                def where(span: Span) -> str:
                    rel = os.path.relpath(span.file, tree)
                    if not rel.startswith(".."):
                        return f"{display_path(str(sources / rel))}:{span.line}"
                    return _plain_where(span)

                yield Experiment(spec, comp, where, _reader(comp), list(comp.diagnostics), variables)
        except BuildError as e:
            raise InputDiagnostics([e.diagnostic]) from None
        return
    if not path.exists():
        raise UsageError(f"no such experiment file, build or run directory: {spec}")
    ns = argparse.Namespace(**{**vars(args), "file": spec})
    inp = read_target(ns)
    comp = pipeline.compile_file(
        inp.path, inp.include_dirs, inp.variables, globals=inp.globals, overrides=read_overrides(args), **options
    )
    yield Experiment(spec, comp, _plain_where, _reader(comp), [*inp.diagnostics, *comp.diagnostics], inp.variables)

