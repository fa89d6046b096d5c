"""docs/tutorial.md's step 3 is what it says: its experiment gives the diagnostic it shows, and,
fixed, each one-line knob reaches the part it names; the pattern for everything else (a
sub-template amending one block of an included hierarchy) reaches the trainer's arguments."""

from __future__ import annotations

import re
import subprocess
import sys

import fgc as fgc_api
from examples_testlib import ENV, REPO

TUTORIAL = (REPO / "docs" / "tutorial.md").read_text()
STEP_3 = TUTORIAL[TUTORIAL.index("## 3. ") : TUTORIAL.index("## 4. ")]
EXPERIMENT, PATTERN = re.findall(r"```yaml\n(.*?)```", STEP_3, re.S)


def shown_output(command: str) -> str:
    """The indented output the tutorial shows under `$ command`, unindented."""
    lines = STEP_3[STEP_3.index(f"    $ {command}\n") :].splitlines()[1:]
    return "\n".join(line[4:] for line in lines[: lines.index("")]) + "\n"


def test_the_mistake_is_reported_as_shown(tmp_path):
    (tmp_path / "my_exp.fg").write_text(EXPERIMENT)
    done = subprocess.run([sys.executable, "-m", "fgc", "check", "my_exp.fg"], capture_output=True, text=True,
                          env=ENV, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout + done.stderr == shown_output("fgc check my_exp.fg")


def test_each_knob_is_one_line_and_reaches_its_part(tmp_path):
    fixed = EXPERIMENT.replace("weight_decy:", "weight_decay:")
    # the pattern for the rest: the [trainer] block of the tutorial, then its sub-template
    (tmp_path / "my_exp.fg").write_text(fixed + "\n" + PATTERN)
    assert list(fgc_api.check(tmp_path / "my_exp.fg")) == []
    config = fgc_api.compile(tmp_path / "my_exp.fg", tmp_path / "build").load()
    main = config.construct("main", output_dir=str(tmp_path / "run"))
    trainer = main.trainer
    args = trainer.args
    assert (args.max_steps, args.per_device_train_batch_size, args.gradient_accumulation_steps) == (100, 8, 2)
    assert args.max_grad_norm == 0.5  # from the sub-template; the other arguments are the library's
    assert args.logging_steps == 50
    model = trainer.model.config
    assert (model.hidden_size, model.num_hidden_layers, model.num_attention_heads, model.vocab_size) == (96, 3, 4, 512)
    group = trainer.create_optimizer().param_groups[0]  # what the trainer builds when it starts
    assert (group["lr"], tuple(group["betas"]), group["weight_decay"]) == (2.0e-3, (0.9, 0.95), 0.1)
