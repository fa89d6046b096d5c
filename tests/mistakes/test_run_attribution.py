"""Errors of `fgc run` at the origin of the value that caused them (fgc/cli/value_origins.py),
else at the tag that built the failing object; never at an unrelated line, never on the
progress bar's line. Real builds, run as a user runs them.

The plain cases build `datetime.date` (its message names the argument: "month must be in
1..12") and `threading.Timer` (an error raised later, inside `.run()`, by an object the config
built); one trains a tiny GPT-2 whose learned positions are shorter than the blocks, so that
the forward fails under the progress bar (issue 20: errors raised during training)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DATE = """\
-- set month = month | default(5)
main: !singleton:datetime:date
    year: 2024
    month: !var { name: month, default: {{ month }} }
    day: 1
"""

TIMER = """\
main: !singleton:threading:Timer@main
    interval: 0
    function: !singleton:operator:itemgetter [ 5 ]
    args: [ x1 ]
spare: !singleton:threading:Timer
    interval: 1
    function: !partial:print
"""


def fgc(cwd: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fgc", *words], cwd=cwd, capture_output=True, text=True)


def failed_run(cwd: Path, source: str, *run_args: str, compile_args: tuple[str, ...] = ()) -> str:
    done = fgc(cwd, "compile", source, "-o", "build", *compile_args)
    assert done.returncode == 0, done.stderr
    done = fgc(cwd, "run", "build", *run_args)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "error[FG0710]" in done.stderr
    return done.stderr


def primary(stderr: str) -> str | None:
    """The position of the report (the first ` --> ` before any note), or None."""
    for line in stderr.splitlines():
        if "= note:" in line:
            return None
        if "--> " in line:
            return line.split("--> ", 1)[1]
    return None


@pytest.fixture
def date(tmp_path: Path) -> Path:
    (tmp_path / "base.fg").write_text(DATE)
    return tmp_path


def test_a_childs_knob(date):
    (date / "child.fg").write_text("-- extends 'base.fg'\n-- set month = 13\n")
    err = failed_run(date, "child.fg")
    assert "ValueError: month must be in 1..12" in err
    assert "the value of `month` (13) is set here" in err
    assert primary(err) == "child.fg:2:8"  # `-- set month = 13`, not the template library's line


def test_a_set_on_the_command_line(date):
    err = failed_run(date, "base.fg", "--set", "month=13")
    assert "the value of `month` (13) comes from `--set month=13`" in err
    assert primary(err) == "build/sources/base.fg:2:7" or primary(err) == "base.fg:2:7"  # the tag


def test_a_define_at_compile_time(date):
    err = failed_run(date, "base.fg", compile_args=("-D", "month=13"))
    assert "the value of `month` (13) comes from `-D month=13`" in err


def test_an_error_inside_a_built_object_names_its_tag(tmp_path):
    """Timer.run() calls itemgetter(5)('x1'): the error is raised while the target runs, inside
    an object the config built; two nodes build a Timer, so only the generated module's registry
    of what each named node built tells them apart."""
    (tmp_path / "exp.fg").write_text(TIMER)
    err = failed_run(tmp_path, "exp.fg")
    assert "running target `main` failed: IndexError: string index out of range" in err
    assert "in the object built by !singleton:threading:Timer@main" in err
    assert primary(err) == "exp.fg:1:7"


GPT = """\
-- extends 'scripts/causal_lm.fg'
-- set config_name = 'gpt'
-- set corpus_files = 8
-- set vocab_size = 320
-- set block_size = 64
-- set max_steps = 2
-- set batch_size = 2
-- set eval_strategy = 'no'
-- set save_strategy = 'no'
[model]
    -- include 'gpt.model'

#--- gpt.model ---
-- extends 'models/gpt2.fg'
[hyperparameters]
    == super()
    vocab_size: {{ vocab_size }}
    hidden_size: 32
    num_attention_heads: 2
    num_hidden_layers: 1
    intermediate_size: 64
    max_position_embeddings: 16
"""


def test_an_error_in_training_is_at_the_tag_and_on_its_own_line(tmp_path):
    """Blocks of 64 tokens, learned positions for 16: the forward fails at the first step, under
    the progress bar. The report starts on a line of its own and points at the positional
    encoder's tag (the object whose forward raised), the Python frames as notes."""
    (tmp_path / "exp.fg").write_text(GPT)
    err = failed_run(tmp_path, "exp.fg", "--output-dir", "run")
    assert "running target `main` failed: IndexError: index out of range in self" in err
    assert "in the object built by !partial:forgather.ml.models.learned_pe:LearnedPE" in err
    assert re.search(r"stdlib/models/gpt2\.fg:\d+:\d+$", primary(err) or "")
    assert "raised in forward()" in err
    for line in err.splitlines():  # never glued to the bar: `train: ...it/s]error[FG0710]...`
        assert "error[" not in line or line.startswith("error[FG0710]"), line
