"""`fgc run --nproc N`: start torchrun's agent for this node and see the job through.

    fgc run (launcher) ── python -m fgc.runs.agent (torchrun, its own session) ── N workers
                                                                          (python -m fgc run)

The launcher of node 0 owns the run directory and the record; every node's launcher starts its
agent with the torchrun arguments of `torchrun_arguments` (a standalone rendezvous on one node;
c10d at `--master-addr` on several, so that torchrun's restarts work there too) and then:

- forwards the first stop signal (SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2) to its node's
  workers by pid (from their files in the launch directory): they finish their step, agree
  through a collective, write a checkpoint and exit 0, and torchrun ends as after a normal
  finish, on every node. A worker that cannot stop that way (not yet training) reports itself
  interrupted, and the agent is then signalled too, so that torchrun shuts the group down
  instead of restarting it. A second Ctrl-C kills every process of the node at once.
- waits for the agent, and reads what happened (`outcome`): the stop note the job wrote, the
  workers' files (how each ended, the error each printed), the agent's report (exit codes and
  signals of the failed ranks).
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from forgather_files.runs import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PREEMPTED,
    STOP_NOTE,
    read_json,
    stop_exit_code,
    write_json,
)

from . import worker
from .processes import STOP_SIGNALS, alive, kill_group, send, signal_name

DEFAULT_STOP_TIMEOUT = 300  # seconds torchrun waits for stopping workers before SIGKILL


@dataclass
class LaunchOptions:
    nproc: int
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None
    torchrun_args: list[str] = field(default_factory=list)
    stop_timeout: int = DEFAULT_STOP_TIMEOUT
    run_id: str = "fgc"  # the rendezvous id of a multi-node job: the same on every node


def rendezvous_id(run_dir: Path | None) -> str:
    """The same id on every node of a job: from its run directory, which every node is given."""
    return "fgc-" + hashlib.sha1(str(run_dir).encode()).hexdigest()[:12] if run_dir else "fgc"


def check_options(opts: LaunchOptions, output_dir: str | None) -> None:
    """ValueError for an inconsistent combination (a usage error)."""
    if opts.nproc < 1:
        raise ValueError("--nproc must be at least 1")
    if opts.nnodes < 1:
        raise ValueError("--nnodes must be at least 1")
    if not 0 <= opts.node_rank < opts.nnodes:
        raise ValueError(f"--node-rank {opts.node_rank} is not in 0..{opts.nnodes - 1} (--nnodes {opts.nnodes})")
    if opts.nnodes > 1 and not opts.master_addr:
        raise ValueError("--nnodes > 1 needs --master-addr (the address of the node with --node-rank 0)")
    if opts.nnodes > 1 and not output_dir:
        raise ValueError(
            "--nnodes > 1 needs --output-dir RUN_DIR, the same on every node (on a shared file "
            "system): node 0 makes the run directory, the other nodes' processes write into it"
        )
    if opts.master_port and not opts.master_addr:
        raise ValueError("--master-port needs --master-addr (one node picks a free port itself)")
    if opts.stop_timeout < 1:
        raise ValueError("--stop-timeout must be at least 1 second")


def torchrun_arguments(opts: LaunchOptions) -> list[str]:
    """torchrun's arguments for this node (after `check_options`)."""
    args = [f"--nproc-per-node={opts.nproc}"]
    if opts.master_addr:
        # c10d rather than the static rendezvous: a restarted group meets again (torchrun's
        # static store keeps the old workers' addresses); node 0 hosts the store.
        args += [f"--nnodes={opts.nnodes}", "--rdzv-backend=c10d",
                 f"--rdzv-endpoint={opts.master_addr}:{opts.master_port or 29500}",
                 f"--rdzv-id={opts.run_id}",
                 f"--rdzv-conf=is_host={int(opts.node_rank == 0)},read_timeout=300"]
    else:
        args.append("--standalone")  # one node, a free port chosen by torchrun
    args += [f"--signals-to-handle={','.join(s.name for s in STOP_SIGNALS)}",
             f"--shutdown-timeout={opts.stop_timeout}"]
    return args + list(opts.torchrun_args)


def agent_environment(base: dict[str, str]) -> dict[str, str]:
    # Each round of a restarted group gets its own store for the workers' process group (with
    # the store shared with the agent, restarted workers read the dead ones' gloo addresses).
    return {**base, "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}


@dataclass
class LaunchResult:
    exit_code: int  # the agent's
    signal: int | None  # the first stop signal this launcher received
    aborted: bool  # a second Ctrl-C killed the node's processes
    report: dict[str, Any]  # the agent's report (fgc.runs.agent)
    started: float  # when the launch started (files older than this are an earlier session's)


class Launch:
    """One node's agent, its signals and its workers."""

    def __init__(self, opts: LaunchOptions, child: list[str], env: dict[str, str], launch_dir: Path) -> None:
        self.opts = opts
        self.child = child
        self.env = env
        self.dir = launch_dir
        self.report = launch_dir / f"agent-{opts.node_rank}.json"
        self.signal: int | None = None
        self.aborted = False
        self.signalled: set[int] = set()
        self.agent_signalled = False
        self.pending: list[int] = []
        self.started = time.time()
        self.agent: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [sys.executable, "-m", "fgc.runs.agent", str(self.report), *torchrun_arguments(self.opts),
                *self.child]

    def run(self) -> LaunchResult:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.report.unlink(missing_ok=True)
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        try:
            # its own session: a Ctrl-C in the terminal reaches the launcher only, which forwards it once
            self.agent = subprocess.Popen(self.command(), env=agent_environment(self.env), start_new_session=True)
            write_json(self.dir / f"node-{self.opts.node_rank}.json",
                       {"node": self.opts.node_rank, "host": socket.gethostname(), "pid": os.getpid(),
                        "agent_pid": self.agent.pid, "start_time": self.started})
            while True:
                try:
                    code = self.agent.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                self._tick()
        finally:
            if self.agent is not None and self.agent.poll() is None:  # an exception in the launcher itself
                kill_group(self.agent.pid)
                self.agent.wait()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return LaunchResult(code, self.signal, self.aborted, read_json(self.report), self.started)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.pending.append(signum)

    def _tick(self) -> None:
        while self.pending:
            signum = self.pending.pop(0)
            if self.signal is None:
                self.signal = signum
                _say(f"{signal_name(signum)}: every process finishes its step, writes a checkpoint and stops "
                     "(a second Ctrl-C kills them at once)")
            elif signum == signal.SIGINT and not self.aborted:
                self._abort()
            else:
                _say(f"{signal_name(signum)}: already stopping")
        if self.signal is not None and not self.aborted:
            self._forward(self.signal)

    def _own_workers(self) -> list[dict[str, Any]]:
        host = socket.gethostname()
        return [w for w in worker.ranks(self.dir)
                if w.get("node") == self.opts.node_rank and w.get("host") == host
                and (w.get("start_time") or 0) >= self.started]

    def _forward(self, signum: int) -> None:
        """The stop signal to every worker of this node not signalled yet; to the agent when
        there is none yet, or when one could not stop gracefully."""
        workers = self._own_workers()
        for w in workers:
            pid = int(w.get("pid") or 0)
            if w.get("status") == worker.RUNNING and pid not in self.signalled and alive(pid):
                send(pid, signum)
                self.signalled.add(pid)
        interrupted = any(w.get("status") == worker.INTERRUPTED for w in workers)
        if not self.agent_signalled and self.agent is not None and (not self.signalled or interrupted):
            send(self.agent.pid, signum)
            self.agent_signalled = True

    def _abort(self) -> None:
        self.aborted = True
        _say("second Ctrl-C: killing every process of this node")
        for w in self._own_workers():
            if alive(w.get("pid")):
                kill_group(w["pid"])
        if self.agent is not None:
            kill_group(self.agent.pid)


def _say(message: str) -> None:
    print(f"fgc: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- the outcome


@dataclass
class Outcome:
    """What a launch amounts to, for the record and the terminal."""

    status: str
    exit_code: int
    error: str | None = None  # one line for the record
    report: str | None = None  # the failing rank's diagnostics, printed once
    stopped: dict[str, Any] | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    restarts: int = 0


def outcome(launch_dir: Path, result: LaunchResult) -> Outcome:
    workers = [w for w in worker.ranks(launch_dir) if (w.get("start_time") or 0) >= result.started]
    restarts = max([w.get("restart") or 0 for w in workers] + [0])
    failures = _failures(workers, result.report)
    recovered = [f for f in failures if f.get("recovered")]
    note = read_json(launch_dir / STOP_NOTE)
    if note and (note.get("time") or 0) < result.started:
        note = {}
    sig = result.signal
    if result.aborted:
        return Outcome(INTERRUPTED, 128 + signal.SIGINT, "aborted by a second Ctrl-C while stopping",
                       failures=failures, restarts=restarts)
    if note:
        by = note.get("reason") or "a request"
        error = f"stopped at step {note.get('step')} ({by}); checkpoint {note.get('checkpoint')}"
        return Outcome(PREEMPTED, stop_exit_code(note.get("signal") or sig), error, stopped=note,
                       failures=recovered, restarts=restarts)
    current = [f for f in failures if not f.get("recovered")]
    if current and not (sig and all(f.get("status") == worker.INTERRUPTED for f in current)):
        first = current[0]
        same = [f["rank"] for f in current[1:] if f.get("report") and f.get("report") == first.get("report")]
        report = first.get("report")
        if report and same:
            report = report.rstrip("\n") + f"\n(the same error on rank{'s' if len(same) > 1 else ''} " \
                     f"{', '.join(map(str, same))})\n"
        return Outcome(FAILED, 1, _describe(first), report, failures=failures, restarts=restarts)
    if sig:
        return Outcome(INTERRUPTED, 128 + sig,
                       f"{signal_name(sig)} before a checkpoint could be written (not training yet)",
                       failures=recovered, restarts=restarts)
    if result.exit_code != 0:
        return Outcome(FAILED, 1, f"torchrun exited with status {result.exit_code}", failures=failures,
                       restarts=restarts)
    return Outcome(COMPLETED, 0, failures=recovered, restarts=restarts)


def _failures(workers: list[dict[str, Any]], report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every failed process, the first failure first: from the workers' own files (the error
    they raised), and from the agent's report (a process killed by a signal writes nothing)."""
    out: list[dict[str, Any]] = []
    for w in workers:
        for earlier in w.get("previous") or []:  # a worker that failed, then was restarted
            if earlier.get("status") in (worker.FAILED, worker.INTERRUPTED):
                out.append({**_entry(earlier), "recovered": True})
            elif earlier.get("status") == worker.RUNNING:  # it never said how it ended: killed
                out.append({**_entry(earlier), "status": worker.FAILED, "recovered": True,
                            "error": "ended without a word (killed: SIGKILL, out of memory, its machine)"})
        if w.get("status") in (worker.FAILED, worker.INTERRUPTED):
            out.append(_entry(w))
    reported = {(f["rank"], f.get("pid")) for f in out}
    for f in report.get("failures") or []:
        if (f.get("rank"), f.get("pid")) in reported:
            for mine in out:
                if (mine["rank"], mine.get("pid")) == (f.get("rank"), f.get("pid")):
                    mine["exit_code"] = f.get("exit_code")
            continue
        out.append({"rank": f.get("rank"), "pid": f.get("pid"), "host": None, "exit_code": f.get("exit_code"),
                    "signal": f.get("signal"), "error": None, "status": worker.FAILED, "time": f.get("time")})
    return sorted(out, key=_first_failure_first)


def _first_failure_first(f: dict[str, Any]) -> tuple[bool, bool, float, int]:
    """The order failures are told in: a process that torchrun stopped (SIGTERM, SIGINT: it
    shuts the group down after the first failure) comes after the others; a process that died
    without a word (no time of its own) is the likely first failure (the others lost a peer);
    then by time, then by rank."""
    stopped = f.get("status") == worker.INTERRUPTED or (f.get("signal") in ("SIGTERM", "SIGINT") and not f.get("report"))
    return (stopped, f.get("time") is not None, float(f.get("time") or 0), int(f["rank"]))


def _entry(w: dict[str, Any]) -> dict[str, Any]:
    return {"rank": w.get("rank"), "pid": w.get("pid"), "host": w.get("host"), "exit_code": w.get("exit_code"),
            "signal": w.get("signal"), "error": w.get("error"), "report": w.get("report"),
            "status": w.get("status"), "time": w.get("end_time"), "restart": w.get("restart")}


def _describe(f: dict[str, Any]) -> str:
    where = f"rank {f['rank']}" + (f" (pid {f['pid']}" + (f" on {f['host']}" if f.get("host") else "") + ")"
                                   if f.get("pid") else "")
    if f.get("error"):
        return f"{where} failed: {f['error']}"
    if f.get("signal"):
        return f"{where} was killed by {f['signal']}"
    return f"{where} exited with status {f.get('exit_code')}"
