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


@pytest.fixture(scope="module")
def finetune_runs(tmp_path_factory):
    """examples/finetune_chat: the stand-in base model and chats, then the full and the LoRA
    fine-tune, 3 steps each (one run of each serves every check below)."""
    tmp_path = tmp_path_factory.mktemp("finetune_chat")
    made = run([EXAMPLES / "finetune_chat" / "make_base.py"], tmp_path).stdout
    assert "200 train and 20 eval chats" in made
    runs = {name: train(EXAMPLES / "finetune_chat" / f"{name}.fg", tmp_path) for name in ("full", "lora")}
    return tmp_path, runs


def test_finetune_chat_trains_and_saves_a_plain_model(finetune_runs):
    tmp_path, runs = finetune_runs
    for run_dir in runs.values():
        assert len(losses(run_dir)) == 3 and all(math.isfinite(x) for x in losses(run_dir))
        # merged: no adapter at the top of a LoRA run's directory
        assert not (run_dir / "adapter_config.json").exists()
    # each run directory is a plain Llama checkpoint with the chat tokenizer: no forgather, no
    # custom code, and the tokenizer loads without transformers' "run the custom code?" prompt
    # (one process checks both runs)
    script = NO_FORGATHER + textwrap.dedent(f"""
        import json
        from transformers import AutoModelForCausalLM, AutoTokenizer
        for run_dir in {[str(d) for d in runs.values()]!r}:
            tokenizer = AutoTokenizer.from_pretrained(run_dir)
            model = AutoModelForCausalLM.from_pretrained(run_dir)
            end = tokenizer.convert_tokens_to_ids("<|im_end|>")
            chat = tokenizer.apply_chat_template([{{"role": "user", "content": "What is 1 plus 2?"}}], tokenize=False,
                                                 add_generation_prompt=True)
            print(json.dumps([type(model).__name__, model.config.vocab_size, len(tokenizer),
                              end in model.generation_config.eos_token_id, chat]))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env=ENV, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "custom code" not in done.stdout + done.stderr
    import json

    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(answers) == len(runs)
    for kind, vocab, tokens, stops, chat in answers:
        assert kind == "LlamaForCausalLM" and vocab == tokens == 602  # 600 + <|im_start|>, <|im_end|>
        assert stops and chat == "<|im_start|>user\nWhat is 1 plus 2?<|im_end|>\n<|im_start|>assistant\n"


def test_finetune_chat_lora_merges_its_adapters(finetune_runs):
    """The merged model saved by the LoRA run computes what the base plus its adapters compute."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp_path, runs = finetune_runs
    run_dir = runs["lora"]
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    merged = AutoModelForCausalLM.from_pretrained(run_dir).eval()
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "finetune_chat" / "base")
    base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    adapted = PeftModel.from_pretrained(base, run_dir / "adapter").eval()
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "What is 1 plus 2?"}],
                                        add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, adapted(ids).logits, atol=1e-4)
        plain = tokenizer("What is 1 plus 2?", return_tensors="pt")["input_ids"]  # tokens the base knows
        fresh = AutoModelForCausalLM.from_pretrained(tmp_path / "models" / "finetune_chat" / "base").eval()
        assert (merged(plain).logits[..., :600] - fresh(plain).logits).abs().max() > 1e-4  # the adapters trained


def test_finetune_chat_records_its_data_and_base_model(finetune_runs):
    """The run record names the datasets read through `datasets` (files with their sha256, split,
    fingerprint) and every file of the pretrained model directory with its sha256."""
    import hashlib
    import json

    tmp_path, runs = finetune_runs
    record = json.loads((runs["full"] / "fgc-run.json").read_text())
    data = tmp_path / "data" / "finetune_chat"
    sha = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (data / "train.jsonl", data / "eval.jsonl")}
    for path, digest in sha.items():
        assert record["data_files"][str(path)]["sha256"] == digest
    assert [(d["path"], d["split"], d["data_files"]) for d in record["datasets"]] == [
        ("json", "train", [str(data / "train.jsonl")]), ("json", "train", [str(data / "eval.jsonl")])]
    assert [d["num_rows"] for d in record["datasets"]] == [200, 20]
    assert all(isinstance(d["fingerprint"], str) and d["fingerprint"] for d in record["datasets"])
    base = tmp_path / "models" / "finetune_chat" / "base"
    (files,) = [entry["files"] for path, entry in record["pretrained_models"].items() if path == str(base)]
    assert files.keys() == {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}
    assert files["config.json"]["sha256"] == hashlib.sha256((base / "config.json").read_bytes()).hexdigest()
