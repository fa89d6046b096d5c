"""Helpers of the template-library tests: write an experiment, check it, build it, construct it.

Experiments here are tiny versions of what a user writes: a child of scripts/causal_lm.fg that
sets the knobs small and includes a tiny model, so that everything constructs and trains on a CPU
in seconds.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import fgc

# Knobs of scripts/causal_lm.fg, set small (template variables, as a child sets them).
TINY_KNOBS = """\
-- set config_name = 'tiny'
-- set corpus_files = 8
-- set vocab_size = 320
-- set block_size = 32
-- set max_steps = 6
-- set warmup_steps = 2
-- set batch_size = 4
-- set eval_batch_size = 8
-- set logging_steps = 2
-- set eval_steps = 3
-- set save_steps = 3
"""

# The project's model (models/llama.fg with the `vocab_size` variable), made tiny: the same
# override the quick-start example makes.
TINY_MODEL = """\
#--- tiny.model ---
-- extends 'scripts/causal_lm.model'
[hyperparameters]
    == super()
    hidden_size: 32
    num_attention_heads: 2
    num_key_value_heads: 1
    num_hidden_layers: 1
    intermediate_size: 64
"""


def tiny_project(blocks: str = "", subtemplates: str = "", model: str = "tiny.model") -> str:
    """A child of scripts/causal_lm.fg with the tiny knobs, its [model] block including the
    sub-template `model`, plus `blocks` (more overrides) and `subtemplates` (after the tiny model)."""
    return (
        "-- extends 'scripts/causal_lm.fg'\n"
        + TINY_KNOBS
        + f"[model]\n    -- include '{model}'\n"
        + blocks
        + "\n"
        + TINY_MODEL
        + subtemplates
    )


def write(directory: Path, text: str, name: str = "exp.fg") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def check(path: Path) -> list:
    """Every diagnostic of the whole pipeline (warnings too)."""
    return list(fgc.check(path))


def build(path: Path) -> ModuleType:
    """Compile `path` next to itself and import the build."""
    return fgc.load(fgc.compile(path, path.parent / f"build-{path.stem}").dir)


def located(diagnostic) -> tuple:
    """(code, file name, line, column) of a diagnostic, for comparisons."""
    span = diagnostic.span
    return (diagnostic.code, Path(span.file).name, span.line, span.col)


DATA_ANCHORS = ("train_documents", "eval_documents", "tokenizer", "train_dataset", "eval_dataset", "data_collator")


def data_experiment(template: str, blocks: str = "") -> str:
    """A config whose target `data` is a dict of a data template's anchors; `blocks` are the
    child's overrides of that template's blocks."""
    targets = ", ".join(f"{a}: *{a}" for a in DATA_ANCHORS)
    return (
        "-- include 'exp.data'\n\n"
        f"data: !dict {{ {targets} }}\n"
        "#--- exp.data ---\n"
        f"-- extends '{template}'\n" + blocks
    )


def trainer_experiment(template: str, blocks: str = "") -> str:
    """A config with the target `trainer`: template `template` (trainers/*.fg) extended by a child
    with `blocks`, after the anchors it uses (the data pipeline, a tiny Llama, AdamW, a constant
    schedule), written without the project template."""
    return f"""\
-- include 'exp.data'

-- include 'exp.model'

-- include 'optimizers/adamw.fg'

-- include 'optimizers/schedulers/constant.fg'
    warmup_steps: 1

-- include 'exp.trainer'

trainer: *trainer
#--- exp.data ---
-- extends 'data/causal_lm.fg'
#--- exp.model ---
-- extends 'models/llama.fg'
[hyperparameters]
    == super()
    vocab_size: 320
    hidden_size: 32
    num_attention_heads: 2
    num_key_value_heads: 1
    num_hidden_layers: 1
    intermediate_size: 64
#--- exp.trainer ---
-- extends '{template}'
{blocks}"""


# Variables of a trainer experiment: tiny data and a short run.
TRAINER_VARIABLES = dict(
    corpus_files=6, vocab_size=320, block_size=32, max_steps=4, batch_size=2, eval_batch_size=4,
    logging_steps=1, eval_steps=2, save_steps=2,
)
