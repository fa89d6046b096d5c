"""examples/pipeline_parallel: `fgc compile` + `fgc run --nproc 2` trains it for a few steps on two
gloo processes and leaves a merged model that plain transformers loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pipeline_parallel" / "experiment.fg"


def fgc(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    try:
        return subprocess.run([sys.executable, "-m", "fgc", *args], capture_output=True, text=True, cwd=cwd,
                              env=env, timeout=timeout)  # a hang guard, not a time limit on the work
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"fgc {' '.join(args)} hung:\n{e.stdout}\n{e.stderr}") from None


def test_example_trains_on_two_processes(tmp_path):
    done = fgc("compile", str(EXAMPLE), "-o", str(tmp_path / "build"), "-D", "corpus_files=12", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # one node: fgc's launch takes a fresh free port itself (torchrun --standalone)
    done = fgc("run", str(tmp_path / "build"), "--nproc", "2",
               "--set", "max_steps=4", "--set", "logging_steps=1", "--set", "pipeline_schedule=GPipe",
               cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    runs = [p for p in (tmp_path / "runs" / "pipeline_parallel").iterdir() if not p.is_symlink()]
    assert len(runs) == 1, runs  # one run directory for the whole job
    run = runs[0]
    logs = [json.loads(line) for path in run.rglob("trainer_logs.jsonl") for line in path.read_text().splitlines()]
    losses = [r["loss"] for r in logs if "loss" in r]
    assert len(losses) == 4 and all(0 < x < 20 for x in losses), logs
    assert (run / "config.json").is_file() and (run / "modeling.py").is_file()
    script = (
        "import torch\nfrom transformers import AutoModelForCausalLM\n"
        f"m = AutoModelForCausalLM.from_pretrained({str(run)!r}, trust_remote_code=True)\n"
        "assert m.config.tie_word_embeddings\n"
        "print('layers', m.config.num_hidden_layers, tuple(m(torch.tensor([[1, 2, 3]])).logits.shape))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""})
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert loaded.stdout.startswith("layers 4 (1, 3, 512)")
