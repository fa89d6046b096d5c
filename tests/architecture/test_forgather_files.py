"""`forgather_files` is what the compiler and the runtime both import, so it imports neither
(nor anything outside the standard library): a build runs where fgc is missing, and compiling
loads no torch."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forgather_files.atomic import copy_replacing, new_directory, replace, write_text

PACKAGE = Path(__file__).resolve().parents[2] / "forgather_files"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_imports_only_the_standard_library(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [] if node.level else [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", f"{path.name}:{node.lineno} imports {name}"


def test_loading_it_loads_neither_layer():
    probe = "import sys, forgather_files.atomic, forgather_files.model_package; " \
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fgc', 'forgather', 'torch')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_replace_a_directory_by_a_directory_and_a_file_by_a_file(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "a").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "old-only").write_text("old")
    replace(tmp_path / "new", tmp_path / "dst")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]  # no aside directory left
    assert [p.name for p in (tmp_path / "dst").iterdir()] == ["a"]
    (tmp_path / "f.tmp").write_text("2")
    (tmp_path / "f").write_text("1")
    replace(tmp_path / "f.tmp", tmp_path / "f")
    assert (tmp_path / "f").read_text() == "2" and not (tmp_path / "f.tmp").exists()


def test_a_directory_replaces_a_file_and_a_file_a_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "x").write_text("file")
    replace(tmp_path / "d", tmp_path / "x")
    assert (tmp_path / "x").is_dir()
    (tmp_path / "f").write_text("file")
    replace(tmp_path / "f", tmp_path / "x")
    assert (tmp_path / "x").read_text() == "file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_new_directory_replaces_on_success_and_keeps_the_old_on_error(tmp_path):
    dest = tmp_path / "out"
    with new_directory(dest) as tmp:
        (tmp / "one").write_text("1")
    assert [p.name for p in dest.iterdir()] == ["one"]
    with pytest.raises(RuntimeError):
        with new_directory(dest) as tmp:
            (tmp / "two").write_text("2")
            raise RuntimeError("half-way")
    assert [p.name for p in dest.iterdir()] == ["one"]  # the old one, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the temporary one deleted
    with new_directory(dest) as tmp:
        (tmp / "two").write_text("2")
    assert [p.name for p in dest.iterdir()] == ["two"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_text_leaves_no_temporary_and_keeps_the_mode_of_a_new_file(tmp_path):
    path = tmp_path / "record.json"
    write_text(path, "é\n")
    write_text(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_copy_replacing_copies_a_tree_without_pycache(tmp_path):
    source = tmp_path / "src"
    (source / "__pycache__").mkdir(parents=True)
    (source / "m.py").write_text("x = 1")
    (source / "__pycache__" / "m.pyc").write_bytes(b"")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "stale.py").write_text("")
    copy_replacing(source, tmp_path / "dst")
    assert [p.name for p in (tmp_path / "dst").iterdir()] == ["m.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "src"]
