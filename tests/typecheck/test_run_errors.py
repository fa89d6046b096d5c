"""`fgc run` errors at the line the user wrote: an exception in the user's own module at the
module's original file and line (the build's copy as a note; the copy itself once the original
changed), and a failing block of the template library at the child's lines that give its
arguments (fgc/cli/value_origins.py). Real builds, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BOOM = '''\
"""A user module that fails."""


def explode(n: int):
    values = [1, 2]
    return values[n]
'''

WALSH = '''\
"""A user's positional encoding block that rejects a size."""

from torch import nn


class WalshPE(nn.Module):
    def __init__(self, d_model: int) -> None:
        super().__init__()
        if d_model & (d_model - 1):
            raise ValueError(f"WalshPE needs a power-of-two d_model, got {d_model}")
        self.d_model = d_model

    def forward(self, x, position_ids):
        return x
'''

MODEL = """\
-- extends 'scripts/causal_lm.fg'
[model]
    -- include 'exp.model'

#--- exp.model ---
-- extends 'scripts/causal_lm.model'
{blocks}[hyperparameters]
    == super()
    hidden_size: 48
    num_attention_heads: {heads}
    num_key_value_heads: 1
    num_hidden_layers: 1
    intermediate_size: 64
"""

WALSH_BLOCK = """\
[positional_encoder]
        positional_encoder_factory: !partial:.walsh_pe:WalshPE
            d_model: !var "hidden_size"
"""


def fgc(*args, cwd):
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "fgc", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def compile_and_run(tmp_path, *run_args, edit=None):
    done = fgc("compile", "exp.fg", "-o", "build", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if edit:
        edit()
    done = fgc("run", "build", *run_args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def primary(stderr: str) -> str:
    """The first ` --> file:line:col` of the report."""
    return next(line.split("--> ", 1)[1] for line in stderr.splitlines() if "--> " in line)


def notes(stderr: str) -> list[tuple[str, str]]:
    """(note text, its position) pairs, in order."""
    lines = stderr.splitlines()
    return [
        (line.split("= note: ", 1)[1], lines[i + 1].split("--> ", 1)[1])
        for i, line in enumerate(lines)
        if "= note: " in line and i + 1 < len(lines) and "--> " in lines[i + 1]
    ]


def test_exception_in_a_user_module_at_its_original_line(tmp_path):
    (tmp_path / "boom.py").write_text(BOOM)
    (tmp_path / "exp.fg").write_text("main: !singleton:.boom:explode\n    n: 3\n")
    err = compile_and_run(tmp_path)
    assert "error[FG0710]: building target `main` failed: IndexError: list index out of range" in err
    assert primary(err) == "boom.py:6:12"
    assert notes(err) == [
        ("the build's copy ran here, in explode()", "build/modules/boom.py:6:12"),
        ("`n` (3) is given here", "exp.fg:2:5"),  # the argument the user wrote, as context
        ("!singleton:.boom:explode, the tag that built it", "exp.fg:1:7"),
    ]


def test_changed_original_falls_back_to_the_build_copy(tmp_path):
    (tmp_path / "boom.py").write_text(BOOM)
    (tmp_path / "exp.fg").write_text("main: !singleton:.boom:explode\n    n: 3\n")

    def edit():  # the line numbers of the original no longer match what ran
        (tmp_path / "boom.py").write_text("# edited\n\n" + BOOM)

    err = compile_and_run(tmp_path, edit=edit)
    assert primary(err) == "build/modules/boom.py:6:12"
    assert "help: the original module changed after `fgc compile`" in err


def test_user_block_inside_a_model_at_its_original_line(tmp_path):
    """The user's block fails while the model is built: at its own line; the value it names
    (`d_model`, 48) back to the child's hyper-parameter, and the user's tag that built it."""
    (tmp_path / "walsh_pe.py").write_text(WALSH)
    (tmp_path / "exp.fg").write_text(MODEL.format(blocks=WALSH_BLOCK, heads=4))
    err = compile_and_run(tmp_path, "--target", "model")
    assert "ValueError: WalshPE needs a power-of-two d_model, got 48" in err
    assert primary(err) == "walsh_pe.py:10:13"
    found = notes(err)
    assert found[0] == ("the build's copy ran here, in __init__()", "build/model/walsh_pe.py:10:13")
    assert ("`d_model` gets its value here", "exp.fg:12:5") in found  # hidden_size: 48
    assert ("`d_model` is written here", "exp.fg:9:22") in found  # the block's `d_model: !var "hidden_size"`
    assert ("!partial:.walsh_pe:WalshPE, the tag that built it", "exp.fg:8:37") in found


@pytest.mark.parametrize("heads", [5])
def test_library_node_failure_at_the_childs_line(tmp_path, heads):
    """48 features in 5 heads give RotaryPE (the template library's block) an odd head_dim: the
    message names no argument and nothing came from the command line, so which value caused it
    is not known: the report is at the tag that built the block, and the block's arguments that
    the child wrote (its hyper-parameters) are notes; never an unrelated line."""
    (tmp_path / "exp.fg").write_text(MODEL.format(blocks="", heads=heads))
    err = compile_and_run(tmp_path, "--target", "model")
    assert "building target `model` failed" in err
    assert "while building !partial:forgather.ml.models.rotary_pe:RotaryPE" in err
    assert "stdlib/models/llama.fg:" in primary(err)  # positional_encoder_factory: !partial:...RotaryPE
    found = notes(err)
    assert ("`d_model` (48) is given here", "exp.fg:9:5") in found  # hidden_size: 48
    assert ("`num_heads` (5) is given here", "exp.fg:10:5") in found  # num_attention_heads: 5
