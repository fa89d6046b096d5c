"""Every example of this issue runs for a few steps through `fgc compile` + `fgc run`, with the
checks its README promises. (examples/compare_trainers and examples/pipeline_parallel have their
own tests in tests/distributed and tests/pipeline; quickstart in test_quickstart_install.py.)"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from examples_testlib import ENV, EXAMPLES, NO_FORGATHER, REPO, fgc, losses, run, train

SMALL = ("corpus_files=8",)  # the stdlib-corpus examples: a few files are enough for 3 steps


def optimizer_lr(snapshot: str) -> tuple[str, str]:
    """The optimizer's `lr` in a run's config.yaml, a literal or a `!var`'s default, with the
    origin comment of the line that states it."""
    lines = [(line.split("#", 1)[0].strip(), line.rsplit("# ", 1)[-1].strip()) for line in snapshot.splitlines()]
    start = next(i for i, (text, _) in enumerate(lines) if text.startswith("optimizer_factory:"))
    text, origin = lines[start + 1]
    assert text.startswith("lr:"), lines[start + 1]
    if text == "lr: !var":
        text, origin = lines[start + 3]
        assert text.startswith("default:"), lines[start + 3]
    return text.split(":", 1)[1].strip(), origin


@pytest.mark.parametrize("name, origin", [("override_hparam/experiment.fg", "experiment.fg:12"),
                                          ("override_hparam/knob.fg", "stdlib/optimizers/adamw.fg:25")])
def test_override_hparam(name, origin, tmp_path):
    run_dir = train(EXAMPLES / name, tmp_path, *SMALL)
    assert all(math.isfinite(x) for x in losses(run_dir)) and len(losses(run_dir)) == 3
    # the block override states the value in experiment.fg; the knob sets the stdlib's !var default
    assert optimizer_lr((run_dir / "config.yaml").read_text()) == ("0.001", origin)


@pytest.mark.parametrize("name", ["swap_optimizer/experiment.fg", "swap_optimizer/my_optimizer.fg"])
def test_swap_optimizer(name, tmp_path):
    run_dir = train(EXAMPLES / name, tmp_path, *SMALL)
    assert len(losses(run_dir)) == 3 and all(math.isfinite(x) for x in losses(run_dir))
    if name.endswith("my_optimizer.fg"):
        assert (run_dir / "modules" / "lion.py").is_file()  # the user's optimizer travels with the run


def test_walsh_pe_trains_and_loads_with_plain_transformers(tmp_path):
    run_dir = train(EXAMPLES / "walsh_pe" / "experiment.fg", tmp_path, *SMALL)
    assert (run_dir / "walsh_pe.py").is_file() and "from .walsh_pe import WalshPE" in (run_dir / "modeling.py").read_text()
    script = NO_FORGATHER + textwrap.dedent(f"""
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained({str(run_dir)!r}, trust_remote_code=True)
        print(type(model.model.positional_encoder).__name__)
        """)
    assert run(["-c", script], tmp_path).stdout.split()[-1] == "WalshPE"


def test_custom_model_exports_and_loads_with_plain_transformers(tmp_path):
    run_dir = train(EXAMPLES / "custom_model" / "experiment.fg", tmp_path, *SMALL)
    assert (run_dir / "parallel_layer.py").is_file() and (run_dir / "sample.txt").is_file()
    load = EXAMPLES / "custom_model" / "load.py"
    script = NO_FORGATHER + f"import runpy\nrunpy.run_path({str(load)!r}, run_name='__main__')\n"
    out = run(["-c", script, run_dir, "--tokens", "5"], tmp_path).stdout
    assert "layer ParallelLayer" in out and "DynamicCausalLMForCausalLM" in out


@pytest.mark.parametrize("name", ["text_folder.fg", "jsonl.fg"])
def test_local_data(name, tmp_path):
    made = run([EXAMPLES / "local_data" / "make_data.py"], tmp_path).stdout
    assert "train and" in made and (tmp_path / "data/local_data/train.jsonl").is_file()
    run_dir = train(EXAMPLES / "local_data" / name, tmp_path)
    assert len(losses(run_dir)) == 3
    snapshot = (run_dir / "config.yaml").read_text()
    assert ("train.jsonl" if name == "jsonl.fg" else "text/train") in snapshot


OPTIMIZERS = ["adamw", "sgd", "adafactor", "galore", "apollo", "apollo_mini"]


def test_compare_optimizers(tmp_path):
    runs = [train(EXAMPLES / "compare_optimizers" / f"{o}.fg", tmp_path, *SMALL) for o in OPTIMIZERS]
    out = run([EXAMPLES / "compare_optimizers" / "compare.py", *runs, "--plot", tmp_path / "all.png"], tmp_path).stdout
    assert (tmp_path / "all.png").read_bytes().startswith(b"\x89PNG")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in out.splitlines()[2:]
            if line.startswith("|")}
    assert set(rows) == set(OPTIMIZERS), out  # run directories named by the example's file
    kib = {name: float(row[1].split()[0]) for name, row in rows.items()}
    # AdamW keeps two moments per parameter, SGD one, Adafactor factored statistics only
    assert kib["adafactor"] < kib["sgd"] < kib["adamw"] and kib["apollo_mini"] < kib["adamw"], out
    assert all(row[2].endswith(" ms") for row in rows.values())


# Run-time sizes for a child of scripts/causal_lm.fg (its model sizes are `!var`s too): tiny.
TINY = ("corpus_files=8", "vocab_size=300", "block_size=32", "hidden_size=32", "num_hidden_layers=1",
        "num_attention_heads=2", "num_key_value_heads=1", "intermediate_size=64", "batch_size=4",
        "eval_batch_size=4", "sample_tokens=4")


@pytest.mark.parametrize("template", ["scripts/causal_lm.fg", "examples/quickstart/base.fg"])
def test_fgc_new_child_runs_unchanged(template, tmp_path):
    """The child `fgc new` writes runs as it is, by the command its header gives (with -I for a
    template outside the library), for three steps of a tiny model."""
    source = REPO / template if template.startswith("examples/") else template
    fgc("new", "child", "--from", source, cwd=tmp_path)
    lines = (tmp_path / "child.fg").read_text().splitlines()
    command = lines[lines.index("## and runs as it is:") + 1].removeprefix("##     ")
    assert command.startswith("fgc compile child.fg ") and command.endswith(" && fgc run build/child"), command
    sets = " ".join(f"--set {s}" for s in ("max_steps=3", "logging_steps=1", *TINY))
    done = subprocess.run(f"{command} {sets}", shell=True, capture_output=True, text=True, cwd=tmp_path,
                          env={**ENV, "PATH": f"{Path(sys.executable).parent}:{ENV['PATH']}"})
    assert done.returncode == 0, done.stderr[-4000:]
    run_dir = (tmp_path / "runs" / "child" / "latest").resolve()
    assert (run_dir / "config.json").is_file() and (run_dir / "model.safetensors").is_file()
    curve = losses(run_dir)
    assert len(curve) == 3 and all(math.isfinite(x) for x in curve)
