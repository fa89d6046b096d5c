"""fgc.cli.module_code: modules are loaded from the kept file only where Python's own import would
load the very same, unchanged source; anything else is imported as usual and the file renewed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from fgc.cli import module_code
from fgc.cli.module_code import kept_module_code

PACKAGE = {
    "kmcpkg/__init__.py": "",
    "kmcpkg/a.py": "VALUE = 'a1'\n",
    "kmcpkg/sub/__init__.py": "from . import b\n",
    "kmcpkg/sub/b.py": "def f():\n    return 'b1'\n",
}
NAMES = ["kmcpkg.a", "kmcpkg.sub", "kmcpkg.sub.b"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    root = tmp_path / "src"
    for rel, text in PACKAGE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(module_code, "OURS", ("kmcpkg.",))
    monkeypatch.setattr(sys, "argv", ["fgc", "check"])
    monkeypatch.syspath_prepend(str(root))
    yield root
    forget()


def forget() -> None:
    for name in [n for n in sys.modules if n == "kmcpkg" or n.startswith("kmcpkg.")]:
        del sys.modules[name]


def load() -> dict[str, str]:
    """Import the package afresh inside the block; which loader each module got."""
    forget()
    import importlib

    with kept_module_code():
        importlib.import_module("kmcpkg")  # a top-level package: never from the kept file
        for name in NAMES:
            importlib.import_module(name)
    return {name: type(sys.modules[name].__loader__).__name__ for name in NAMES}


def kept_file(tree: Path) -> Path:
    (entry,) = (tree.parent / "cache" / module_code.KIND).iterdir()
    return entry


def touch_later(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a new time even on a coarse clock


def test_a_second_run_loads_the_kept_code(tree):
    assert set(load().values()) == {"SourceFileLoader"}
    written = kept_file(tree).stat().st_mtime_ns
    assert set(load().values()) == {"_KeptLoader"}
    assert kept_file(tree).stat().st_mtime_ns == written  # nothing missed: not written again
    a, b = sys.modules["kmcpkg.a"], sys.modules["kmcpkg.sub.b"]
    assert (a.VALUE, b.f()) == ("a1", "b1")
    assert a.__file__ == str(tree / "kmcpkg" / "a.py")
    assert sys.modules["kmcpkg.sub"].__path__ == [str(tree / "kmcpkg" / "sub")]
    assert a.__loader__.get_source("kmcpkg.a") == PACKAGE["kmcpkg/a.py"]  # tracebacks, inspect


def test_an_edited_source_is_imported_anew(tree):
    load()
    touch_later(tree / "kmcpkg" / "a.py", "VALUE = 'a2'\n")
    loaders = load()
    assert loaders["kmcpkg.a"] == "SourceFileLoader" and sys.modules["kmcpkg.a"].VALUE == "a2"
    assert loaders["kmcpkg.sub.b"] == "_KeptLoader"
    assert load()["kmcpkg.a"] == "_KeptLoader" and sys.modules["kmcpkg.a"].VALUE == "a2"  # renewed


def test_a_new_file_beside_a_module_is_looked_at(tree):
    load()
    time.sleep(0.01)
    (tree / "kmcpkg" / "sub" / "c.py").write_text("")  # the directory's listing changed
    os.utime(tree / "kmcpkg" / "sub", ns=(time.time_ns() + 10**9,) * 2)
    loaders = load()
    assert loaders["kmcpkg.sub.b"] == "SourceFileLoader"
    assert loaders["kmcpkg.a"] == "_KeptLoader"


def test_another_copy_of_the_package_is_not_served_the_kept_code(tree, tmp_path, monkeypatch):
    load()
    other = tmp_path / "other"
    for rel, text in PACKAGE.items():
        (other / rel).parent.mkdir(parents=True, exist_ok=True)
        (other / rel).write_text(text.replace("1", "9"))
    monkeypatch.syspath_prepend(str(other))
    loaders = load()
    assert set(loaders.values()) == {"SourceFileLoader"}
    assert sys.modules["kmcpkg.a"].VALUE == "a9"


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe9\x00\x00\x00\x00"])
def test_a_damaged_file_is_a_miss(tree, damage):
    load()
    kept_file(tree).write_bytes(damage)
    assert set(load().values()) == {"SourceFileLoader"}
    assert set(load().values()) == {"_KeptLoader"}  # written anew


def test_looking_for_an_absent_module_writes_nothing(tree):
    load()
    written = kept_file(tree).stat().st_mtime_ns
    import importlib

    with kept_module_code(), pytest.raises(ModuleNotFoundError):
        importlib.import_module("kmcpkg.absent")
    assert kept_file(tree).stat().st_mtime_ns == written


def test_runs_that_import_different_modules_do_not_take_turns_writing(tree):
    import importlib

    def run(name: str) -> None:
        forget()
        with kept_module_code():
            importlib.import_module("kmcpkg")
            importlib.import_module(name)

    run("kmcpkg.a")
    run("kmcpkg.sub.b")  # a module the file lacks: written, with kmcpkg.a kept
    written = kept_file(tree).stat().st_mtime_ns
    run("kmcpkg.a")
    run("kmcpkg.sub.b")
    assert kept_file(tree).stat().st_mtime_ns == written
    assert type(sys.modules["kmcpkg.sub.b"].__loader__).__name__ == "_KeptLoader"
