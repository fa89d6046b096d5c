"""The quick-start example (README's main command) compiles, checks clean, and runs: here with
a handful of files and steps; the README's command runs its full two to three minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "examples" / "quickstart" / "experiment.fg"


def test_quickstart_compiles_and_trains(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    fgc = [sys.executable, "-m", "fgc"]
    done = subprocess.run(fgc + ["check", str(EXPERIMENT)], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    build = tmp_path / "build" / "quickstart"
    done = subprocess.run(
        fgc + ["compile", str(EXPERIMENT), "-o", str(build)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    graph = json.loads((build / "graph.json").read_text())
    assert graph["targets"] == ["model", "main"]
    assert (build / "model" / "modeling.py").is_file()
    run_dir = tmp_path / "run"
    done = subprocess.run(
        fgc
        + [
            "run",
            str(build),
            "--set",
            "max_steps=3",
            "--set",
            "corpus_files=6",
            "--output-dir",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run_dir / "config.json").is_file() and (run_dir / "loss.png").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert (
        config["hidden_size"] == 128
        and config["auto_map"]["AutoModelForCausalLM"] == "modeling.DynamicCausalLMForCausalLM"
    )
