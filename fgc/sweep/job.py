"""One combination of a sweep as a job: its commands (`fgc compile`, then `fgc run`), run one after
the other in child processes with their output appended to the combination's log file. The same
function runs under every launcher (here, or in a submitit job on another machine), so it takes
and returns plain picklable data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    name: str
    commands: list[list[str]]  # run in order; the first that fails ends the job
    log: str  # the log file (appended to)
    cwd: str
    env: dict[str, str] = field(default_factory=dict)  # added to the environment


@dataclass
class JobResult:
    name: str
    exit_code: int
    seconds: float  # wall time of all commands
    peak_rss_kib: int | None  # the largest resident set of the job's children (getrusage maxrss)
    error: str | None  # the last error line of the log, for a failed job
    host: str = ""
    warnings: list[str] = field(default_factory=list)  # `fgc compile`'s warnings: `file:line:col: warning[FGxxxx]: ...`


# The children running now (of every thread of this process), for terminate_all().
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def terminate_all() -> None:
    """SIGTERM to every running child (the sweep was interrupted): `fgc run` finishes its step,
    writes a checkpoint, marks its run record preempted (interrupted outside training) and exits,
    and the thread waiting on it returns."""
    with _LIVE_LOCK:
        for proc in list(_LIVE):
            try:
                proc.terminate()
            except OSError:
                pass


def fgc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fgc", *args]


def _max_rss_kib(rusage) -> int:
    # ru_maxrss is in KiB on Linux and in bytes on macOS
    return int(rusage.ru_maxrss // 1024 if sys.platform == "darwin" else rusage.ru_maxrss)


def _run(command: list[str], log, cwd: str, env: dict) -> tuple[int, int | None]:
    """Exit code and peak RSS of one child: os.wait4 gives the child's own rusage (getrusage of
    RUSAGE_CHILDREN would mix in every other job of this process)."""
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        if not hasattr(os, "wait4"):  # Windows: no rusage of a child
            return proc.wait(), None
        _, status, rusage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.terminate()  # interrupted here (a submitit job's own signal): its child stops too
        proc.wait()
        raise
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, _max_rss_kib(rusage)


_ERROR_LINE = re.compile(r"^(error(\[FG\d+\])?:|fgc: (internal )?error:|\w+(Error|Exception): )")
_ERROR_COUNT = re.compile(r"^\d+ errors?(, \d+ warnings?)?$")


def last_error_line(log_path: Path, start: int) -> str | None:
    """The last line of the log (from byte `start`) that states an error (fgc's `error[FGxxxx]:`
    and `fgc: error:`, a Python exception), else the last that mentions one, else its last line."""
    try:
        with open(log_path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("$ ")]
    for line in reversed(lines):
        if _ERROR_LINE.match(line):
            return line[:300]
    for line in reversed(lines):
        if "error" in line.lower() and not _ERROR_COUNT.match(line):
            return line[:300]
    return lines[-1][:300] if lines else None


_WARNING = re.compile(r"^warning\[FG\d+\]: .*")
_LOCATION = re.compile(r"^\s*--> (\S+)$")


def compile_warnings(log_path: Path, start: int, end: int) -> list[str]:
    """The warnings of one `fgc compile` in the log (bytes `start` to `end`), one line each:
    `file:line:col: warning[FGxxxx]: message` (the position, when there is one, first)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(start)
            lines = f.read(end - start).decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    out: list[str] = []
    for i, line in enumerate(lines):
        if _WARNING.match(line):
            where = _LOCATION.match(lines[i + 1]) if i + 1 < len(lines) else None
            out.append(f"{where.group(1)}: {line}" if where else line)
    return out


def run_job(job: Job) -> JobResult:
    import socket

    env = {**os.environ, **job.env}
    log_path = Path(job.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start_time = time.monotonic()
    peak = None
    with open(log_path, "ab") as log:
        start = log.tell()
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} on {socket.gethostname()}\n".encode())
        warnings: list[str] = []
        for command in job.commands:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            before = log.tell()
            code, rss = _run(command, log, job.cwd, env)
            peak = max(peak or 0, rss or 0) or None
            if "compile" in command[3:4]:  # fgc_command: python -m fgc compile ...
                log.seek(0, os.SEEK_END)
                warnings += compile_warnings(log_path, before, log.tell())
            if code != 0:
                log.write(f"=== exit status {code}\n".encode())
                log.flush()
                return JobResult(job.name, code, time.monotonic() - start_time, peak,
                                 last_error_line(log_path, start) or f"exit status {code}", socket.gethostname(),
                                 warnings)
        log.write(b"=== done\n")
    return JobResult(job.name, 0, time.monotonic() - start_time, peak, None, socket.gethostname(), warnings)
