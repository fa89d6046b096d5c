"""The analysis worker: one thread that runs the checks, so that the event loop never waits.

The event loop submits *requests* (a document to check, with or without code generation) and a
snapshot of the open documents; the thread checks them one at a time, in order, and hands each
finished analysis back to the loop (`deliver`, called there with `call_soon_threadsafe`). A
newer request for a document supersedes the older one: a request not yet started is replaced
(the newest snapshot wins), and a check under way stops at its next checkpoint (between two
stages of the pipeline, or before it reads a template), raising `Superseded` inside the thread.

Only the thread touches the caches a check fills (parse, render, signatures); the loop owns
everything it stores (docs/architecture.md, "Threads").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..workspace import Analysis
from ..workspace.overlay import Snapshot

log = logging.getLogger("fgc.lsp")


class Superseded(Exception):
    """A newer request made this check useless."""


@dataclass
class Request:
    path: str
    generate_code: bool = False  # the whole of `fgc check` (open and save); a change stops before codegen
    users: tuple[str, ...] | None = None  # a library's known experiments (None: look them up)


@dataclass
class _Batch:
    requests: dict[str, Request]
    snapshot: Snapshot
    cancelled: set[str] = field(default_factory=set)


# (request, snapshot, checkpoint) -> the analyses the check made (what `deliver` takes)
Check = Callable[[Request, Snapshot, Callable[[], None]], "list[Analysis]"]


class Worker:
    def __init__(self, check: Check, deliver: Callable[["list[Analysis]"], object]) -> None:
        self._check = check
        self._deliver = deliver
        self._cond = threading.Condition()
        self._pending: _Batch | None = None
        self._running: _Batch | None = None
        self._stopped = False
        self.finished = 0  # checks that ran to their end
        self.superseded = 0  # checks stopped (or never started) because a newer one replaced them
        self._thread = threading.Thread(target=self._run, name="fgc-analysis", daemon=True)
        self._thread.start()

    def submit(self, requests: list[Request], snapshot: Snapshot) -> None:
        """Queue `requests` with `snapshot`; they supersede any queued or running request for the
        same documents."""
        with self._cond:
            if self._pending is None:
                self._pending = _Batch({}, snapshot)
            batch = self._pending
            batch.snapshot = snapshot
            for r in requests:
                old = batch.requests.pop(r.path, None)
                if old is not None:
                    r.generate_code = r.generate_code or old.generate_code
                batch.requests[r.path] = r
            self._supersede([r.path for r in requests])
            self._cond.notify()

    def supersede(self, paths: list[str]) -> None:
        """Stop the running checks of `paths` at their next checkpoint (they will be requested
        again: their text changed)."""
        with self._cond:
            self._supersede(paths)

    def _supersede(self, paths: list[str]) -> None:
        running = self._running
        if running is None:
            return
        for path in paths:
            if path in running.requests:
                running.cancelled.add(path)

    @property
    def busy(self) -> bool:
        """A check is queued or running."""
        with self._cond:
            return self._pending is not None or self._running is not None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                batch, self._pending = self._pending, None
                self._running = batch
            assert batch is not None
            items = list(batch.requests.items())
            for n, (path, request) in enumerate(items):
                result = self._one(batch, path, request)
                if n == len(items) - 1:  # idle before the last answer goes: a change it prompts finds it so
                    with self._cond:
                        self._running = None
                if result is not None:
                    self._deliver(result)
            with self._cond:
                self._running = None

    def _one(self, batch: _Batch, path: str, request: Request) -> "list[Analysis] | None":
        def checkpoint() -> None:
            if path in batch.cancelled:
                raise Superseded(path)

        if path in batch.cancelled:
            self.superseded += 1
            return None
        try:
            result = self._check(request, batch.snapshot, checkpoint)
        except Superseded:
            self.superseded += 1
            return None
        except BaseException:  # the check function reports fgc's own bugs; this is the last net
            log.exception("fgc: the analysis worker failed on %s", path)
            return None
        self.finished += 1
        return result
