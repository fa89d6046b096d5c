"""PauseAt, a trainer callback that pauses a run at chosen steps until something a test does has
reached it (a stop signal, or an `fgc ctl` request): tests signal a job at a step they know, never
by timing. Tests copy this file next to their templates (`pause_at.py`) and reference it as
`!singleton:.pause_at:PauseAt` (tests/runs/jobs_testlib.py, tests/sweep/test_sweep_runs.py)."""

import json
import os
import time
from pathlib import Path

from transformers import TrainerCallback


class PauseAt(TrainerCallback):
    def __init__(self, pauses, marker_dir, node=0):
        # pauses: "3:request,5:signal" (step:what to wait for), or "" for none
        self.pauses = dict((int(p.split(":")[0]), p.split(":")[1]) for p in pauses.split(",") if p)
        self.marker_dir, self.node = Path(marker_dir or "."), node

    def on_step_end(self, args, state, control, **kwargs):
        wait_for = self.pauses.get(state.global_step)
        if wait_for is None or int(os.environ.get("FGC_NODE_RANK", "0")) != self.node:
            return
        if int(os.environ.get("LOCAL_RANK", "0")) != 0:
            return
        marker = self.marker_dir / f"step-{state.global_step}"
        if marker.exists():  # once: not again in a resumed or restarted run
            return
        marker.write_text(str(os.getpid()))
        from forgather.ml.trainer.preemption import stop_requested

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if wait_for == "signal" and stop_requested() is not None:
                return
            if wait_for == "request" and self._request_id(args, "control.json") > self._request_id(args, "control-done.json"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"PauseAt: no {wait_for} in 600 s")

    @staticmethod
    def _request_id(args, name):
        try:
            return json.loads((Path(args.output_dir) / ".fgc" / name).read_text())["id"]
        except (OSError, ValueError, KeyError):
            return 0
