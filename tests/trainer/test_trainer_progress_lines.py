"""ProgressCallback prints each log record on a line of its own, above whatever bar is open:
the train bar, or the bar of an evaluation whose metrics are logged before it closes (the final
evaluation of TrainingScript runs after the train bar is gone)."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest

from forgather.ml.trainer.callbacks import ProgressCallback

STATE = SimpleNamespace(is_world_process_zero=True, global_step=600, max_steps=600)


def lines(text: str) -> list[str]:
    """What a terminal shows line by line: bar redraws (\\r) split apart, cursor moves dropped."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    return [part.strip() for part in re.split(r"[\r\n]", text) if part.strip()]


@pytest.mark.parametrize("train_bar", [True, False], ids=["during training", "after training"])
def test_eval_metrics_get_a_line_of_their_own(train_bar):
    stream = io.StringIO()
    progress = ProgressCallback(stream=stream)
    if train_bar:
        progress.on_train_begin(None, STATE, None)
    for _ in range(2):
        progress.on_prediction_step(None, STATE, None, eval_dataloader=[0, 1, 2])
    progress.on_log(None, STATE, None, logs={"eval_loss": 3.134})
    progress.on_evaluate(None, STATE, None)
    progress.on_log(None, STATE, None, logs={"loss": 3.0})
    shown = lines(stream.getvalue())
    assert "step 600 | eval_loss 3.134" in shown, shown
    assert "step 600 | loss 3" in shown, shown


def test_without_a_bar_the_line_is_printed():
    stream = io.StringIO()
    ProgressCallback(stream=stream).on_log(None, STATE, None, logs={"loss": 2.5})
    assert stream.getvalue() == "step 600 | loss 2.5\n"
