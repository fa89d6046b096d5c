"""stdlib/scripts/causal_lm.fg, the causal-LM training project: its knobs (template variables that
give the defaults of `!var`s), a tiny end-to-end run, one-block swaps by a child (trainer, data,
model, optimizer, schedule, trainer arguments), and the quick-start example that extends it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import transformers

import fgc
import forgather.ml.optim as fg_optim
from forgather.ml.data import read_jsonl, train_bpe_tokenizer
from stdlib_testlib import build, check, tiny_project, write

REPO = Path(__file__).resolve().parents[2]

# Knob -> (the project's default, what tiny_project sets); the `!var` of that name defaults to it.
KNOBS = {
    "corpus_files": (200, 8),
    "vocab_size": (2000, 320),
    "block_size": (256, 32),
    "max_steps": (1000, 6),
    "warmup_steps": (100, 2),
    "batch_size": (16, 4),
    "eval_batch_size": (32, 8),
    "logging_steps": (50, 2),
    "eval_steps": (200, 3),
    "save_steps": (500, 3),
    "output_dir": ("runs/causal_lm", "runs/tiny"),
    "eval_strategy": ("steps", "steps"),
    "save_strategy": ("steps", "steps"),
    "seed": (42, 42),
}


def defaults(config) -> dict:
    return {name: config.VARIABLES[name]["default"] for name in KNOBS}


def test_knobs_set_the_defaults_of_the_variables(tmp_path):
    bare = build(write(tmp_path, "-- extends 'scripts/causal_lm.fg'\n", "bare.fg"))
    assert list(bare.TARGETS) == ["model", "main"]
    assert defaults(bare) == {name: project for name, (project, _) in KNOBS.items()}
    tiny = build(write(tmp_path, tiny_project(), "tiny.fg"))
    assert defaults(tiny) == {name: child for name, (_, child) in KNOBS.items()}


def test_compile_variables_set_knobs(tmp_path):
    """`fgc compile -D name=value` sets a knob like a child's `-- set` (the output directory follows
    the config name)."""
    path = write(tmp_path, "-- extends 'scripts/causal_lm.fg'\n")
    built = fgc.compile(path, tmp_path / "build", variables={"max_steps": 7, "config_name": "mine"})
    config = built.load()
    assert config.VARIABLES["max_steps"]["default"] == 7
    assert config.VARIABLES["output_dir"]["default"] == "runs/mine"


def test_tiny_project_trains_end_to_end(tmp_path):
    """Six steps of the tiny project (learning rate amended as experiment.fg does): the held-out
    loss drops, and the run directory holds what TrainingScript promises."""
    path = write(tmp_path, tiny_project("[optimizer]\n    == super()\n    lr: 1.0e-2\n"))
    assert check(path) == []
    torch.manual_seed(0)
    script = build(path).construct("main", output_dir=str(tmp_path / "run"))
    trainer = script.trainer
    initial = trainer.evaluate()["eval_loss"]
    result = script.run()
    assert trainer.state.global_step == 6
    schedule = trainer.lr_scheduler.lr_lambdas[0]  # cosine.fg: warm-up 2, decays until max_steps
    assert (schedule.warmup_steps, schedule.total_steps) == (2, 6)
    assert trainer.optimizer.param_groups[0]["initial_lr"] == 1.0e-2
    assert all(math.isfinite(r["loss"]) for r in trainer.state.log_history if "loss" in r)
    # the loop's evaluation after step 6 is the final one: TrainingScript does not repeat it
    assert [r["step"] for r in trainer.state.log_history if "eval_loss" in r] == [3, 6]
    assert result["eval_metrics"]["eval_loss"] < initial - 0.05
    run = tmp_path / "run"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "loss.png", "checkpoint-6"):
        assert (run / name).exists(), name
    assert json.loads((run / "config.json").read_text())["hidden_size"] == 32
    assert list(run.rglob("trainer_logs.jsonl"))


def test_max_steps_is_one_variable_for_trainer_and_schedule(tmp_path):
    config = build(write(tmp_path, tiny_project()))
    for max_steps, warmup in ((4, 2), (1, 1)):  # the warm-up never outlasts the run
        trainer = config.construct("main", max_steps=max_steps).trainer
        # the Trainer gives the schedule its total (num_training_steps): here max_steps
        schedule = trainer.create_scheduler(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), max_steps)
        assert trainer.args.max_steps == schedule.lr_lambdas[0].total_steps == max_steps
        assert schedule.lr_lambdas[0].warmup_steps == warmup


JSONL = ['def f(x):\n    return x * 2\n' * 8, 'class A:\n    pass\n' * 10, 'import os\nprint(os.sep)\n' * 9]


def jsonl_files(tmp_path):
    for name, texts in (("train.jsonl", JSONL[:2]), ("eval.jsonl", JSONL[2:])):
        write(tmp_path / "data", "".join(json.dumps({"text": t}) + "\n" for t in texts), name)
    return {"train_path": str(tmp_path / "data/train.jsonl"), "eval_path": str(tmp_path / "data/eval.jsonl")}


def same_tokenizer_as_files(main, tmp_path):
    documents = read_jsonl(tmp_path / "data/train.jsonl")
    return main.trainer.processing_class.get_vocab() == train_bpe_tokenizer(documents, 320).get_vocab()


# A child swaps or amends one part: (its blocks, its sub-templates, variables, what holds).
SWAPS = {
    "transformers-trainer": (
        "[trainer]\n    -- include 'trainers/hf_trainer.fg'\n",
        "",
        None,
        lambda main, tmp: type(main.trainer) is transformers.Trainer,
    ),
    "jsonl-data": (
        "[data]\n    -- include 'exp.data'\n",
        "#--- exp.data ---\n-- extends 'data/jsonl.fg'\n",
        jsonl_files,
        same_tokenizer_as_files,
    ),
    "sgd-optimizer": (
        "[optimizer]\n    -- include 'optimizers/sgd.fg'\n    lr: 0.05\n",
        "",
        None,
        lambda main, tmp: type(opt := main.trainer.create_optimizer()) is fg_optim.SGD
        and opt.param_groups[0]["lr"] == 0.05,
    ),
    "wsd-schedule": (
        # the swapped schedule reads the child's `warmup_steps` knob (a constant would leave the knob
        # unread: FG0522)
        "[lr_scheduler]\n    -- include 'optimizers/schedulers/wsd.fg'\n    warmup_steps: {{ warmup_steps }}\n"
        "    decay_start: 4\n"
        "    decay_steps: 2\n",
        "",
        None,
        lambda main, tmp: main.trainer.create_scheduler(main.trainer.create_optimizer(), 8).lr_lambdas[0].decay_start
        == 4,
    ),
    "trainer-arguments": (
        "[trainer]\n    -- include 'exp.trainer'\n",
        "#--- exp.trainer ---\n-- extends 'trainers/trainer.fg'\n[trainer_args]\n    == super()\n"
        "    gradient_accumulation_steps: 2\n",
        None,
        lambda main, tmp: main.trainer.args.gradient_accumulation_steps == 2 and main.trainer.args.max_steps == 6,
    ),
}


@pytest.mark.parametrize("case", list(SWAPS))
def test_child_swaps_one_part(case, tmp_path):
    blocks, subtemplates, files, holds = SWAPS[case]
    path = write(tmp_path, tiny_project(blocks, subtemplates))
    assert check(path) == []
    variables = files(tmp_path) if files else {}
    main = build(path).construct("main", output_dir=str(tmp_path / "run"), **variables)
    assert holds(main, tmp_path)


def test_child_swaps_the_model_architecture(tmp_path):
    subtemplate = """\
#--- gpt2.model ---
-- extends 'models/gpt2.fg'
[hyperparameters]
    == super()
    vocab_size: !var "vocab_size"
    hidden_size: 32
    num_attention_heads: 2
    num_hidden_layers: 1
    intermediate_size: 64
    max_position_embeddings: 32
"""
    path = write(tmp_path, tiny_project(subtemplates=subtemplate, model="gpt2.model"))
    assert check(path) == []
    model = build(path).construct("model")
    assert model.config.max_position_embeddings == 32 and model.config.vocab_size == 320
    assert model.model.input_encoder.embedding.weight.shape == (320, 32)


def test_quickstart_states_only_what_is_specific(tmp_path):
    """base.fg sets the quick start's knobs and a tiny model on the project; experiment.fg
    amends the optimizer block of the project's AdamW."""
    quickstart = REPO / "examples" / "quickstart"
    # the README's quick start: a 1M-parameter model, 600 steps of 16 blocks of 128 tokens
    knobs = {"corpus_files": 200, "vocab_size": 2048, "block_size": 128, "max_steps": 600, "warmup_steps": 30,
             "batch_size": 16, "logging_steps": 20, "eval_strategy": "no", "save_strategy": "no",
             "output_dir": "runs/quickstart"}
    learning_rates = {}
    for name in ("base", "experiment"):
        built = fgc.compile(quickstart / f"{name}.fg", tmp_path / name)
        config = built.load()
        assert {k: config.VARIABLES[k]["default"] for k in knobs} == knobs
        graph = json.loads((built.dir / "graph.json").read_text())
        (optimizer,) = [n for n in graph["nodes"].values() if n["callable"] == "forgather.ml.optim.adamw:AdamW"]
        lr = optimizer["kwargs"]["lr"]
        if isinstance(lr, dict):  # the optimizer template's `lr` knob: a variable with its default
            var = graph["nodes"][lr["$node"]]
            lr = (var["kind"], var["var"], var["default"])
        learning_rates[name] = lr
    # experiment.fg sets the `lr` knob (so that its children, -D and --set still change it)
    assert learning_rates == {"base": ("var", "lr", 1.0e-3), "experiment": ("var", "lr", 3.0e-3)}


def test_docs_example_checks_clean_and_builds(tmp_path):
    """The example child of docs/language.md, "Template library", is what it says it is."""
    docs = (REPO / "docs" / "language.md").read_text()
    section = docs[docs.index("## Template library") :]
    start = section.index("    -- extends 'scripts/causal_lm.fg'")
    block = section[start : section.index("\n\n`", start)]
    path = write(tmp_path, "\n".join(line[4:] for line in block.splitlines()) + "\n")
    assert check(path) == []
    main = build(path).construct("main", vocab_size=320, output_dir=str(tmp_path / "run"), **jsonl_files(tmp_path))
    trainer = main.trainer
    assert type(trainer) is transformers.Trainer
    assert (trainer.args.max_steps, trainer.args.per_device_train_batch_size, trainer.args.gradient_accumulation_steps) == (200, 8, 2)
    assert any(type(c).__name__ == "TensorBoardLogger" for c in trainer.callback_handler.callbacks)
    assert trainer.model.config.hidden_size == 128 and trainer.optimizer.param_groups[0]["initial_lr"] == 3.0e-3
