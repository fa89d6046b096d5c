"""A user's child template that gets something wrong inside a stdlib block is told so at the
child's own line and column, with a did-you-mean where there is one, and nothing else is reported.

Each case is an experiment file whose offending lines end in an annotation (a `##` comment, which
renders as nothing):  `## <- CODE @ token ? hint`  -- a diagnostic CODE at this line, at the
column of `token` in it, whose hint mentions `hint`."""

from __future__ import annotations

import re

import pytest

from stdlib_testlib import check, write

CASES = {
    # A misspelt field of TrainingArguments in the documented idiom: a sub-template that extends
    # the trainer template, included by the project's [trainer] block.
    "trainer-argument": """\
-- extends 'scripts/causal_lm.fg'
[trainer]
    -- include 'exp.trainer'

#--- exp.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_args]
    == super()
    lerning_rate: 1.0e-3  ## <- FG0611 @ lerning_rate ? learning_rate
""",
    "transformers-trainer-argument": """\
-- extends 'scripts/causal_lm.fg'
[trainer]
    -- include 'exp.trainer'

#--- exp.trainer ---
-- extends 'trainers/hf_trainer.fg'
[trainer_args]
    == super()
    gradient_acumulation_steps: 4  ## <- FG0611 @ gradient_acumulation_steps ? gradient_accumulation_steps
""",
    "optimizer-key": """\
-- extends 'scripts/causal_lm.fg'
[optimizer]
    == super()
    lrr: 3.0e-3  ## <- FG0611 @ lrr ? lr
""",
    "callback-class": """\
-- extends 'scripts/causal_lm.fg'
[trainer]
    -- include 'exp.trainer'

#--- exp.trainer ---
-- extends 'trainers/trainer.fg'
[trainer_callbacks]
    == super()
    json_logs: ~
    tb: !singleton:forgather.ml.trainer:TensorBoardLoger  ## <- FG0603 @ !singleton ? TensorBoardLogger
""",
    "data-key": """\
-- extends 'scripts/causal_lm.fg'
[data]
    -- include 'exp.data'

#--- exp.data ---
-- extends 'data/causal_lm.fg'
[train_dataset]
    == super()
    drop_remaindr: true  ## <- FG0611 @ drop_remaindr ? drop_remainder
""",
    "block-name": """\
-- extends 'scripts/causal_lm.fg'
[optimiser]  ## <- FG0203 @ optimiser ? optimizer
    -- include 'optimizers/sgd.fg'
""",
    # The trainer template is included by the project, not extended: its blocks are overridden
    # through a sub-template (the hint says so), not from the project's child.
    "block-of-an-included-template": """\
-- extends 'scripts/causal_lm.fg'
[trainer_args]  ## <- FG0203 @ trainer_args ? trainers/trainer.fg
    == super()  ## never runs: a note of the FG0203
    gradient_accumulation_steps: 4
""",
    # The quick-start pattern: the project's model made smaller in a sub-template.
    "model-hyperparameter": """\
-- extends 'scripts/causal_lm.fg'
[model]
    -- include 'exp.model'

#--- exp.model ---
-- extends 'scripts/causal_lm.model'
[hyperparameters]
    == super()
    hiden_size: 64  ## <- FG0722 @ hiden_size ? hidden_size
""",
    "undefined-alias": """\
-- extends 'scripts/causal_lm.fg'
[trainer]
    == super()
    compute_loss_func: *loss  ## <- FG0501 @ *loss
""",
    "indentation": """\
-- extends 'scripts/causal_lm.fg'
[optimizer]
    == super()
        lr: 3.0e-3  ## <- FG0402 @ lr ? align
""",
    "template-name": """\
-- extends 'scripts/causal_lm.fg'
[trainer]
    -- include 'trainers/hf_trainr.fg'  ## <- FG0201 @ 'trainers/hf_trainr.fg' ? trainers/hf_trainer.fg
""",
}

ANNOTATION = re.compile(r"## <- (FG\d{4}) @ (\S+)(?: \? (\S+))?$")


def expected(text: str) -> list[tuple]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = ANNOTATION.search(line)
        if match:
            code, token, hint = match.groups()
            found.append((code, number, line.index(token) + 1, hint))
    return found


@pytest.mark.parametrize("case", list(CASES))
def test_mistake_reported_at_the_child(case, tmp_path):
    text = CASES[case]
    diagnostics = check(write(tmp_path, text))
    where = [(d.code, d.span.file, d.span.line, d.span.col) for d in diagnostics]
    want = expected(text)
    assert [(code, str(tmp_path / "exp.fg"), line, col) for code, line, col, _ in want] == where, "\n".join(
        map(str, diagnostics)
    )
    for diagnostic, (_, _, _, hint) in zip(diagnostics, want):
        if hint:
            assert hint in (diagnostic.hint or ""), diagnostic
