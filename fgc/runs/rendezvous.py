"""Plain `torchrun ... -m fgc run BUILD`: every process agrees on one run directory.

No fgc launcher planned the run, so rank 0 plans it and publishes the run directory in torchrun's
own key-value store (the agent's TCPStore at MASTER_ADDR:MASTER_PORT, which torchrun shares with
its workers); the other ranks wait for it there. The key is per torchrun job, and a restarted
group finds the directory of its first round (and resumes from its newest checkpoint).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta

WAIT = timedelta(minutes=30)  # a hang guard: rank 0 plans in seconds


class RendezvousError(Exception):
    """No agreement possible; the message says why."""


def agree(environ: Mapping[str, str], make: Callable[[], str], key: str = "run_dir") -> tuple[str, bool]:
    """(the value rank 0 made, whether this process made it). `make` runs on rank 0 only, once
    per torchrun job; it raises RendezvousError or returns the value. An error of rank 0 reaches
    every rank as RendezvousError."""
    if environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        raise RendezvousError(
            "plain torchrun without its shared store (TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1): the "
            "processes cannot agree on one run directory; use `fgc run BUILD --nproc N` instead"
        )
    from torch.distributed import TCPStore

    store = TCPStore(environ["MASTER_ADDR"], int(environ["MASTER_PORT"]), is_master=False, timeout=WAIT)
    name = f"fgc/{environ.get('TORCHELASTIC_RUN_ID', 'job')}/{key}"
    if int(environ.get("RANK", "0")) == 0:
        if store.check([name]):  # a restarted round: the first round's value
            return _value(store.get(name)), False
        try:
            value = make()
        except RendezvousError as e:
            store.set(name, json.dumps({"error": str(e)}))
            raise
        store.set(name, json.dumps({"value": value}))
        return value, True
    return _value(store.get(name)), False


def _value(raw: bytes) -> str:
    entry = json.loads(raw.decode("utf-8"))
    if "error" in entry:
        raise RendezvousError(f"rank 0 could not start the run: {entry['error']}")
    return str(entry["value"])
