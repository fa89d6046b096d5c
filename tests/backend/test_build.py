"""The build directory: contents, manifest, layout of sources/ and modules/, atomic replacement,
self-containment, and the resolved config.yaml (which fgc reads back to the same graph)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import black
import pytest

import fgc
from fgc.api import CompileError
from fgc.build import BuildError, modified_files
from fgc.resources import stdlib_dir


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


EXPERIMENT = {
    "exp/experiment.fg": """\
-- extends 'base.fg'
[settings]
    == super()
    depth: !var { name: depth, default: 2 }
""",
    "exp/base.fg": """\
-- include 'common/names.fg'
[settings]
main: !singleton:.model:build
    width: {{ width | default(8) }}
""",
    "exp/model.py": "from .layers import stack\n\ndef build(width, depth):\n    return stack(width, depth)\n",
    "exp/layers.py": "def stack(width, depth):\n    return [width] * depth\n",
    "lib/common/names.fg": 'name: "lib"\n\n',  # include drops one final newline (Jinja)
}


@pytest.fixture
def built(tmp_path):
    write(tmp_path, EXPERIMENT)
    build = fgc.compile(
        tmp_path / "exp/experiment.fg",
        tmp_path / "out",
        include_dirs=[tmp_path / "lib"],
        variables={"width": 3},
    )
    return tmp_path, build


def test_contents_and_construct(built):
    root, build = built
    names = sorted(p.relative_to(build.dir).as_posix() for p in build.dir.rglob("*") if p.is_file())
    assert names == [
        "config.py",
        "config.yaml",
        "fgc-manifest.json",
        "graph.json",
        "modules/layers.py",
        "modules/model.py",
        "sources/base.fg",
        "sources/experiment.fg",
        "sources/include-1/common/names.fg",
    ]
    assert build.targets == {"name": "str", "main": "!singleton:.model:build"}
    assert build.variables == {"depth": {"default": 2, "used_at": ["base.fg:4:12"]}} or list(
        build.variables
    ) == ["depth"]
    config = build.load()
    assert config.construct() == [3, 3]
    assert config.construct("main", depth=4) == [3, 3, 3, 3]
    assert config.construct(("name", "main")) == ("lib", [3, 3])
    assert config.TARGETS == build.targets and config.VARIABLES == build.variables


def test_config_py_is_black_formatted_and_parses(built):
    _, build = built
    text = build.config_py.read_text()
    compile(text, "config.py", "exec")
    assert black.format_str(text, mode=black.Mode(target_versions={black.TargetVersion.PY311})) == text


def test_manifest(built):
    root, build = built
    m = json.loads((build.dir / "fgc-manifest.json").read_text())
    assert m["fgc_version"] == fgc.__version__
    assert m["input"] == "experiment.fg"
    assert m["template_variables"] == {"width": 3}
    assert m["search_path"] == [str(root / "exp"), str(root / "lib"), str(stdlib_dir())]
    assert set(m["sources"]) == {"experiment.fg", "base.fg", "include-1/common/names.fg"}
    for name, entry in m["sources"].items():
        assert entry["sha256"] == sha(Path(entry["path"])) == sha(build.dir / "sources" / name)
    assert set(m["modules"]) == {"model.py", "layers.py"}
    assert m["config_sha256"] == sha(build.config_py)
    for rel, digest in m["files"].items():
        assert sha(build.dir / rel) == digest
    assert m["python"].count(".") == 2
    assert m["targets"] == build.targets and m["variables"] == build.variables


def test_git_commit_and_dirty_flag(tmp_path):
    write(tmp_path, {"exp.fg": "main: 1\n"})
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "exp.fg"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    head = subprocess.run(
        git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    m = json.loads((fgc.compile(tmp_path / "exp.fg", tmp_path / "b1").dir / "fgc-manifest.json").read_text())
    assert m["git"]["commit"] == head and m["git"]["dirty"] is False
    (tmp_path / "exp.fg").write_text("main: 2\n")
    m = json.loads((fgc.compile(tmp_path / "exp.fg", tmp_path / "b2").dir / "fgc-manifest.json").read_text())
    assert m["git"]["dirty"] is True


def test_no_git(tmp_path):
    write(tmp_path, {"exp.fg": "main: 1\n"})
    env_ceiling = os.environ.get("GIT_CEILING_DIRECTORIES")
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path.parent)
    try:
        m = json.loads(
            (fgc.compile(tmp_path / "exp.fg", tmp_path / "b").dir / "fgc-manifest.json").read_text()
        )
    finally:
        if env_ceiling is None:
            os.environ.pop("GIT_CEILING_DIRECTORIES")
        else:
            os.environ["GIT_CEILING_DIRECTORIES"] = env_ceiling
    assert m["git"] is None


def test_same_basename_sources_never_collide(tmp_path):
    write(
        tmp_path,
        {
            "exp.fg": "-- include 'a/part.fg'\n-- include 'b/part.fg'\n",
            "a/part.fg": "x: !singleton:impl.py:f []\n\n",  # relative to the template's directory
            "b/part.fg": "main: !singleton:impl.py:f []\n\n",
            "a/impl.py": "def f():\n    return 'a'\n",
            "b/impl.py": "def f():\n    return 'b'\n",
        },
    )
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "out")
    assert (build.dir / "sources/a/part.fg").read_text() != (build.dir / "sources/b/part.fg").read_text()
    assert {
        p.relative_to(build.dir / "modules").as_posix() for p in (build.dir / "modules").rglob("*.py")
    } == {"a/impl.py", "b/impl.py"}
    assert build.load().construct(("x", "main")) == ("a", "b")


def test_stdlib_sources_are_copied(tmp_path):
    write(tmp_path, {"exp.fg": "-- extends 'optimizers/adamw.fg'\n"})
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "out")
    assert (build.dir / "sources/stdlib/optimizers/adamw.fg").is_file()


def test_replaces_an_old_build_atomically(built):
    root, build = built
    marker = build.dir / "config.py"  # a build's own file (a file of anything else is refused)
    marker.write_text("old")
    again = fgc.compile(root / "exp/experiment.fg", build.dir, include_dirs=[root / "lib"])
    assert again.dir == build.dir and marker.read_text() != "old"
    assert modified_files(build.dir) == []
    leftovers = [p.name for p in build.dir.parent.iterdir() if p.name.startswith(".out")]
    assert leftovers == []


def test_refuses_to_replace_a_directory_that_is_not_a_build(tmp_path):
    write(tmp_path, {"exp.fg": "main: 1\n", "precious/data.txt": "keep me"})
    with pytest.raises(BuildError, match="not an fgc build"):
        fgc.compile(tmp_path / "exp.fg", tmp_path / "precious")
    assert (tmp_path / "precious/data.txt").read_text() == "keep me"


def test_errors_raise_compile_error_and_write_nothing(tmp_path):
    write(tmp_path, {"exp.fg": "main: *missing\n"})
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "out")
    assert [d.code for d in info.value.diagnostics] == ["FG0501"]
    assert "undefined alias" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_modified_build_is_refused_unless_forced(built):
    _, build = built
    text = build.config_py.read_text()
    build.config_py.write_text(text.replace('"lib"', '"hacked"'))
    with pytest.raises(BuildError, match="modified after `fgc compile`: config.py"):
        fgc.load(build.dir)
    assert fgc.load(build.dir, force=True).construct("name") == "hacked"


def test_moved_build_with_sources_deleted_runs(built, tmp_path_factory):
    root, build = built
    dest = tmp_path_factory.mktemp("moved") / "b"
    shutil.move(str(build.dir), dest)
    shutil.rmtree(root / "exp")
    code = f"import fgc; print(fgc.load({str(dest)!r}).construct('main', depth=3))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=dest.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[3, 3, 3]"


def test_config_yaml_annotates_every_line_and_reads_back(tmp_path):
    write(
        tmp_path,
        {
            "exp.fg": """\
-- extends 'base.fg'
[opt]
    == super()
    lr: 0.5
""",
            "base.fg": """\
.define: &shared !singleton:dict@shared { k: [1, 2.5, "s", null, true] }
[opt]
optimizer: &optimizer !partial:dict
    lr: 0.1
    eps: 1.0e-8
    nested: { a: *shared, b: !factory:list [] }
[main]
main: !singleton:dict
    s: *shared
    items: !dlist
        a: 1
        b: ~
        c: !tuple [x, !var { name: n, default: 3 }]
    o: *optimizer
    m: !meta:math:floor [1]
    weird: { "key with spaces": .inf, yes: "no" }
""",
        },
    )
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "out")
    text = (build.dir / "config.yaml").read_text()
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert all("# exp.fg:" in line or "# base.fg:" in line for line in body), text
    assert "  lr: 0.5" in text and "# exp.fg:4" in [line for line in body if "lr:" in line][0]
    # fgc reads the resolved config back to the same graph.
    copy = tmp_path / "again" / "resolved.fg"
    copy.parent.mkdir()
    copy.write_text(text)
    again = fgc.compile(copy, tmp_path / "out2")
    assert json.loads((again.dir / "graph.json").read_text()) == json.loads(
        (build.dir / "graph.json").read_text()
    )


def test_unwritable_destination_is_a_diagnostic(tmp_path):
    write(tmp_path, {"exp.fg": "main: 1\n"})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "compile", str(tmp_path / "exp.fg"), "-o", str(blocker / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "error[FG0702]: cannot write the build" in done.stderr and "internal error" not in done.stderr
