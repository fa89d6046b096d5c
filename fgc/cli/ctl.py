"""`fgc ctl RUN_DIR save|stop|status`: tell a running job to save now, or to save and stop, from
another shell (fgc/runs/control.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..diagnostics import error, print_diagnostics
from .common import EXIT_INPUT, EXIT_OK

DESCRIPTION = """\
Talk to a running `fgc run` through its run directory (on any machine that shares it):

  save     write a checkpoint at the end of the current step; training goes on
  stop     write a checkpoint at the end of the current step and stop: the run is recorded
           `preempted`, and `fgc run RUN_DIR --resume` continues it exactly
  status   the run's status, the step it reached, its processes, the last request handled

Every process of the job acts at the same step: rank 0 reads the request, and the processes
agree on it through a collective at the end of each step. save and stop wait for the answer
(the checkpoint written) unless --no-wait; Ctrl-C stops waiting, the request stays.

Signals do the same as `stop`: SIGTERM, SIGINT (Ctrl-C), SIGHUP, SIGUSR1 or SIGUSR2 to the
`fgc run` command (or to every process of the job, as SLURM does) finish the step, write a
checkpoint and stop; a second Ctrl-C aborts at once.
"""

EPILOG = """\
examples:
  fgc ctl runs/quickstart/latest status
  fgc ctl runs/quickstart/20260101-120000 save       a checkpoint now, then training goes on
  fgc ctl /shared/run1 stop                          save and stop; resume later with
                                                      fgc run /shared/run1 --resume
  kill -TERM <pid of fgc run>                        the same as stop

exit codes: 0 done, 1 the run is not running or ended before it answered, 2 bad command line
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "ctl",
        help="tell a running job to save a checkpoint or to stop; show its status",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory of the running job")
    p.add_argument("action", choices=("save", "stop", "status"), help="what to ask")
    p.add_argument("--no-wait", action="store_true", help="send the request and return at once")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="wait at most S seconds for the answer (default: until it comes or the run ends)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..runs import control

    run_dir = Path(args.run_dir).absolute()
    if run_dir.is_symlink():
        run_dir = run_dir.resolve()
    try:
        if args.action == "status":
            print("\n".join(control.status(run_dir)))
            return EXIT_OK
        rid = control.request(run_dir, args.action)
    except control.ControlError as e:
        print_diagnostics([error("FG0734", str(e))])
        return EXIT_INPUT
    print(f"fgc: asked {run_dir} to {args.action} (request #{rid}) at the end of its current step",
          file=sys.stderr, flush=True)
    if args.no_wait:
        return EXIT_OK
    answer = control.wait(run_dir, rid, args.timeout)
    if answer.done is not None:
        what = "saved and stopped" if args.action == "stop" else "saved"
        print(f"{what} at step {answer.done.get('step')}: {answer.done.get('checkpoint')}")
        return EXIT_OK
    if answer.status is None:
        print(f"fgc: no answer after {args.timeout:g} s (the request stays; `fgc ctl {args.run_dir} status`)",
              file=sys.stderr)
        return EXIT_INPUT
    print_diagnostics([error("FG0734", f"the run ended ({answer.status}) before it answered request #{rid}")])
    return EXIT_INPUT
