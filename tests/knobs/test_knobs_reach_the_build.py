"""A knob set by a child template (`-- set max_steps = 30`) or by `-D max_steps=30` reaches the
build: the default of its `!var` in `fgc graph --json`, the manifest, and what `construct()`
builds; for the quick start (base.fg and experiment.fg) and for stdlib's scripts/causal_lm.fg.
Precedence: `-D`, then a child's set, then the project's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from needs import needs_torch

import fgc
from fgc.cli.main import main as fgc_main

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"

# project -> (the template a child extends, its search path, the file compiled for -D)
PROJECTS = {
    "quickstart": ("experiment.fg", [QUICKSTART], QUICKSTART / "experiment.fg"),
    "quickstart-base": ("base.fg", [QUICKSTART], QUICKSTART / "base.fg"),
    "causal_lm": ("scripts/causal_lm.fg", [], REPO / "stdlib" / "scripts" / "causal_lm.fg"),
}

# Every knob of scripts/causal_lm.fg, with a value that is neither project's default.
KNOBS = {
    "max_steps": 30,
    "warmup_steps": 3,
    "corpus_files": 12,
    "vocab_size": 300,
    "block_size": 32,
    "batch_size": 4,
    "eval_batch_size": 6,
    "logging_steps": 3,
    "eval_steps": 7,
    "save_steps": 9,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "seed": 7,
    "output_dir": "runs/elsewhere",
    "config_name": "mine",
    "description": "my own run",
}
NOT_VARS = ("config_name", "description")  # plain values of the `main` target


def literal(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def child(tmp_path: Path, project: str, knobs: dict, deferring: bool = False) -> Path:
    parent = PROJECTS[project][0]
    sets = "".join(
        f"-- set {k} = {k} | default({literal(v)})\n" if deferring else f"-- set {k} = {literal(v)}\n"
        for k, v in knobs.items()
    )
    path = tmp_path / "exp.fg"
    path.write_text(f"-- extends '{parent}'\n{sets}")
    return path


def graph_json(capsys, path: Path, project: str, variables: dict) -> dict:
    argv = ["graph", "--json", "--no-import", str(path)]
    argv += [a for d in PROJECTS[project][1] for a in ("-I", str(d))]
    argv += [a for k, v in variables.items() for a in ("-D", f"{k}={v}")]
    assert fgc_main(argv) == 0
    return json.loads(capsys.readouterr().out)


def var_defaults(graph: dict, name: str) -> list:
    return [n["default"] for n in graph["nodes"].values() if n["kind"] == "var" and n["var"] == name and "default" in n]


def main_kwargs(graph: dict) -> dict:
    (main,) = [n for n in graph["nodes"].values() if n["name"] == "main"]
    return main["kwargs"]


def knob_in_graph(graph: dict, name: str):
    """The one value the graph gives knob `name` (every `!var` of that name agrees)."""
    if name in NOT_VARS:
        return main_kwargs(graph)[name]
    defaults = var_defaults(graph, name)
    assert defaults and len(set(map(json.dumps, defaults))) == 1, defaults
    return defaults[0]


@pytest.mark.parametrize("mode", ["child", "-D"])
@pytest.mark.parametrize("project", list(PROJECTS))
@pytest.mark.parametrize("knob", list(KNOBS))
def test_knob_reaches_the_graph(knob, project, mode, tmp_path, capsys):
    value = KNOBS[knob]
    if mode == "child":
        graph = graph_json(capsys, child(tmp_path, project, {knob: value}), project, {})
    else:
        graph = graph_json(capsys, PROJECTS[project][2], project, {knob: value})
    assert knob_in_graph(graph, knob) == value
    if knob == "config_name":  # the output directory follows the name
        assert knob_in_graph(graph, "output_dir") == "runs/mine"


@pytest.mark.parametrize("project", list(PROJECTS))
def test_untouched_knobs_keep_the_project_defaults(project, tmp_path, capsys):
    """Setting one knob changes nothing else: the other knobs are those of the bare project."""
    bare = graph_json(capsys, PROJECTS[project][2], project, {})
    one = graph_json(capsys, child(tmp_path, project, {"max_steps": 30}), project, {})
    for name in KNOBS:
        if name != "max_steps":
            assert knob_in_graph(one, name) == knob_in_graph(bare, name), name


# Who wins: (the child's line for max_steps or None, -D max_steps or None) -> the value built.
PRECEDENCE = {
    "the project's default": (None, None, {"quickstart": 600, "causal_lm": 1000}),
    "a child's set": ("-- set max_steps = 30", None, 30),
    "-D": (None, 40, 40),
    "-D over a deferring child": ("-- set max_steps = max_steps | default(30)", 40, 40),
    "a child's plain set over -D (FG0207 says so)": ("-- set max_steps = 30", 40, 30),
}


@pytest.mark.parametrize("project", ["quickstart", "causal_lm"])
@pytest.mark.parametrize("case", list(PRECEDENCE))
def test_precedence(case, project, tmp_path, capsys):
    line, command_line, expected = PRECEDENCE[case]
    if isinstance(expected, dict):
        expected = expected[project]
    path = tmp_path / "exp.fg"
    path.write_text(f"-- extends '{PROJECTS[project][0]}'\n" + (line + "\n" if line else ""))
    variables = {"max_steps": command_line} if command_line is not None else {}
    assert knob_in_graph(graph_json(capsys, path, project, variables), "max_steps") == expected
    warnings = [d for d in fgc.check(path, PROJECTS[project][1], variables, import_modules=False) if d.code == "FG0207"]
    if line and command_line is not None and "default" not in line:
        assert [(d.span.file, d.span.line, d.span.col) for d in warnings] == [(str(path), 2, 8)]
    else:
        assert warnings == []


def built_values(script) -> dict:
    """What construct("main") built for each knob."""
    trainer = script.trainer
    args = trainer.args
    schedule = trainer.create_scheduler(trainer.create_optimizer(), args.max_steps).lr_lambdas[0]
    train = trainer.train_dataset
    return {
        "max_steps": args.max_steps,
        "warmup_steps": schedule.warmup_steps,
        "corpus_files": len(train.document_offsets) + len(trainer.eval_dataset.document_offsets),
        "vocab_size": len(trainer.processing_class),
        "block_size": len(train[0]["input_ids"]),
        "batch_size": args.per_device_train_batch_size,
        "eval_batch_size": args.per_device_eval_batch_size,
        "logging_steps": args.logging_steps,
        "eval_steps": args.eval_steps,
        "save_steps": args.save_steps,
        "eval_strategy": str(getattr(args.eval_strategy, "value", args.eval_strategy)),
        "save_strategy": str(getattr(args.save_strategy, "value", args.save_strategy)),
        "seed": args.seed,
        "output_dir": args.output_dir,
        "config_name": script.config_name,
        "description": script.description,
    }


def all_knobs(project: str, mode: str, tmp_path: Path) -> tuple[Path, list, dict]:
    """All knobs at once, set by a child or by `-D`: the file to compile, its search path, `-D`."""
    _, search, compiled = PROJECTS[project]
    path, variables = (child(tmp_path, project, KNOBS), {}) if mode == "child" else (compiled, KNOBS)
    return path, search, variables


@pytest.mark.parametrize("mode", ["child", "-D"])
@pytest.mark.parametrize("project", ["quickstart", "causal_lm"])
def test_knobs_reach_the_manifest(project, mode, tmp_path):
    """All knobs at once: the manifest's variables (compiled without importing a module, so
    without torch)."""
    path, search, variables = all_knobs(project, mode, tmp_path)
    assert [d for d in fgc.check(path, search, variables, import_modules=False) if d.code == "FG0207"] == []
    built = fgc.compile(path, tmp_path / "build", search, variables, import_modules=False)
    manifest = json.loads((built.dir / "fgc-manifest.json").read_text())
    assert manifest["template_variables"] == variables
    recorded = {k: v["default"] for k, v in manifest["variables"].items()}
    assert {k: recorded[k] for k in KNOBS if k not in NOT_VARS} == {k: v for k, v in KNOBS.items() if k not in NOT_VARS}


@needs_torch("builds the trainer, model and tokenizer the knobs configure")
@pytest.mark.parametrize("mode", ["child", "-D"])
@pytest.mark.parametrize("project", ["quickstart", "causal_lm"])
def test_knobs_reach_construct(project, mode, tmp_path):
    """All knobs at once: what construct("main") builds."""
    path, search, variables = all_knobs(project, mode, tmp_path)
    built = fgc.compile(path, tmp_path / "build", search, variables)
    script = built.load().construct("main")
    values = built_values(script)
    assert values.pop("output_dir").endswith("runs/elsewhere")
    assert values == {k: v for k, v in KNOBS.items() if k != "output_dir"}
