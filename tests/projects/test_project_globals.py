"""A project's globals answer what the reference's (platform's) answer: `uname` and `hostname`
are read from os.uname without importing platform, `versions` without importlib.metadata."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from fgc.project.globals import installed_versions, project_globals, uname


def test_uname_is_platforms():
    ours, theirs = uname(), platform.uname()
    assert tuple(ours) == tuple(theirs)[:5]  # platform's iteration adds the processor
    assert repr(ours) == repr(theirs)
    assert ours.system == theirs.system and ours.node == theirs.node and ours.machine == theirs.machine
    assert ours.processor == theirs.processor


def test_hostname_and_python_version(tmp_path: Path):
    g = project_globals(tmp_path, tmp_path)
    assert g["hostname"] == platform.node()
    assert installed_versions()["python"] == platform.python_version()


@pytest.mark.parametrize("dist", ["jinja2", "lark"])
def test_versions_are_the_metadatas(dist):
    from importlib import metadata

    from fgc.project.globals import _dist_info_versions

    assert _dist_info_versions((dist,))[dist] in (None, metadata.version(dist))


def test_versions_are_kept_until_a_path_directory_changes(tmp_path, monkeypatch, request):
    """An installed (here: made up) torch 9.9 is found; the kept answer is used while its
    directory is unchanged; an upgrade (the dist-info renamed: the directory's time changes)
    is seen by the next process."""
    import os

    from fgc.project import globals as project_globals

    request.addfinalizer(project_globals.installed_versions.cache_clear)  # no made-up torch for later tests
    site = tmp_path / "site"
    (site / "torch-9.9.dist-info").mkdir(parents=True)
    (site / "torch-9.9.dist-info" / "METADATA").write_text("Name: torch\nVersion: 9.9\n\n")
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))

    def fresh_process_versions() -> dict:
        project_globals.installed_versions.cache_clear()
        return project_globals.installed_versions()

    assert fresh_process_versions()["torch"] == "9.9"
    reads = []
    monkeypatch.setattr(project_globals, "_dist_info_versions", lambda d: reads.append(d) or {})
    assert fresh_process_versions()["torch"] == "9.9" and reads == []  # kept
    monkeypatch.undo()
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))
    (site / "torch-9.9.dist-info").rename(site / "torch-9.10.dist-info")
    (site / "torch-9.10.dist-info" / "METADATA").write_text("Name: torch\nVersion: 9.10\n\n")
    st = os.stat(site)
    os.utime(site, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a coarse clock may not have moved yet
    assert fresh_process_versions()["torch"] == "9.10"
