"""The mistakes of issue 9, caught by `fgc check` at the user's line with the argument named:
a model hyper-parameter (through the definition's `!var`s to the block that takes it) and a
TrainingArguments field, both written in a child of the template library's training project.
A warm check finds them from the signature cache without importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

EXPERIMENT = """\
-- extends 'scripts/causal_lm.fg'
[model]
    -- include 'exp.model'
[trainer]
    -- include 'exp.trainer'

#--- exp.model ---
-- extends 'scripts/causal_lm.model'
[hyperparameters]
    == super()
    num_hidden_layers: two

#--- exp.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_args]
    == super()
    gradient_accumulation_steps: four
"""

EXPECTED = [
    (
        11,
        24,
        27,
        "`num_layers` of `forgather.ml.models.layer_stack:LayerStack` (through hyper-parameter "
        "`num_hidden_layers`) expects int, got the string 'two'",
    ),
    (
        17,
        34,
        38,
        "`gradient_accumulation_steps` of `forgather.ml.trainer:TrainingArguments` expects int, "
        "got the string 'four'",
    ),
]

PROBE = textwrap.dedent("""
    import sys
    from fgc.cli.main import main
    code = main(["check", sys.argv[1], "--format", "json"])
    print("exit", code, "torch" in sys.modules)
    """)


def _check(path, cache):
    env = dict(os.environ, FGC_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, env=env)
    *records, status = done.stdout.splitlines()
    return [json.loads(r) for r in records], status.split(), done.stderr


def test_type_mistakes_at_the_users_line(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(EXPERIMENT)
    cache = tmp_path / "cache"
    for warm in (False, True):
        records, status, stderr = _check(path, cache)
        assert stderr == ""
        found = [
            (d["line"], d["col"], d["end_col"], d["message"])
            for d in records
            if d["file"] == str(path) and d["code"] == "FG0620"
        ]
        assert found == EXPECTED
        assert [d["code"] for d in records] == ["FG0620", "FG0620"]
        # exit 1; the cold check imports torch to read the signatures, the warm one does not.
        assert status == ["exit", "1", str(not warm)]


def test_the_corrected_experiment_checks_clean(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(EXPERIMENT.replace(": two", ": 2").replace(": four", ": 4"))
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "check", str(path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, FGC_CACHE_DIR=str(tmp_path / "cache")),
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_one_report_for_a_hyperparameter_that_feeds_every_block(tmp_path):
    import fgc as api

    path = tmp_path / "exp.fg"
    path.write_text(EXPERIMENT.replace("num_hidden_layers: two", "hidden_size: big"))
    found = [(d.span.line, d.span.col) for d in api.check(path) if d.code == "FG0620"]
    assert found.count((11, 18)) == 1  # d_model of input encoder, attention, norms, head...
    assert found == [(11, 18), (17, 34)]


KNOB_CHILD = """\
-- extends 'scripts/causal_lm.fg'
## the knob idiom: the library renders the value far from this line
-- set max_steps = max_steps | default("ten")
"""


def _knob_notes(path, **variables):
    import fgc as api

    found = [d for d in api.check(path, variables=variables) if d.code == "FG0620"]
    assert found, "the string reaches an int parameter"
    return [[(r.span and (r.span.file, r.span.line, r.span.col), r.message) for r in d.related] for d in found]


def test_a_knobs_type_mistake_notes_the_users_set(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(KNOB_CHILD)
    for notes in _knob_notes(path):
        assert notes == [((str(path), 3, 8), "`max_steps` gets its value here")]


def test_a_d_type_mistake_notes_the_command_line(tmp_path):
    path = tmp_path / "exp.fg"
    path.write_text(KNOB_CHILD)
    for notes in _knob_notes(path, max_steps="ten"):  # -D wins over `x | default(...)`
        assert notes == [(None, "`max_steps` gets its value from `-D max_steps='ten'`")]
