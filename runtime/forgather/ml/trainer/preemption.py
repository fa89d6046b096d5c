"""Stop or save on request, every rank at the same step: signals and `fgc ctl`.

`PreemptionCallback` is a ``transformers.TrainerCallback`` that uses HF's control protocol only
(``control.should_save``, ``control.should_training_stop``), so it drives our Trainer and
``transformers.Trainer`` alike; TrainingScript adds it to every trainer it runs.

- While training, SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 (SLURM's `--signal` warning) only
  note the request: the step in progress finishes. A second Ctrl-C aborts a process that runs
  alone (in a launch, the launcher does that for the whole job).
- `fgc ctl RUN_DIR save|stop` writes a request into the run directory (`.fgc/control.json`,
  forgather_files.runs); rank 0 reads it.
- Every `check_every` steps, at the end of the step, the ranks agree: each contributes
  (action, signal, request id) to a tiny all-reduce (a CPU tensor on a gloo group), so a signal
  that reached one process, or a request that rank 0 read, is acted on by every rank at the same
  step, and no rank waits in a collective the others never enter.
- Agreed on a save or a stop: ``should_save`` makes the trainer write ``checkpoint-<step>`` (also
  with ``save_strategy="no"``); when it is written (``on_save``), rank 0 acknowledges the
  request (`.fgc/control-done.json`) and, for a stop, writes the stop note (`.fgc/stop.json`)
  and ``should_training_stop`` ends training. `stopped` then holds a `RunStopped` for the script
  to raise (`fgc run` records the run as preempted).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from forgather_files.checkpoints import checkpoint_name
from forgather_files.runs import (
    CONTROL_DONE,
    CONTROL_REQUEST,
    PROGRESS,
    RUN_DIR_ENV,
    STOP_NOTE,
    RunStopped,
    process_dir,
    read_json,
    write_json,
)
from transformers import TrainerCallback

logger = logging.getLogger(__name__)

STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2")
_ACTIVE: list["PreemptionCallback"] = []  # the callbacks of the trainings running in this process
NONE, SAVE, STOP = 0, 1, 2
PROGRESS_EVERY_S = 2.0  # rank 0 writes the step it reached at most this often (`fgc ctl status`)


class PreemptionCallback(TrainerCallback):
    """Save now, or save and stop, at the end of a step, when a signal or `fgc ctl` asks.

    Args:
        signals: the names of the signals that stop training gracefully.
        check_every: agree across ranks every this many steps (one tiny all-reduce each time).
        run_dir: where `fgc ctl` requests are read and notes written; default ``$FGC_RUN_DIR``,
            else the trainer's ``output_dir``.
        abort_on_second_interrupt: a second SIGINT raises KeyboardInterrupt; default: when this
            process runs alone (not under torchrun, where the launcher handles a second Ctrl-C).
    """

    def __init__(self, signals: tuple[str, ...] | list[str] = STOP_SIGNALS, check_every: int = 1,
                 run_dir: str | os.PathLike | None = None, abort_on_second_interrupt: bool | None = None) -> None:
        if check_every < 1:
            raise ValueError(f"check_every must be at least 1, got {check_every}")
        unknown = [s for s in signals if not hasattr(signal, s)]
        if unknown:
            raise ValueError(f"unknown signal names: {', '.join(unknown)}")
        self.signals = tuple(signals)
        self.check_every = check_every
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.abort_on_second_interrupt = (
            "LOCAL_RANK" not in os.environ if abort_on_second_interrupt is None else abort_on_second_interrupt
        )
        self.stopped: RunStopped | None = None  # set when training stopped on request
        self.first_step: int | None = None  # the step training (re)started from
        self._received: list[int] = []
        self._previous: dict[int, Any] = {}
        self._pending: dict[str, Any] | None = None
        self._handled_request = 0
        self._last_progress = 0.0
        self._rank, self._world, self._group = 0, 1, None

    # --------------------------------------------------------------------------------- events

    def on_train_begin(self, args, state, control, **kwargs):
        self.stopped, self._pending, self._received = None, None, []
        self.first_step = state.global_step
        self.run_dir = self.run_dir or Path(os.environ.get(RUN_DIR_ENV) or args.output_dir)
        self._rank, self._world, self._group = _process_group()
        self._handled_request = int(read_json(self._dir / CONTROL_DONE).get("id") or 0)
        self._install()
        _ACTIVE.append(self)

    def on_step_end(self, args, state, control, **kwargs):
        if self._pending is not None:  # agreed, not saved yet (save_strategy='best' kept it back)
            control.should_save = True
            return control
        if state.global_step % self.check_every:
            return control
        rows = self._agree(self._local_request())
        if any(row[0] for row in rows):
            self._pending = _decision(rows)
            control.should_save = True
        if self._rank == 0:
            self._write_progress(state)
        return control

    def on_save(self, args, state, control, **kwargs):
        pending, self._pending = self._pending, None
        if pending is None:
            return control
        checkpoint = str(Path(args.output_dir) / checkpoint_name(state.global_step))
        if self._rank == 0 and pending["request"]:
            write_json(self._dir / CONTROL_DONE, {"id": pending["request"], "action": pending["request_action"],
                                                  "step": state.global_step, "checkpoint": checkpoint,
                                                  "time": time.time()})
        if pending["action"] == STOP:
            self.stopped = RunStopped(state.global_step, checkpoint, pending["reason"], pending["signal"],
                                      pending["ranks"])
            if self._rank == 0:
                write_json(self._dir / STOP_NOTE, {**self.stopped.note(), "time": time.time()})
            control.should_training_stop = True
        if self._rank == 0:
            done = "stopped" if pending["action"] == STOP else "saved"
            _say(f"{done} at step {state.global_step} ({pending['reason']}): {checkpoint}")
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self._pending is not None and self._pending["action"] == STOP and state.global_step < state.max_steps:
            # agreed, but the trainer never saved: stopped without a checkpoint
            p = self._pending
            self.stopped = RunStopped(state.global_step, None, p["reason"], p["signal"], p["ranks"])
        self._pending = None
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.stopped is None:
            self._restore()
        # else the process is ending on request: a late copy of the stop signal (a launcher and
        # a scheduler both sent it) must not turn the stop into an interruption

    # ---------------------------------------------------------------------------- requests

    @property
    def _dir(self) -> Path:
        return process_dir(self.run_dir or ".")

    def _local_request(self) -> list[int]:
        """(action, signal, request id) of this process."""
        action, signum, request = NONE, 0, 0
        if self._received:
            action, signum = STOP, self._received[0]
        if self._rank == 0:
            asked = read_json(self._dir / CONTROL_REQUEST)
            rid = int(asked.get("id") or 0)
            if rid > self._handled_request and asked.get("action") in ("save", "stop"):
                self._handled_request = rid
                request = rid * 2 + (asked["action"] == "stop")
                action = max(action, STOP if asked["action"] == "stop" else SAVE)
        return [action, signum, request]

    def _agree(self, row: list[int]) -> list[list[int]]:
        if self._world == 1:
            return [row]
        import torch
        import torch.distributed as dist

        table = torch.zeros(self._world, 3, dtype=torch.int64)
        table[self._rank] = torch.tensor(row, dtype=torch.int64)
        dist.all_reduce(table, group=self._group)  # every rank fills its own row: the sum is the table
        return table.tolist()

    def _write_progress(self, state: Any) -> None:
        now = time.time()
        if now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._last_progress = now
        try:
            write_json(self._dir / PROGRESS, {"step": state.global_step, "max_steps": state.max_steps,
                                               "epoch": state.epoch, "time": now})
        except OSError as e:  # progress is for `fgc ctl status`; training goes on
            logger.debug("cannot write %s: %s", self._dir / PROGRESS, e)

    # ------------------------------------------------------------------------------ signals

    def _install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # Python delivers signals to the main thread only
        for name in self.signals:
            number = getattr(signal, name)
            try:
                self._previous[number] = signal.signal(number, self._on_signal)
            except (OSError, ValueError):
                pass

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and signal.SIGINT in self._received and self.abort_on_second_interrupt:
            self._restore()
            raise KeyboardInterrupt
        first = not self._received
        self._received.append(signum)
        if first:
            again = " (Ctrl-C again aborts)" if self.abort_on_second_interrupt else ""
            _say(f"{signal.Signals(signum).name}: finishing the step, then a checkpoint and stop{again}")

    def requested(self) -> int | None:
        """The first stop signal this process received since training began, if any."""
        return self._received[0] if self._received else None


def stop_requested() -> int | None:
    """The stop signal this process received during the training in progress, if any (code that
    runs long inside a step, a long evaluation, may end early on it)."""
    for callback in _ACTIVE:
        if callback.requested() is not None:
            return callback.requested()
    return None


def _decision(rows: list[list[int]]) -> dict[str, Any]:
    """What the ranks agreed on: a stop when any asked to stop, else a save."""
    action = max(row[0] for row in rows)
    signalled = [(rank, row[1]) for rank, row in enumerate(rows) if row[1]]
    request = rows[0][2]
    request_action = "stop" if request % 2 else "save"
    if signalled:
        rank, number = signalled[0]
        reason = f"{signal.Signals(number).name}" + (f" on rank {rank}" if len(rows) > 1 else "")
    else:
        number, reason = 0, f"fgc ctl {request_action}"
    return {"action": action, "signal": number or None, "reason": reason,
            "ranks": [rank for rank, _ in signalled], "request": request // 2, "request_action": request_action}


def _process_group() -> tuple[int, int, Any]:
    """(rank, world size, the group to agree on): the default group when it is gloo, else a gloo
    group made now (every rank calls on_train_begin, so every rank makes it)."""
    try:
        import torch.distributed as dist
    except ImportError:
        return 0, 1, None
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return 0, 1, None
    group = None
    if "gloo" not in str(dist.get_backend()):
        group = dist.new_group(backend="gloo")
    return dist.get_rank(), dist.get_world_size(), group


def _say(message: str) -> None:
    print(f"forgather: {message}", file=sys.stderr, flush=True)
