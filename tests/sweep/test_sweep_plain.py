"""fgc sweep over a plain-Python target (no training, a second a run): a job that writes a
trainer_logs.jsonl whose losses follow from its values. Random search and a larger --trials,
a sweep with a failing run among completed ones, and Optuna finding the known minimum."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fgc.sweep.naming import combination_name
from fgc.sweep.plan import parse_axes, random_search

FILES = {
    "exp.fg": """\
-- set scale = scale | default(1)
main: !singleton:.jobs:Job
    output_dir: !var { name: output_dir, default: runs/demo }
    x: !var { name: x, default: 0 }
    mode: !var { name: mode, default: ok }
    scale: {{ scale }}
""",
    "jobs.py": """\
import json
from pathlib import Path


class Job:
    def __init__(self, output_dir, x, mode, scale):
        self.output_dir, self.x, self.mode, self.scale = Path(output_dir), x, mode, scale

    def run(self):
        if self.mode == "fail":
            raise ValueError("the job failed on purpose")
        logs = self.output_dir / "runs" / "t" / "trainer_logs.jsonl"
        logs.parent.mkdir(parents=True)
        base = self.scale * (self.x - 2) ** 2
        records = [{"event": "log", "global_step": s, "loss": base + 1 / s} for s in (1, 2, 3)]
        records += [{"event": "log", "global_step": 2, "eval_loss": base + 0.75},
                     {"event": "log", "global_step": 3, "eval_loss": base + 0.5}]
        logs.write_text("".join(json.dumps(r) + "\\n" for r in records))
""",
}
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture
def exp(tmp_path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "exp.fg"


def sweep(exp: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "fgc", "sweep", str(exp), "-o", str(exp.parent / "s"), *args],
                          capture_output=True, text=True, env=ENV, cwd=exp.parent)
    assert done.returncode == expect, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def summary(exp: Path) -> dict[str, dict]:
    with open(exp.parent / "s" / "summary.csv", newline="") as f:
        return {row["run"]: row for row in csv.DictReader(f)}


def test_random_search_runs_its_draws_and_a_larger_trials_adds_to_them(exp):
    axes = ("--set", "x=0,1,2,3,4", "-D", "scale=1,2")
    sweep(exp, *axes, "--search", "random", "--trials", "3", "--seed", "5", "--jobs", "2")
    planned = random_search(parse_axes(["scale=1,2"], [], ["x=0,1,2,3,4"]), 5, seed=5)
    names = [combination_name(c, ["scale", "x"]) for c in planned]
    rows = summary(exp)
    assert list(rows) == names[:3]
    for name, row in rows.items():
        values = dict(part.split("=") for part in name.split(","))
        base = int(values["scale"]) * (int(values["x"]) - 2) ** 2
        assert (float(row["final_eval_loss"]), float(row["best_eval_loss"])) == (base + 0.5, base + 0.5)
        assert float(row["final_train_loss"]) == pytest.approx(base + 1 / 3) and row["steps"] == "3"
    more = sweep(exp, *axes, "--search", "random", "--trials", "5", "--seed", "5", "--jobs", "2")
    assert "3 of 5 runs already completed: skipped" in more.stderr
    assert list(summary(exp)) == names
    least = min(summary(exp).values(), key=lambda row: float(row["final_eval_loss"]))
    best = f"best: {least['run']} (final eval loss {float(least['final_eval_loss']):.4f})"
    assert more.stdout.endswith(f"\n{best}\n") and (exp.parent / "s" / "summary.md").read_text().endswith(f"\n{best}\n")
    other_seed = sweep(exp, *axes, "--search", "random", "--trials", "5", "--seed", "6", expect=2)
    assert "seed: 5 -> 6" in other_seed.stderr


def test_a_failing_run_among_completed_ones(exp):
    out = sweep(exp, "--set", "mode=ok,fail", "--set", "x=1", expect=1)
    rows = summary(exp)
    assert rows["mode=ok"]["status"] == "completed" and rows["mode=ok"]["error"] == ""
    assert rows["mode=fail"]["status"] == "failed" and "the job failed on purpose" in rows["mode=fail"]["error"]
    assert rows["mode=fail"]["final_eval_loss"] == ""
    assert "| mode=fail | failed: " in out.stdout and "did not complete: mode=fail" in out.stderr
    record = json.loads((exp.parent / "s" / "sweep.json").read_text())
    assert {r["name"]: r["exit_code"] for r in record["runs"]} == {"mode=ok": 0, "mode=fail": 1}
    # a re-run leaves the completed run alone and runs the failed one again (no checkpoint)
    again = sweep(exp, "--set", "mode=ok,fail", "--set", "x=1", expect=1)
    assert "1 of 2 runs already completed: skipped" in again.stderr
    assert (exp.parent / "s" / "mode=fail" / "attempt-1" / "fgc-run.json").is_file()
    assert json.loads((exp.parent / "s" / "sweep.json").read_text())["runs"][1]["attempts"] == 2


def test_optuna_finds_the_minimum_and_its_study_continues(exp):
    pytest.importorskip("optuna")
    sweep(exp, "--set", "x=0,1,2,3", "--search", "optuna", "--trials", "6", "--seed", "1", "--jobs", "2")
    record = json.loads((exp.parent / "s" / "sweep.json").read_text())
    rows = summary(exp)
    assert sum(len(r["trials"]) for r in record["runs"]) == 6  # a repeated proposal is answered from its run
    best = min(float(row["final_eval_loss"]) for row in rows.values())
    assert record["optuna_best"]["value"] == best
    assert record["optuna_best"]["params"]["x"] == min(rows, key=lambda n: float(rows[n]["final_eval_loss"]))[2:]
    sweep(exp, "--set", "x=0,1,2,3", "--search", "optuna", "--trials", "7", "--seed", "1")
    record = json.loads((exp.parent / "s" / "sweep.json").read_text())
    assert sum(len(r["trials"]) for r in record["runs"]) == 7
