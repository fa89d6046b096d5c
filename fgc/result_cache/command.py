"""Running a command through the result cache: replay a valid entry, else run it fresh with
its inputs recorded and its output captured, and keep the result.

    return run_cached("check", args, {"extra": option}, body)

`body(recorder)` runs the command, reading templates through `recorder.source()` and
signatures through `recorder.signature_cache(...)`, and returns (exit code, recordable):
recordable is False when the result depends on something the recorder did not see (an import
that failed, a compile-time node: `recorder.note_compilation(comp)` says). While it runs, sys.stdout and sys.stderr pass everything
through and keep it, so that a hit prints the same bytes, in the same order, with the same exit
code.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .inputs import InputRecorder, NotRecording

if TYPE_CHECKING:
    from .store import ResultCache

Body = Callable[[InputRecorder], "tuple[int, bool]"]


def run_cached(command: str, args: argparse.Namespace, extra: dict[str, Any], body: Body) -> int:
    cache = entry_for(command, args, extra)
    if cache is None:
        return body(NotRecording())[0]
    code = cache.replay()
    if code is not None:
        return code
    recorder = InputRecorder()
    with captured_output() as outputs:
        code, recordable = body(recorder)
    if recordable:
        cache.store(recorder, outputs, code)
    return code


def _in_a_project(file: str) -> bool:
    """A `meta.yaml` at or above the file's directory: the file may be a project's config, which
    the input resolver compiles with the project's search path and globals (read outside the
    template loader, so not recorded)."""
    return any((d / "meta.yaml").is_file() for d in Path(os.path.abspath(file)).parents)


def entry_for(command: str, args: argparse.Namespace, extra: dict[str, Any]) -> ResultCache | None:
    """The cache entry of this command line; None when caching is off (`--no-cache`,
    FGC_NO_CACHE) or the input is one the cache does not record: a PROJECT_DIR or a file inside
    a project (its meta.yaml files are read outside the template loader), options after `--` (they need a first
    compilation of their own)."""
    if getattr(args, "no_cache", False) or getattr(args, "config", None) is not None:
        return None
    if getattr(args, "dynamic_words", None) or Path(args.file).is_dir() or _in_a_project(args.file):
        return None
    from .store import ResultCache, cache_dir  # JSON and the key's hashing: only when caching

    directory = cache_dir()
    if directory is None:
        return None
    no_color = bool(os.environ.get("NO_COLOR"))
    options = {
        "file": args.file,
        "abs_file": os.path.abspath(args.file),
        "include_dirs": [[d, os.path.abspath(d), os.path.isdir(d)] for d in args.include_dirs],
        "defines": list(args.defines),
        "overrides": list(getattr(args, "overrides", [])),
        "no_import": bool(getattr(args, "no_import", False)),
        "format": getattr(args, "format", "human"),
        "color": [sys.stdout.isatty() and not no_color, sys.stderr.isatty() and not no_color],
        **extra,
    }
    return ResultCache(directory, command, options)


class _Tee:
    """A text stream that writes through to `stream` and appends each write to `log`."""

    def __init__(self, name: str, stream: Any, log: list[tuple[str, str]]) -> None:
        self._name = name
        self._stream = stream
        self._log = log

    def write(self, text: str) -> int:
        if self._log and self._log[-1][0] == self._name:
            self._log[-1] = (self._name, self._log[-1][1] + text)
        else:
            self._log.append((self._name, text))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding...: the real stream's
        return getattr(self._stream, name)


@contextmanager
def captured_output() -> Iterator[list[tuple[str, str]]]:
    """sys.stdout and sys.stderr kept, as (stream name, text) in the order written."""
    log: list[tuple[str, str]] = []
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee("stdout", out, log), _Tee("stderr", err, log)
    try:
        yield log
    finally:
        sys.stdout, sys.stderr = out, err
