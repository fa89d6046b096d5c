"""The test projects under tests/projects/workspace/, in the reference layout: a workspace
(`forgather_workspace/` with meta_defaults.yaml and base_directories.yaml, a template library in
templatelib/) and projects whose meta.yaml extends it. Every config of every project compiles to
the graph in `<project>/expected/<config>.graph.json` (absolute paths written `$WORKSPACE`), with
exactly the diagnostics of `expected/<config>.diagnostics.txt` (none when absent), then builds
and constructs every target; `expected/<config>.main.txt` holds repr(construct("main")).

FGC_BLESS=1 rewrites the expectations from what the compiler produces (review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fgc.build import load, write_build
from fgc.imports.locate import forget_local_modules
from fgc.pipeline import compile_file
from fgc.project import Project, load_project

WORKSPACE = Path(__file__).resolve().parent / "workspace"
BLESS = os.environ.get("FGC_BLESS") == "1"


def projects() -> list[Path]:
    return sorted(p for p in WORKSPACE.iterdir() if (p / "meta.yaml").is_file())


def configs() -> list[tuple[str, str]]:
    out = []
    for p in projects():
        project, _ = load_project(p)
        assert project is not None, p
        out.extend((p.name, name) for name in project.configs())
    return out


def canonical(value: Any) -> Any:
    """graph.json with the workspace's absolute path written `$WORKSPACE`."""
    if isinstance(value, str):
        return value.replace(str(WORKSPACE), "$WORKSPACE")
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def diagnostic_lines(diagnostics) -> str:
    lines = []
    for d in diagnostics:
        where = os.path.relpath(d.span.file, WORKSPACE) + f":{d.span.line}:{d.span.col}" if d.span else "-"
        lines.append(f"{where}: {d.severity}[{d.code}]")
    return "".join(line + "\n" for line in sorted(lines))


def expect(path: Path, produced: str) -> None:
    if BLESS:
        path.parent.mkdir(exist_ok=True)
        path.write_text(produced, encoding="utf-8")
    assert path.is_file(), f"no expectation {path} (FGC_BLESS=1 writes it)"
    assert produced == path.read_text(encoding="utf-8"), path


def test_at_least_six_projects():
    assert len(projects()) >= 6


def _project(name: str) -> Project:
    project, diags = load_project(WORKSPACE / name)
    assert project is not None and not diags, diags
    return project


@pytest.mark.parametrize("project_name,config", configs())
def test_config_graph_build_construct(project_name, config, tmp_path):
    project = _project(project_name)
    path, missing = project.config_file(config)
    assert path is not None, missing
    expected = WORKSPACE / project_name / "expected"
    stem = config.replace("/", "__")
    comp = compile_file(path, project.include_dirs, {}, globals=project.globals)
    produced = diagnostic_lines(comp.diagnostics)
    diag_file = expected / f"{stem}.diagnostics.txt"
    if produced or diag_file.is_file() or BLESS:
        if BLESS and not produced:
            diag_file.unlink(missing_ok=True)
        else:
            expect(diag_file, produced)
    assert comp.graph is not None
    expect(expected / f"{stem}.graph.json", json.dumps(canonical(comp.graph.to_json()), indent=1) + "\n")
    if not comp.ok:
        return
    forget_local_modules()
    build, failed = write_build(comp, tmp_path / "build")
    assert build is not None, failed
    module = load(build.dir)
    for target in module.TARGETS:
        module.construct(target)
    expect(expected / f"{stem}.main.txt", repr(module.construct("main")) + "\n")


def test_a_statically_linked_build_runs_without_the_siblings_and_without_fgc(tmp_path):
    """linked/train.yaml links three sibling projects; its build runs after the whole workspace
    is deleted, in a process where fgc cannot be imported."""
    import shutil
    import subprocess
    import sys

    workspace = tmp_path / "workspace"
    shutil.copytree(WORKSPACE, workspace, ignore=shutil.ignore_patterns("expected", "__pycache__"))
    project, diags = load_project(workspace / "linked")
    assert project is not None, diags
    path, _ = project.config_file("train.yaml")
    comp = compile_file(path, project.include_dirs, {}, globals=project.globals)
    assert comp.ok, comp.diagnostics
    build, failed = write_build(comp, tmp_path / "build")
    assert build is not None, failed
    shutil.rmtree(workspace)
    script = (
        "import importlib.util, sys\n"
        "sys.modules['fgc'] = None  # importing fgc fails\n"
        f"spec = importlib.util.spec_from_file_location('linked_config', {str(build.dir / 'config.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(repr(module.construct('main')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    expected = (WORKSPACE / "linked" / "expected" / "train.yaml.main.txt").read_text(encoding="utf-8")
    assert done.stdout == expected
