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
