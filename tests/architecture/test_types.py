"""The compiler type-checks: mypy, configured by [tool.mypy] in pyproject.toml, passes on fgc/.

mypy runs in a subprocess from the repository root, so it reads the same configuration as a
developer's `python -m mypy`; its cache goes to a temporary directory, so a stale cache in the
tree can neither hide nor invent an error.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("mypy", reason="mypy is in the [test] extra: pip install -e '.[test]'")


def mypy(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_fgc_type_checks(tmp_path: Path) -> None:
    done = mypy(cache=tmp_path / "mypy-cache")
    assert done.returncode == 0, f"mypy found type errors in fgc/:\n{done.stdout}{done.stderr}"
    assert "Success" in done.stdout, done.stdout


def test_the_configuration_checks_fgc() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == ["fgc"]
    assert config["check_untyped_defs"] is True


def test_a_type_error_fails_the_check(tmp_path: Path) -> None:
    # The check is not vacuous: the same configuration reports a wrong type in a module of fgc/'s
    # shape (it is checked by path, with the repository's configuration).
    bad = tmp_path / "fgc_bad_module.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n", encoding="utf-8")
    done = mypy("--config-file", str(ROOT / "pyproject.toml"), str(bad), cache=tmp_path / "mypy-cache")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fgc_bad_module.py:2: error: Incompatible return value type" in done.stdout, done.stdout
