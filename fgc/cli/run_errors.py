"""Errors raised while `fgc run` imports, constructs or runs a build, reported as diagnostics
at the template position that wrote the failing node (the manifest maps build copies back)."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from ..diagnostics import Diagnostic, Related, Severity, Span, print_diagnostics


def source_span(name: str, line: int, col: int, manifest: dict, build_dir: Path) -> Span:
    """The template position, in the user's file if it is unchanged, else in the build's copy."""
    from ..build import sha256_file

    entry = manifest.get("sources", {}).get(name, {})
    path = entry.get("path")
    if not (path and os.path.isfile(path) and sha256_file(path) == entry.get("sha256")):
        path = str(build_dir / "sources" / name)
    end = col + 1
    try:
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1]
        rest = text[col - 1 :]
        end = col + max(1, len(rest.split(None, 1)[0]) if rest.strip() else 1)
    except (OSError, IndexError):
        pass
    return Span(path, line, col, line, end)


def report_exception(exc: BaseException, what: str, manifest: dict, build_dir: Path, show_traceback: bool) -> None:
    origins = list(getattr(exc, "fgc_origins", []) or [])
    message = f"{what}: {type(exc).__name__}: {exc}"
    span = None
    related = []
    for i, (name, line, col, node) in enumerate(origins):
        s = source_span(name, line, col, manifest, build_dir)
        if i == 0:
            span = s
            message += f"\n  while building {node}"
        else:
            related.append(Related(s, f"inside {node}"))
    hint = None
    if not origins:
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            f = frames[-1]
            hint = f"raised at {f.filename}:{f.lineno} in {f.name} (--traceback shows the whole traceback)"
    if show_traceback:
        traceback.print_exception(exc, file=sys.stderr)
    print_diagnostics([Diagnostic("FG0710", Severity.ERROR, message, span, tuple(related), hint)])
