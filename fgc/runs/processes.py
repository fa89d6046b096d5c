"""Small process helpers of a launch: liveness, signals by pid and by group, dying with the parent."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

# What stops a run gracefully: every rank finishes its step, a checkpoint is written, the job
# ends (SIGUSR1/SIGUSR2: SLURM's `--signal` warning before preemption or the time limit).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    s for s in (getattr(signal, n, None) for n in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"))
    if s is not None
)


def signal_name(number: int | None) -> str:
    if not number:
        return "no signal"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def alive(pid: int | None) -> bool:
    """A process with this pid exists (on this host) and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def send(pid: int, sig: int) -> bool:
    """Signal one process; False when it is gone."""
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_group(pgid: int) -> None:
    """SIGKILL a whole process group (a process started in its own session, and its children)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux), so that no
    process of a job outlives the one that started it; nothing elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass
