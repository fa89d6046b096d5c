"""fgc/cli/main.py: the `fgc` process of a compiler command, with what earlier runs kept
(fgc/cli/module_code.py, dataclass_code.py, regex_code.py), prints what `main(argv)` in this
process prints, and it ends without the interpreter's teardown: what it printed is all there (to
a pipe, large or small), its exit code is the command's, and the exit handlers ran (the
statements parsed anew are written at exit)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fgc.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "experiment.fg"


def in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's exits
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def as_process(argv: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FGC_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "fgc", *argv], env=env, capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize(
    "argv",
    [
        ["render", str(QUICKSTART), "--no-cache"],  # tens of kB to a pipe
        ["graph", str(QUICKSTART), "--no-import", "--no-cache"],
        ["check", str(QUICKSTART), "--no-import", "--no-cache", "-D", "no_such_knob=1"],  # exit code 1
        ["check", str(QUICKSTART), "--no-import", "--no-cache", "--format", "json", "-D", "no_such_knob=1"],
        ["check", str(ROOT / "no-such-file.fg")],
        ["nonsense-command"],  # argparse's exit (2) on the way out
    ],
    ids=["render", "graph", "check-error", "check-json", "missing-file", "usage"],
)
def test_the_process_prints_what_main_returns(argv, tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "in-process"))
    monkeypatch.chdir(ROOT)
    rc, out, err = in_process(argv)
    for _ in ("first run", "with what it kept (modules, dataclass code, regex programs)"):
        done = as_process(argv, tmp_path / "process")
        assert (done.returncode, done.stdout, done.stderr) == (rc, out, err)


def test_exit_handlers_run(tmp_path):
    """A first run parses its statements anew; they are written by an exit handler."""
    done = as_process(["check", str(QUICKSTART), "--no-import", "--no-cache"], tmp_path)
    assert done.returncode == 0, done.stderr
    written = list((tmp_path / "statements").iterdir())
    assert len(written) == 1 and written[0].stat().st_size > 0
