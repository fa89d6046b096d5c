"""Editor-support tests: the VS Code extension in editors/vscode/ and its TextMate grammar.

The grammar is checked by vscode-tmgrammar-test, an npm package pinned in
editors/vscode/package.json (with package-lock.json); the `vscode_tools` fixture installs it
there with `npm ci` when it is missing, once per session, under a file lock because pytest-xdist
workers may ask at the same time.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
TOOL = "vscode-tmgrammar-test"


def manifest() -> dict:
    return json.loads((VSCODE / "package.json").read_text())


def _installed() -> bool:
    """The pinned tool is in node_modules (a stale install of another version is not)."""
    pkg = VSCODE / "node_modules" / TOOL / "package.json"
    if not pkg.is_file():
        return False
    return json.loads(pkg.read_text())["version"] == manifest()["devDependencies"][TOOL]


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed on this machine (CI has it)")
    return path


@pytest.fixture(scope="session")
def vscode_tools(node) -> Path:
    """editors/vscode with its npm dependencies installed; returns the folder."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed on this machine (CI has it): cannot install " + TOOL)
    lock = Path(tempfile.gettempdir()) / "forgather-editors-npm.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not _installed():
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                                  cwd=VSCODE, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
        assert _installed(), f"npm ci did not install {TOOL}"
    return VSCODE
