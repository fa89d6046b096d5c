"""A trainer callback that adds two numbers to every log record: `optimizer_state_bytes`, the
memory the optimizer's state holds (forgather.ml.optim.state_bytes: every tensor storage in
`optimizer.state`, counted once), and `step_seconds`, the mean wall time of the optimizer steps
since the previous record (forward, backward and update).

It changes the `logs` dictionary in place, so the loggers that come after it in the trainer's
callbacks write both numbers with the loss.
"""

import time

from transformers import TrainerCallback

from forgather.ml.optim import state_bytes


class OptimizerStats(TrainerCallback):
    def __init__(self):
        self.started = None
        self.seconds = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self.started is not None:
            self.seconds.append(time.perf_counter() - self.started)
            self.started = None

    def on_log(self, args, state, control, logs=None, optimizer=None, **kwargs):
        if logs is None or "loss" not in logs:  # the end-of-training summary, evaluations
            return
        if optimizer is not None:
            logs["optimizer_state_bytes"] = state_bytes(optimizer)
        if self.seconds:
            logs["step_seconds"] = sum(self.seconds) / len(self.seconds)
            self.seconds = []
