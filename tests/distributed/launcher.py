"""Start real multi-process jobs for tests: torchrun on a fresh port, a hang guard, output on failure."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

# A hang guard, not a speed assertion: a deadlocked collective must not stall the suite forever.
HANG_GUARD_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(**extra: str) -> dict[str, str]:
    """The test's environment with one thread per process (the CI machine has few cores)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env.pop("LOCAL_RANK", None)
    env.update(extra)
    return env


def run_job(cmd: list[str], *, cwd=None, env=None, retries_on_signal: int = 1,
            outputs=(), hang_guard_s: int = HANG_GUARD_S) -> subprocess.CompletedProcess:
    """Run ``cmd``; fail the test with every worker's output unless it exits 0.

    A worker killed by a signal (an occasional SIGABRT inside gloo has been seen on small
    machines) is retried once, and the retry is visible in the output of a later failure. The
    retry starts from the files the first attempt found: each directory of ``outputs`` (what the
    job writes: an output directory, a run root) is put back as it was, or removed if it did
    not exist, so a half-done first attempt never leaves checkpoints the retry would trip on.
    """
    notes = []
    with _restorable(outputs) as restore:
        for attempt in range(retries_on_signal + 1):
            if attempt:
                restore()
            try:
                proc = subprocess.run(cmd, cwd=cwd, env=env or worker_env(), capture_output=True, text=True,
                                      timeout=hang_guard_s)
            except subprocess.TimeoutExpired as e:
                pytest.fail(f"{' '.join(map(str, cmd))}\nhung for {hang_guard_s}s\n--- output ---\n"
                            f"{_text(e.stdout)}\n{_text(e.stderr)}")
            if proc.returncode == 0:
                return proc
            output = f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            killed = "Signal " in proc.stderr and "SIG" in proc.stderr
            notes.append(f"attempt {attempt + 1}: exit {proc.returncode}"
                         + (" (a worker was killed by a signal)" if killed else ""))
            if not killed:
                break
    pytest.fail(f"{' '.join(map(str, cmd))}\n{'; '.join(notes)}\n{output}")


@contextmanager
def _restorable(directories):
    """A copy of each directory as it is now; yields ``restore()`` that puts them back."""
    directories = [Path(d) for d in directories]
    with tempfile.TemporaryDirectory(prefix="fg-job-outputs-") as keep:
        saved = {}
        for i, d in enumerate(directories):
            if d.is_dir():
                saved[d] = Path(keep) / str(i)
                shutil.copytree(d, saved[d], symlinks=True)

        def restore() -> None:
            for d in directories:
                shutil.rmtree(d, ignore_errors=True)
                if d in saved:
                    shutil.copytree(saved[d], d, symlinks=True)

        yield restore


def torchrun(script: str, *args: str, nproc: int = 2, **kw) -> subprocess.CompletedProcess:
    """``script args`` in ``nproc`` local processes under torchrun, rendezvous on a fresh port."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", f"--nproc-per-node={nproc}",
           "--master-addr=127.0.0.1", f"--master-port={free_port()}", script, *map(str, args)]
    return run_job(cmd, **kw)


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def run_jobs_together(cmds: list[list[str]], *, cwd=None, env=None) -> None:
    """Start every command at once (e.g. one per simulated node); fail with all their output
    unless every one exits 0."""
    procs = [subprocess.Popen(c, cwd=cwd, env=env or worker_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for c in cmds]
    outputs, codes = [], []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            out += f"\n[hung for {HANG_GUARD_S}s, killed]"
        outputs.append(out)
        codes.append(proc.returncode)
    if any(codes):
        report = "\n".join(f"=== {' '.join(map(str, c))}: exit {code}\n{out}"
                           for c, code, out in zip(cmds, codes, outputs))
        pytest.fail(report)
