"""torchrun's agent for an fgc launch: `python -m fgc.runs.agent REPORT TORCHRUN_ARGUMENT...`.

It runs `torch.distributed.run` with the given arguments, as `torchrun` would, and differs in
what a launch needs (fgc.runs.launcher starts it):

- the outcome goes to REPORT (JSON), not to stderr: succeeded; failed, with each failed rank's
  pid, exit code and signal; or stopped by a signal. The launcher reports the failing rank's own
  error once, from that rank's file, instead of torchrun's dump of every rank;
- only the first stop signal shuts the workers down (torchrun would abandon its workers,
  still saving, when a second one arrived during the shutdown);
- it dies with the launcher (SIGTERM when the launcher's process is gone, Linux), so that no
  process of a job outlives the command that started it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from forgather_files.runs import write_json

from .processes import die_with_parent, signal_name


def _report(path: Path, result: dict[str, Any]) -> None:
    write_json(path, {"pid": os.getpid(), "time": time.time(), **result})


def _first_signal_only() -> None:
    """torchrun raises SignalException from its signal handler at every signal; keep the first."""
    from torch.distributed.elastic.multiprocessing import api

    handler = api._terminate_process_handler
    seen: list[int] = []

    def once(signum: int, frame: Any) -> None:
        if seen:
            return
        seen.append(signum)
        handler(signum, frame)

    api._terminate_process_handler = once  # looked up when the workers are started


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    report, args = Path(argv[0]), argv[1:]
    die_with_parent()
    quiet = os.environ.get("FGC_TORCHRUN_LOGS") != "1"
    if quiet:  # torchrun's own log lines (each worker's exit, the closing signals): the launcher reports
        os.environ["LOGLEVEL"] = "CRITICAL"
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    if quiet:
        logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    _first_signal_only()
    try:
        torchrun.run(torchrun.parse_args(args))
    except ChildFailedError as e:
        failures = [
            {"rank": rank, "local_rank": f.local_rank, "pid": f.pid, "exit_code": f.exitcode,
             "signal": signal_name(-f.exitcode) if f.exitcode < 0 else None, "time": f.timestamp}
            for rank, f in sorted(e.failures.items(), key=lambda kv: (kv[1].timestamp, kv[0]))
        ]
        _report(report, {"result": "failed", "failures": failures})
        return 1
    except SignalException as e:
        _report(report, {"result": "signal", "signal": int(e.sigval)})
        return 128 + int(e.sigval)
    _report(report, {"result": "succeeded"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
