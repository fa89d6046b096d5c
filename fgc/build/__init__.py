"""The build directory (docs/language.md), written to a temporary directory then renamed into place:

    config.py            the generated module (construct, TARGETS, VARIABLES)
    config.yaml          the resolved config, each line annotated with its origin
    graph.json           the config graph (its format: fgc/graph.py)
    fgc-manifest.json    versions, sources with sha256, search path, variables, git state, hashes
    sources/             the templates used (relative layout kept, see layout.py)
    modules/             local Python modules (imported from here by config.py)
    model/               generated model package of a dynamic_causal_lm node (when there is one;
                         files of compile-time nodes: fgc/codegen/compile_time_node.py)

`load(build_dir)` imports a build's config.py (after checking it against the manifest).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from forgather_files.atomic import new_directory
from forgather_files.runs import RUN_RECORD  # written by `fgc run` into each run directory

from ..version import __version__
from ..diagnostics import Diagnostic, Result, error
from .modules import local_module_files

if TYPE_CHECKING:
    from ..codegen import Generated
    from ..codegen.compile_time_node import CompileTimePlan
    from ..graph import Graph
    from ..imports import Imports
    from .layout import Layout


class _Rendered(Protocol):
    @property
    def templates(self) -> list[Path]: ...  # every template file used


class _Front(Protocol):
    @property
    def render(self) -> _Rendered: ...


class Compiled(Protocol):
    """What the build reads of a compilation: the driver's `fgc.pipeline.Compilation`, which
    the build may not import (the driver is a later stage)."""

    @property
    def ok(self) -> bool: ...
    @property
    def path(self) -> Path: ...
    @property
    def front(self) -> _Front: ...
    @property
    def layout(self) -> Layout: ...
    @property
    def graph(self) -> Graph | None: ...
    @property
    def imports(self) -> Imports | None: ...
    @property
    def compile_time(self) -> CompileTimePlan | None: ...
    @property
    def generated(self) -> Generated | None: ...

MANIFEST = "fgc-manifest.json"


@dataclass
class Build:
    """A written build: its directory, targets and variables (as in config.py)."""

    dir: Path
    targets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)

    @property
    def config_py(self) -> Path:
        return self.dir / "config.py"

    def load(self, force: bool = False) -> ModuleType:
        return load(self.dir, force=force)

    def __repr__(self) -> str:
        return f"Build({str(self.dir)!r}, targets={list(self.targets)}, variables={list(self.variables)})"


class BuildError(Exception):
    """A build directory cannot be read or loaded (`read_manifest`, `load`), or, from the Python
    API (`fgc.compile`), written; carries a diagnostic. Writing one (`write_build`) is the last
    stage of the compiler and returns its diagnostics instead."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _git_state(directory: str, files: list[str]) -> dict | None:
    """Commit and dirty flag of the git work tree holding `directory` (None outside git)."""
    import subprocess  # here, as platform and config_yaml below: `fgc check` and `fgc graph` read this package for its layout only

    try:
        top = subprocess.run(
            ["git", "-C", directory, "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        if top.returncode != 0:
            return None
        root, commit = top.stdout.split()[:2]
        inside = [f for f in files if not os.path.relpath(f, root).startswith("..")]
        status = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", *inside],
            capture_output=True, text=True, timeout=10,
        )
        return {"root": root, "commit": commit, "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _package_versions(imports: Imports, plan: CompileTimePlan) -> dict[str, str | None]:
    from ..imports.cache import distribution_version
    from ..imports.specs import Form

    tops = set()
    for node, spec in imports.specs.items():
        loc = imports.locations.get(node)
        if spec.form == Form.MODULE and spec.module and not (loc and loc.is_local):
            tops.add(spec.module.split(".")[0])
    versions = {t: distribution_version(t) for t in sorted(tops)}
    for planned in plan.planned.values():
        for name in planned.distributions:
            versions.setdefault(name, distribution_version(name))
    return versions


def _is_build(path: Path) -> bool:
    return (path / MANIFEST).is_file()




def foreign_files(path: Path) -> list[str]:
    """Files under `path` that are not part of the build its manifest describes (a run
    directory's weights and logs, a user's notes); Python's __pycache__ files do not count."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    known = {MANIFEST, *manifest.get("files", {}), *(f"sources/{n}" for n in manifest.get("sources", {}))}
    foreign = []
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path).as_posix()
        if "__pycache__" in item.relative_to(path).parts or item.is_dir() and not item.is_symlink():
            continue
        if rel not in known:
            foreign.append(rel)
    return foreign


def _refuse_to_replace(out: Path) -> Diagnostic | None:
    """Why `out` may not be replaced, unless it is absent, empty, or holds a build and nothing
    else (nothing is lost)."""
    if not out.exists() and not out.is_symlink():
        return None
    if out.is_symlink():
        # e.g. a runs/<name>/latest pointer: replacing it would not replace what it points at
        return error(
            "FG0701",
            f"`{out}` is a symbolic link (to `{os.readlink(out)}`); refusing to replace it",
            hint="choose another -o directory",
        )
    if not out.is_dir():
        return error("FG0701", f"`{out}` exists and is not a directory; refusing to replace it", hint="choose another -o directory")
    if not any(out.iterdir()):
        return None
    if (out / RUN_RECORD).exists():
        return error(
            "FG0701",
            f"`{out}` is a run directory (it holds {RUN_RECORD}); refusing to replace it",
            hint="choose another -o directory; `fgc run` accepts a run directory as it is",
        )
    if not _is_build(out):
        return error("FG0701", f"`{out}` exists and is not an fgc build; refusing to replace it", hint="choose another -o directory")
    extra = foreign_files(out)
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        return error(
            "FG0701",
            f"`{out}` holds files that are not part of its build ({shown}); refusing to replace it",
            hint="choose another -o directory, or move those files away",
        )
    return None


class _NotWritten(Exception):
    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__()
        self.diagnostics = diagnostics


def write_build(
    comp: Compiled,
    out_dir: str | Path,
    variables: dict[str, Any] | None = None,
    globals: dict[str, Any] | None = None,
    recompiled_from: tuple[Path, dict[str, Any]] | None = None,
) -> Result[Build | None]:
    """Write the build of a successful compilation to `out_dir` (replacing an older build there).
    `globals` are the environment globals it rendered with (a project's), kept in the manifest so
    that a recompile from the saved sources renders the same. `recompiled_from` is (the build or
    run directory, its manifest) when the compilation read that directory's saved sources: the new
    manifest then names the original files, not the temporary copies compiled.

    Replaces only a directory that holds a build and nothing else: a run directory or any
    directory with other files is refused (FG0701) and left as it is. The build is None when it
    could not be written (the diagnostics say why; nothing was changed then).
    """
    assert comp.ok and comp.generated is not None, "write_build needs a compilation without errors"
    out = Path(out_dir).absolute()
    refused = _refuse_to_replace(out)
    if refused is not None:
        return Result(None, [refused])
    try:
        with new_directory(out) as tmp:
            failed = _write_contents(comp, tmp, variables or {}, globals or {}, recompiled_from)
            if failed:
                raise _NotWritten(failed)  # the temporary directory goes, the old build stays
    except _NotWritten as e:
        return Result(None, e.diagnostics)
    except OSError as e:
        return Result(None, [error("FG0702", f"cannot write the build `{out}`: {unwritable_reason(out, e)}")])
    return Result(Build(out, dict(comp.generated.targets), dict(comp.generated.variables)), [])


def unwritable_reason(path: Path, e: OSError) -> str:
    """Why a directory cannot be made at `path`, in words: a file where a directory is needed
    (`-o FILE/build`), else the operating system's reason and the path it names."""
    blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return f"`{blocker}` is a file, not a directory"
    where = f" (`{e.filename}`)" if e.filename and str(e.filename) != str(path) else ""
    return f"{e.strerror or type(e).__name__}{where}"


def _jsonable_globals(values: dict[str, Any]) -> dict[str, Any]:
    """`uname` (platform.uname_result, or fgc.project.globals' of the same fields) by its field
    names, the processor included; the rest is plain data already."""
    out = dict(values)
    uname = out.get("uname")
    if isinstance(uname, tuple) and hasattr(uname, "_fields"):
        out["uname"] = {**dict(zip(uname._fields, uname)), "processor": getattr(uname, "processor", "")}
    return out


def _write_contents(
    comp: Compiled,
    root: Path,
    template_vars: dict[str, Any],
    template_globals: dict[str, Any],
    recompiled_from: tuple[Path, dict[str, Any]] | None = None,
) -> list[Diagnostic]:
    """Write the build's files into `root`; the diagnostics of a compile-time node's files that
    could not be written."""
    import platform

    from .config_yaml import resolved_yaml

    layout, graph, imports, plan, generated = comp.layout, comp.graph, comp.imports, comp.compile_time, comp.generated
    assert graph is not None and imports is not None and plan is not None and generated is not None
    hashes: dict[str, str] = {}

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def copy(src: str, rel: str) -> None:
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)

    write("config.py", generated.text)
    write("graph.json", json.dumps(graph.to_json(), indent=1, ensure_ascii=False) + "\n")
    title = layout.source_name(str(comp.path))
    write("config.yaml", resolved_yaml(plan.graph, layout.source_name, title))

    # sources/
    templates = [str(Path(p).absolute()) for p in comp.front.render.templates]
    if str(comp.path.absolute()) not in templates:
        templates.insert(0, str(comp.path.absolute()))
    sources: dict[str, dict] = {}
    for template in dict.fromkeys(templates):
        name = layout.source_name(template)
        copy(template, f"sources/{name}")
        sources[name] = {"path": template, "sha256": sha256_file(template)}

    # modules/
    module_files = local_module_files(imports.local_locations())
    modules: dict[str, dict] = {}
    for src, owner_root in sorted(module_files.items()):
        rel = f"{layout.module_dir_name(owner_root)}/{os.path.relpath(src, owner_root)}".replace(os.sep, "/")
        rel = os.path.normpath(rel).replace(os.sep, "/")
        copy(src, f"modules/{rel}")
        modules[rel] = {"path": src, "sha256": sha256_file(src)}

    # what compile-time nodes add (model/ of a dynamic_causal_lm)
    for planned in plan.planned.values():
        failed = planned.write_files(root)
        if failed:
            return failed

    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            if not rel.startswith("sources/"):
                hashes[rel] = sha256_file(path)

    search_path = [str(p) for p in layout.search.roots]
    manifest = {
        "fgc_manifest": 1,
        "fgc_version": __version__,
        "input": title,
        "input_path": str(comp.path.absolute()),
        "search_path": search_path,
        "template_variables": template_vars,
        "overrides": [applied.override.text for applied in getattr(comp, "overrides", ())],
        **({"template_globals": _jsonable_globals(template_globals)} if template_globals else {}),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": _package_versions(imports, plan),
        "git": _git_state(layout.input_dir, [s["path"] for s in sources.values()] + [m["path"] for m in modules.values()]),
        "sources": sources,
        "modules": modules,
        "targets": generated.targets,
        "variables": generated.variables,
        "config_sha256": hashes["config.py"],
        "files": hashes,
    }
    if recompiled_from is not None:
        _name_the_original_files(manifest, *recompiled_from)
    write(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False, default=str) + "\n")
    return []


def _name_the_original_files(manifest: dict[str, Any], saved_dir: Path, original: dict[str, Any]) -> None:
    """A recompile read temporary copies of `saved_dir`'s sources: name the files they were
    copied from (where the bytes are the same), the original search path and git state."""
    manifest["recompiled_from"] = str(saved_dir.absolute())
    for key in ("input_path", "search_path", "git"):
        if key in original:
            manifest[key] = original[key]
    for section in ("sources", "modules"):
        before = original.get(section) or {}
        for name, entry in manifest[section].items():
            old = before.get(name)
            if isinstance(old, dict) and old.get("sha256") == entry.get("sha256") and "path" in old:
                entry["path"] = old["path"]


def read_manifest(build_dir: str | Path) -> dict:
    path = Path(build_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(error("FG0703", f"`{build_dir}` is not an fgc build (no {MANIFEST})", hint="run `fgc compile FILE -o DIR` first")) from None
    except (OSError, ValueError) as e:
        raise BuildError(error("FG0703", f"cannot read {path}: {e}")) from None


def modified_files(build_dir: str | Path, manifest: dict | None = None) -> list[str]:
    """Files of the build (config.py, modules/, model/) that no longer match the manifest."""
    build_dir = Path(build_dir)
    manifest = manifest or read_manifest(build_dir)
    changed = []
    for rel, digest in manifest.get("files", {}).items():
        path = build_dir / rel
        if not path.is_file() or sha256_file(path) != digest:
            changed.append(rel)
    return changed


def load(build_dir: str | Path, force: bool = False) -> ModuleType:
    """Import a build's config.py. Refuses a build whose files no longer match its manifest
    (someone edited the generated code) unless `force`."""
    build_dir = Path(build_dir).absolute()
    manifest = read_manifest(build_dir)
    if not force:
        changed = modified_files(build_dir, manifest)
        if changed:
            raise BuildError(
                error(
                    "FG0704",
                    f"the build in `{build_dir}` was modified after `fgc compile`: {', '.join(changed)}",
                    hint="recompile it, or pass --force (force=True) to use it as it is",
                )
            )
    digest = hashlib.sha1(str(build_dir).encode()).hexdigest()[:12]
    name = f"_fgc_config_{digest}"
    spec = importlib.util.spec_from_file_location(name, build_dir / "config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
