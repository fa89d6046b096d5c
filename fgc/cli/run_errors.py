"""Errors raised while `fgc run` imports, constructs or runs a build, reported as one FG0710
diagnostic at the line the user wrote:

- an exception raised in the user's own module (a local module the build copied into
  `modules/`, or into `model/`) is reported at that module's original file and line, when the
  original is unchanged since compilation (the manifest's sha256), else at the build's copy; the
  build-copy frames are notes;
- otherwise at the origin of the value that caused it (fgc/cli/value_origins.py): the failing
  object is the node being built (the generated code's ORIGINS table), or, for an error raised
  later (a forward, a callback, a collator), the innermost `self` of the traceback that the
  config built (the generated module's registry, else its class); the arguments the message
  names (their keyword or value), else the one given on the command line, are followed back to
  `--set`, `-D`, the knob's `-- set` line or the key; with none, the error is at the tag that
  built the object. The tag and the innermost Python frames are notes.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, Related, Severity, Span, print_diagnostics



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
# Which object failed, and where the values it was given came from


def failing_objects(exc: BaseException, build_dir: Path) -> list[tuple[str, int, int] | str]:
    """Where the object that raised was built, innermost first. The frames below the generated
    code (a node's constructor, a forward, a callback, a collator) give each `self`: its tag
    when the config's registry knows it (`built_origin`: an object a named node built), else
    its class name; then the nodes being constructed (`fgc_origins`, written by the generated
    code) from the innermost out."""
    config_file = str((Path(build_dir) / "config.py").resolve())
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    generated = [i for i, f in enumerate(frames) if os.path.realpath(f.f_code.co_filename) == config_file]
    lookup = getattr(_config_module(build_dir), "built_origin", None)
    out: list[tuple[str, int, int] | str] = []
    for frame in reversed(frames[generated[-1] + 1 :] if generated else frames):
        obj = frame.f_locals.get("self")
        if obj is None:
            continue
        origin = lookup(obj) if lookup is not None else None
        if origin is not None:
            out.append((origin[0], origin[1], origin[2]))
            break
        name = type(obj).__name__
        if name not in out:
            out.append(name)
    out.extend((name, line, col) for name, line, col, _ in getattr(exc, "fgc_origins", []) or [])
    return out


def _config_module(build_dir: Path):
    """The build's config.py as `fgc run` imported it (fgc.build.load), if it is loaded."""
    target = (Path(build_dir) / "config.py").resolve()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve() == target and hasattr(module, "construct"):
            return module
    return None


def run_sets(build_dir: Path) -> dict:
    """The `--set` values of this run: those its run record holds (`$FGC_RUN_DIR`, when that run
    was made from this build: `fgc run RUN_DIR` repeats them), then this command line's."""
    from forgather_files.runs import RUN_DIR_ENV, read_record

    from .common import parse_scalar

    out: dict = {}
    run_dir = os.environ.get(RUN_DIR_ENV)
    data = read_record(run_dir) if run_dir else {}
    try:
        build = data.get("build") or {}
        made_from = build.get("dir") if isinstance(build, dict) else build
        if made_from and Path(made_from).resolve() == Path(build_dir).resolve():
            out.update(data.get("sets") or {})
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    argv = sys.argv[1:]
    for i, word in enumerate(argv):
        item = argv[i + 1] if word == "--set" and i + 1 < len(argv) else word[6:] if word.startswith("--set=") else None
        if item and "=" in item:
            name, _, text = item.partition("=")
            out[name.strip()] = parse_scalar(text)
    return out


# Frames that only pass a call on (torch's module call), never where a problem is.
_PLUMBING = frozenset({"_call_impl", "_wrapped_call_impl"})


def python_frames(exc: BaseException, build_dir: Path, limit: int = 3) -> list[Related]:
    """The innermost Python frames (not the generated config.py) as notes."""
    import sysconfig

    config = str((Path(build_dir) / "config.py").resolve())
    # Python's own frames (functools) and fgc's (the command) say nothing about the config
    skip = (os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep, str(Path(__file__).resolve().parents[1]) + os.sep)
    out = []
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename or frame.filename.startswith("<"):
            continue
        real = os.path.realpath(frame.filename)
        if real == config or real.startswith(skip) or frame.name in _PLUMBING:
            continue
        line = frame.lineno or 1
        col, end = 1, 2
        if frame.colno is not None and frame.end_lineno == frame.lineno:
            col, end = frame.colno + 1, max(frame.colno + 2, (frame.end_colno or frame.colno) + 1)
        out.append(Related(Span(frame.filename, line, col, line, end), f"raised in {frame.name}()"))
        if len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------------------------


def exception_diagnostic(exc: BaseException, what: str, manifest: dict, build_dir: Path) -> Diagnostic:
    from .value_origins import attribute

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
        hint = hint or _relative_import_hint(exc, manifest)

    def to_build(name: str, line: int, col: int) -> Span:
        return source_span(name, line, col, manifest, build_dir)

    found = None
    try:
        candidates = failing_objects(exc, build_dir)
        found = attribute(build_dir, to_build, str(exc), run_sets(build_dir), candidates) if candidates else None
    except Exception:  # a bug of the attribution must not lose the report of the user's error
        found = None
    if found is not None:
        constructed = [(n, line, col) for n, line, col, _ in origins]
        if what.startswith("building"):
            message += f"\n  while building {found.what}"
        elif found.candidate in constructed and found.what.startswith(("!partial", "!lambda")):
            message += f"\n  in a call of {found.what}"  # the partial itself, called at run time
        else:
            message += f"\n  in the object built by {found.what}"
        for i, suspect in enumerate(found.suspects):
            top = suspect.chain[0] if suspect.chain else None
            if top is None:
                continue
            if i == 0 and span is None:
                if top.span is None:
                    message += f"\n  the value of `{suspect.argument}` ({suspect.value}) comes from `{top.text}`"
                else:
                    span = top.span
                    message += f"\n  the value of `{suspect.argument}` ({suspect.value}) is set here"
                rest = suspect.chain[1:]
            else:
                rest = suspect.chain
                if top.span is None:
                    message += f"\n  the value of `{suspect.argument}` ({suspect.value}) comes from `{top.text}`"
                    rest = suspect.chain[1:]
            related.extend(
                Related(p.span, f"`{suspect.argument}` is written here" if p is suspect.chain[-1] else f"`{suspect.argument}` gets its value here")
                for p in rest
                if p.span is not None
            )
        related.extend(
            Related(s.chain[0].span, f"`{s.argument}` ({s.value}) is given here")
            for s in found.context
            if s.chain and s.chain[0].span is not None
        )
        if span is None:
            span = found.tag.span  # nothing of the value is known: the tag that built the object
        elif found.tag.span is not None:
            related.append(Related(found.tag.span, f"{found.what}, the tag that built it"))
    elif origins:  # the sources could not be compiled again: the node's own position
        name, line, col, node = origins[0]
        if span is None:
            span = source_span(name, line, col, manifest, build_dir)
        else:
            related.append(Related(source_span(name, line, col, manifest, build_dir), f"inside {node}"))
        message += f"\n  while building {node}"
    for name, line, col, node in origins[1:3]:  # the nodes around it
        related.append(Related(source_span(name, line, col, manifest, build_dir), f"inside {node}"))
    if not frames:
        related.extend(python_frames(exc, build_dir))
        if span is None and related:
            hint = "the Python frames above are the innermost (`fgc run --traceback` shows the whole traceback)"
    return Diagnostic("FG0710", Severity.ERROR, message, span, tuple(related), hint)


def _relative_import_hint(exc: BaseException, manifest: dict) -> str | None:
    """A user module that imports a sibling by its plain name (fgc.imports.locate)."""
    missing = getattr(exc, "name", None)
    if not isinstance(exc, ModuleNotFoundError) or not missing:
        return None
    top = missing.split(".")[0]
    if any(Path(rel).stem == top or rel.split("/")[0] == top for rel in (manifest.get("modules") or {})):
        return f"`{top}` is a module of the build: a local module imports its siblings relatively, `from .{missing} import ...`"
    return None


def report_exception(
    exc: BaseException, what: str, manifest: dict, build_dir: Path, show_traceback: bool
) -> None:
    end_progress_bars()
    if show_traceback:
        traceback.print_exception(exc, file=sys.stderr)
    print_diagnostics([exception_diagnostic(exc, what, manifest, build_dir)])


def end_progress_bars() -> None:
    """Close the progress bars the run left open (tqdm's, when the run imported it), so that the
    report starts on a line of its own instead of after the bar's last update."""
    module = sys.modules.get("tqdm")
    bars = getattr(getattr(module, "tqdm", None), "_instances", None)
    if not bars:
        return
    for bar in list(bars):
        try:
            bar.close()
        except Exception:  # a bar that cannot close is no reason to lose the report
            pass
    sys.stderr.flush()
