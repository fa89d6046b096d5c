"""The on-disk result cache of `fgc check`/`render`/`graph` (fgc/result_cache), through the real
command line in fresh subprocesses, with the cache directory in tmp_path.

A hit must print exactly what a fresh run prints (both streams, byte for byte) with the same
exit code, and any change to an input must miss: a template, a parent, an included file, a
template that would now shadow the one read, a variable, an override, a user module, the fgc
version. Whether a run was a hit is read from whether the compiler was imported at all (a hit
that imported lark or jinja2 would be a regression of the lazy imports, and reads as a miss).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from fgc.result_cache.store import evict

BASE = """\
## base: a wrapper whose width and one argument are variables
-- set w = w | default(10)
[body]
wrap: !singleton:textwrap:TextWrapper
    width: {{ w }}
-- if extra_arg is defined
    {{ extra_arg }}: 1
-- endif
"""
EXPERIMENT = """\
-- extends 'base.fg'
[body]
== super()
local: !singleton:.mod:f
    a: 1
-- include 'part.fg'
"""
PART = """\
extra: !singleton:textwrap:TextWrapper
    bogus: 1
"""
MODULE = "def f(a):\n    return a\n"

# Runs fgc's real entry point, then notes whether the compiler was imported (a miss) or not.
PROBE = textwrap.dedent(
    """
    import sys
    marker, version, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    if version:
        import fgc.version
        fgc.version.__version__ = version
    from fgc.cli.main import main
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(marker, "w") as f:
        heavy = ("fgc.pipeline", "fgc.render", "lark", "jinja2")
        f.write("miss" if any(m in sys.modules for m in heavy) else "hit")
    sys.exit(code)
    """
)


class Project:
    def __init__(self, tmp: Path) -> None:
        self.root = root = tmp / "project"
        self.cache = tmp / "cache"
        self.marker = tmp / "marker"
        # The working directory is on sys.path (`python -c`), so the key holds its stat: an
        # empty one of its own, so that each miss below comes from the input that changed.
        self.cwd = tmp / "cwd"
        self.cwd.mkdir()
        (root / "inc").mkdir(parents=True)
        (root / "base.fg").write_text(BASE)
        (root / "exp.fg").write_text(EXPERIMENT)
        (root / "inc" / "part.fg").write_text(PART)
        (root / "mod.py").write_text(MODULE)
        self.version = ""

    def run(self, *argv: str, env: dict[str, str] | None = None) -> tuple[str, int, str, str]:
        """(hit or miss, exit code, stdout, stderr) of `fgc ARGV` run in the project."""
        marker = self.marker
        marker.unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(marker), self.version, *argv],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "FGC_CACHE_DIR": str(self.cache),
                **(env or {}),
            },
        )
        assert "Traceback" not in done.stderr, done.stderr
        return marker.read_text(), done.returncode, done.stdout, done.stderr

    def entries(self) -> list[Path]:
        results = self.cache / "results"
        return sorted(results.iterdir()) if results.is_dir() else []


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


CHECK = ("check", "../project/exp.fg", "-I", "../project/inc")
COMMANDS = [
    CHECK,
    ("check", "../project/exp.fg", "-I", "../project/inc", "--format", "json"),
    ("check", "../project/exp.fg", "-I", "../project/inc", "--no-import", "--override", "missing.x=1"),
    ("render", "../project/exp.fg", "-I", "../project/inc", "--origins"),
    ("render", "../project/exp.fg", "-I", "../project/inc", "--format", "json"),
    ("graph", "../project/exp.fg", "-I", "../project/inc"),
    ("graph", "../project/exp.fg", "-I", "../project/inc", "--json"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_a_hit_prints_what_the_fresh_run_printed(project: Project, argv: tuple[str, ...]) -> None:
    first = project.run(*argv)
    second = project.run(*argv)
    assert first[0] == "miss" and second[0] == "hit"
    assert second[1:] == first[1:]
    assert first[2] or first[3]  # the comparison is of real output
    assert [p.suffix for p in project.entries()] == [".json"]  # no temporary file left behind


def _edit(name: str, old: str, new: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        path = p.root / name
        path.write_text(path.read_text().replace(old, new, 1))

    return edit


def _shadow(p: Project) -> None:  # the input's directory comes before -I on the search path
    (p.root / "part.fg").write_text("shadow: !singleton:textwrap:TextWrapper\n    width: 3\n")


def _module(p: Project) -> None:  # the same size: only the content says it changed
    (p.root / "mod.py").write_text(MODULE.replace("(a)", "(b)").replace("n a", "n b"))


def _version(p: Project) -> None:
    p.version = "999.0"


# (id, the change, extra command-line words after it, whether the diagnostics change too)
CHANGES: list[tuple[str, Callable[[Project], None] | None, tuple[str, ...], bool]] = [
    ("experiment edited", _edit("exp.fg", "a: 1", "a: 1\n    c: 2"), (), True),
    ("parent edited", _edit("base.fg", "width: {{ w }}", "width: {{ w }}\n    nope: 1"), (), True),
    ("included file edited", _edit("inc/part.fg", "bogus", "tabsize"), (), True),
    ("shadowing template created", _shadow, (), True),
    ("variable changed", None, ("-D", "extra_arg=nope"), True),
    ("override given", None, ("--override", "wrap.nope=1"), True),
    ("user module changed", _module, (), True),
    ("fgc version changed", _version, (), False),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_input_misses(project: Project, change) -> None:
    _, mutate, more, shows = change
    before = project.run(*CHECK)
    assert project.run(*CHECK)[0] == "hit"
    if mutate is not None:
        mutate(project)
    after = project.run(*CHECK, *more)
    assert after[0] == "miss"
    if shows:  # a stale replay would have printed `before`
        assert after[1:] != before[1:]
    fresh = project.run(*CHECK, *more, "--no-cache")
    assert fresh[0] == "miss" and fresh[1:] == after[1:]
    again = project.run(*CHECK, *more)
    assert again[0] == "hit" and again[1:] == after[1:]  # the new result is the one kept


def test_an_installed_module_shadowed_earlier_on_sys_path_misses(project: Project, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "shadowed_mod.py").write_text(MODULE)
    (project.root / "inst.fg").write_text("main: !singleton:shadowed_mod:f\n    a: 1\n")
    env = {"PYTHONPATH": os.pathsep.join([str(second), str(first)])}
    argv = ("check", "../project/inst.fg")
    before = project.run(*argv, env=env)
    assert before[:2] == ("miss", 0) and project.run(*argv, env=env)[0] == "hit"
    (second / "shadowed_mod.py").write_text(MODULE.replace("(a)", "(b)"))  # found first now
    after = project.run(*argv, env=env)
    assert after[0] == "miss" and after[1] == 1 and "unknown argument `a`" in after[3]


def test_no_cache_option_and_environment_variable(project: Project) -> None:
    assert project.run(*CHECK, "--no-cache")[0] == "miss"
    assert project.run(*CHECK, env={"FGC_NO_CACHE": "1"})[0] == "miss"
    assert project.run(*CHECK, env={"FGC_NO_CACHE": "1"})[0] == "miss"
    assert project.entries() == []


@pytest.mark.parametrize(
    "template",
    [
        "stamp: '{{ isotime() }}'\n",  # reads the clock
        "main: !singleton:no_such_module_here:f\n",  # an import failure (FG0601)
        "-- include 'missing.fg'\n",  # a template not found: did-you-mean lists directories
    ],
    ids=["clock", "import failure", "missing template"],
)
def test_results_that_depend_on_unrecorded_inputs_are_not_kept(project: Project, template: str) -> None:
    (project.root / "other.fg").write_text(template)
    first = project.run("check", "../project/other.fg")
    second = project.run("check", "../project/other.fg")
    assert first[0] == second[0] == "miss" and first[1:] == second[1:]
    assert project.entries() == []


def test_a_damaged_entry_is_a_miss(project: Project) -> None:
    first = project.run(*CHECK)
    [entry] = project.entries()
    entry.write_text("{not json")
    again = project.run(*CHECK)
    assert again[0] == "miss" and again[1:] == first[1:]
    assert json.loads(entry.read_text())["exit"] == first[1]  # replaced by a good one


def test_eviction_keeps_the_most_recently_used(tmp_path: Path) -> None:
    for n in range(6):
        path = tmp_path / f"{n}.json"
        path.write_text("x" * 100)
        os.utime(path, ns=(10**18 + n, 10**18 + n))
    evict(tmp_path, max_entries=4, max_bytes=10**6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.json", "3.json", "4.json", "5.json"]
    evict(tmp_path, max_entries=10, max_bytes=250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["4.json", "5.json"]


def test_a_run_whose_result_is_not_kept_records_nothing(monkeypatch, tmp_path: Path) -> None:
    """With the cache off, the command's body reads the disk through the loader's own source and
    the plain signature cache: no template is hashed, no Python file read for a record."""
    import argparse

    from fgc.imports.cache import SignatureCache
    from fgc.loader import DISK
    from fgc.result_cache.command import run_cached
    from fgc.result_cache.signatures import RecordingSignatureCache

    seen = {}

    def body(recorder):
        seen["source"] = recorder.source()
        seen["cache"] = recorder.signature_cache(tmp_path)
        return 0, True

    args = argparse.Namespace(file=str(tmp_path / "exp.fg"), no_cache=True, include_dirs=[], defines=[])
    assert run_cached("check", args, {}, body) == 0
    assert seen["source"] is DISK
    assert type(seen["cache"]) is SignatureCache and not isinstance(seen["cache"], RecordingSignatureCache)
