"""fgc sweep and the silent mistakes: an axis whose values give identical builds is refused before
anything runs (exit 2, with the warnings that say why), and each run's compile warnings are in
the sweep's own output and in sweep.json. Plain-Python targets: a second a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# A child that pins `hidden_size` with a plain `set`: `-D hidden_size=...` changes nothing (FG0207).
PINNED = """\
-- set hidden_size = 64
main: !singleton:dict
    output_dir: !var { name: output_dir, default: runs/demo }
    width: {{ hidden_size }}
"""
# A knob written to yield to -D, and a misspelt one that nothing reads (FG0208).
KNOB = """\
-- set hidden_size = hidden_size | default(64)
-- set dropuot = 0.1
main: !singleton:dict
    output_dir: !var { name: output_dir, default: runs/demo }
    width: {{ hidden_size }}
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def sweep(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "exp.fg").write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "fgc", "sweep", "exp.fg", "-o", "s", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    "text, axis, why",
    [
        (PINNED, "hidden_size=32,64", "warning[FG0207]"),  # the case: a plain `-- set` hides -D
        (KNOB, "hiden_size=32,64", "did you mean `hidden_size`?"),  # a name no template reads
    ],
)
def test_an_axis_that_changes_nothing_is_refused(tmp_path, text, axis, why):
    done = sweep(tmp_path, text, "-D", axis)
    assert done.returncode == 2, done.stderr
    assert f"`-D {axis}`: every value gives the same build" in done.stderr
    assert why in done.stderr
    assert not (tmp_path / "s").exists()  # nothing ran, nothing was written


def test_each_runs_compile_warnings_are_in_the_sweeps_output(tmp_path):
    done = sweep(tmp_path, KNOB, "-D", "hidden_size=32,64")
    assert done.returncode == 0, done.stderr
    for name in ("hidden_size=32", "hidden_size=64"):
        assert f"fgc: sweep: {name}: exp.fg:2:8: warning[FG0208]: `dropuot` is set here" in done.stderr
    runs = json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"]
    assert all(any("FG0208" in w for w in r["warnings"]) for r in runs)
