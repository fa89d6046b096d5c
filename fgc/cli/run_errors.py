"""Errors raised while `fgc run` imports, constructs or runs a build, reported as one FG0710
diagnostic at the line the user wrote:

- an exception raised in the user's own module (a local module the build copied into
  `modules/`, or into `model/`) is reported at that module's original file and line, when the
  original is unchanged since compilation (the manifest's sha256), else at the build's copy; the
  build-copy frames are notes;
- otherwise at the template position of the failing node (the generated code's ORIGINS table).
  When the node was written by the template library, the primary position is the user's own
  template line that configures it (the arguments the child wrote, found in `config.yaml`),
  and the library's positions are notes.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, Related, Severity, Span, print_diagnostics

STDLIB_PREFIX = "stdlib/"  # how the build names the template library's files (fgc/build/layout.py)
MAX_USER_NOTES = 3


def source_span(name: str, line: int, col: int, manifest: dict, build_dir: Path) -> Span:
    """The template position, in the user's file if it is unchanged, else in the build's copy."""
    from ..build import sha256_file

    entry = manifest.get("sources", {}).get(name, {})
    path = entry.get("path")
    if not (path and os.path.isfile(path) and sha256_file(path) == entry.get("sha256")):
        path = str(build_dir / "sources" / name)
    return Span(path, line, col, line, col + _token_length(path, line, col))


def _token_length(path: str, line: int, col: int) -> int:
    try:
        text = Path(path).read_text(encoding="utf-8").splitlines()[line - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return 1
    rest = text[col - 1 :]
    return max(1, len(rest.split(None, 1)[0]) if rest.strip() else 1)


# --------------------------------------------------------------------------------------------
# Frames in the user's own modules


@dataclass(frozen=True)
class ModuleFrame:
    copy: str  # the file the build ran
    original: str | None  # the user's file it was copied from, when unchanged
    line: int
    col: int  # 1-based; 1 when unknown
    end_col: int
    function: str


def user_module_frames(exc: BaseException, manifest: dict, build_dir: Path) -> list[ModuleFrame]:
    """Frames of `exc` that ran a copy of a user module, innermost first."""
    from ..build import sha256_file

    modules = manifest.get("modules", {}) or {}
    if not modules:
        return []
    root = Path(build_dir).resolve()
    by_digest = {entry.get("sha256"): entry for entry in modules.values()}
    out = []
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        try:
            rel = Path(frame.filename).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            continue
        entry = modules.get(rel[len("modules/") :]) if rel.startswith("modules/") else None
        if entry is None and rel.endswith(".py"):  # the model package's copies keep the content
            try:
                entry = by_digest.get(sha256_file(frame.filename))
            except OSError:
                entry = None
        if entry is None:
            continue
        original = entry.get("path")
        try:
            unchanged = (
                bool(original) and os.path.isfile(original) and sha256_file(original) == entry.get("sha256")
            )
        except OSError:
            unchanged = False
        line = frame.lineno or 1
        col, end_col = 1, 2
        if frame.colno is not None and frame.end_lineno == frame.lineno:
            col, end_col = frame.colno + 1, max(frame.colno + 2, (frame.end_colno or frame.colno) + 1)
        out.append(
            ModuleFrame(frame.filename, original if unchanged else None, line, col, end_col, frame.name)
        )
    return out


# --------------------------------------------------------------------------------------------
# Template positions: the user's lines that configure a node of the template library

_ORIGIN = re.compile(r"^(?P<text>.*?)\s+# (?P<name>[^#]+):(?P<line>\d+)$")


@dataclass(frozen=True)
class YamlLine:
    indent: int
    text: str
    source: str  # build name of the template
    line: int


def _config_lines(build_dir: Path) -> list[YamlLine]:
    try:
        raw = (Path(build_dir) / "config.yaml").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for text in raw:
        m = _ORIGIN.match(text)
        if m and not text.startswith("#"):
            body = m.group("text")
            out.append(
                YamlLine(len(body) - len(body.lstrip()), body.strip(), m.group("name"), int(m.group("line")))
            )
    return out


def user_lines_for(name: str, line: int, node: str, build_dir: Path, input_name: str) -> list[YamlLine]:
    """The resolved config's lines inside node `node` (written at `name`:`line`) that a user
    template wrote: the input's own lines first, then other templates', in document order."""
    lines = _config_lines(build_dir)
    for i, yl in enumerate(lines):
        if yl.source == name and yl.line == line and node in yl.text:
            inside = []
            for child in lines[i + 1 :]:
                if child.indent <= yl.indent:
                    break
                if not child.source.startswith(STDLIB_PREFIX):
                    inside.append(child)
            seen, unique = set(), []
            for c in inside:
                if (c.source, c.line) not in seen:
                    seen.add((c.source, c.line))
                    unique.append(c)
            return sorted(unique, key=lambda c: c.source != input_name)  # stable: document order kept
    return []


def _key_span(yl: YamlLine, manifest: dict, build_dir: Path) -> Span:
    """The position of the key a config.yaml line names, in its template line."""
    key = yl.text.split(":", 1)[0].strip().lstrip("- ").strip()
    probe = source_span(yl.source, yl.line, 1, manifest, build_dir)
    col = 1
    try:
        text = Path(probe.file).read_text(encoding="utf-8").splitlines()[yl.line - 1]
        found = text.find(key) if key else -1
        col = found + 1 if found >= 0 else len(text) - len(text.lstrip()) + 1
    except (OSError, IndexError, UnicodeDecodeError):
        pass
    s = source_span(yl.source, yl.line, col, manifest, build_dir)
    return Span(s.file, s.line, s.col, s.line, s.col + max(1, len(key))) if key else s


# --------------------------------------------------------------------------------------------


def exception_diagnostic(exc: BaseException, what: str, manifest: dict, build_dir: Path) -> Diagnostic:
    origins = list(getattr(exc, "fgc_origins", []) or [])
    message = f"{what}: {type(exc).__name__}: {exc}"
    span: Span | None = None
    related: list[Related] = []
    hint = None

    frames = user_module_frames(exc, manifest, build_dir)
    if frames:
        f = frames[0]
        span = Span(f.original or f.copy, f.line, f.col, f.line, f.end_col)
        message += f"\n  raised in {f.function}()"
        if f.original is None:
            hint = "the original module changed after `fgc compile`: the position is in the build's copy"
        for g in frames:
            if g is f and f.original is None:
                continue  # the primary position already is this copy
            related.append(
                Related(
                    Span(g.copy, g.line, g.col, g.line, g.end_col),
                    f"the build's copy ran here, in {g.function}()",
                )
            )

    if origins:
        message += f"\n  while building {origins[0][3]}"
        primary = None  # the origin that becomes the primary position
        written: list[Span] = []  # user lines inside a template-library node
        if span is None:
            primary = next((o for o in origins if not o[0].startswith(STDLIB_PREFIX)), None)
            if primary is None:
                for name, line, _col, node in origins:
                    found = user_lines_for(name, line, node, build_dir, manifest.get("input", ""))
                    if found:
                        written = [_key_span(yl, manifest, build_dir) for yl in found[: MAX_USER_NOTES + 1]]
                        span = written.pop(0)
                        message += "\n  (a node of the template library; your template configures it here)"
                        break
            if primary is None and span is None:
                primary = origins[0]  # nothing the user wrote: the library's own line
        for origin in origins:
            name, line, col, node = origin
            s = source_span(name, line, col, manifest, build_dir)
            if origin == primary:
                span = s
            elif name.startswith(STDLIB_PREFIX):
                related.append(Related(s, f"{node}, written in the template library"))
            else:
                related.append(Related(s, f"inside {node}"))
        related.extend(Related(s, "also configured here") for s in written)
    if span is None and not frames:
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            last = tb[-1]
            hint = f"raised at {last.filename}:{last.lineno} in {last.name} (--traceback shows the whole traceback)"
    return Diagnostic("FG0710", Severity.ERROR, message, span, tuple(related), hint)


def report_exception(
    exc: BaseException, what: str, manifest: dict, build_dir: Path, show_traceback: bool
) -> None:
    if show_traceback:
        traceback.print_exception(exc, file=sys.stderr)
    print_diagnostics([exception_diagnostic(exc, what, manifest, build_dir)])
