"""The language server: document sync, scheduling of checks, publication (the query features
register themselves on it, and `main.py` runs it).

Two threads. The event loop (pygls) reads the protocol, keeps the open documents (the
workspace's overlay), stores finished analyses and answers every request at once from the
newest one it has (a feature says when that analysis is older than the buffer). The analysis
worker (`worker.py`) runs the checks, one at a time, on snapshots of the open documents.

Scheduling. A change re-checks the edited document and every checked experiment that read it
(the reverse index). A change is sent to the worker at once when no burst is in progress (no
check queued, running or waiting for the window: the last one finished before it came) or after
`fgc.lsp.debounceMs` of quiet; a change that follows within that window while a check is under
way stops it at its next checkpoint and waits until the window has passed since the *last*
change, so a burst of keystrokes costs one check after it. Open and save check at once and run
code generation too (the whole of `fgc check`); changes stop before it.

What a document is decides how it is checked (fgc/workspace/workspace.py, `Kind`): an
experiment or a project's config alone; a library template through the experiments that use
it; `publish.py` shows each file what holds there.

Bad input never stops the server: a check that raises (a bug in fgc) is logged and shown as an
FG0002 diagnostic at the top of the document, a feature handler that fails answers nothing, and
a request whose parameters do not fit the protocol gets the error -32602.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Generator

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from ..diagnostics import Span, error
from ..version import __version__
from ..workspace import Analysis, ImportMode, Kind, Workspace
from ..workspace.overlay import Snapshot
from .exports import Exports
from .convert import Positions, path_of, set_untitled_base, to_lsp_diagnostic, uri_of
from .publish import diagnostics_by_file
from .settings import Settings, parse_settings
from .worker import Request, Worker

log = logging.getLogger("fgc.lsp")
INTERNAL_CODE = "FG0002"
INVALID_PARAMS = -32602
# What the server asks a client to watch: templates, project files, local Python modules.
WATCHED = ("**/*.fg", "**/*.yaml", "**/*.py")
GC_IDLE_S = 0.1  # quiet after a check before the full collection of what it replaced
GC_EVERY = 8  # checks after which that collection runs anyway


class _Answered:
    """A request already answered with an error while it was read: pygls skips it."""

    jsonrpc = None


class FgcProtocol(LanguageServerProtocol):
    """Always UTF-16 positions (the protocol's default): fgc converts them itself at its edge
    (`fgc.workspace.positions`), so it must not let pygls agree to another encoding. A request
    whose parameters do not fit its method's types is answered with -32602 (pygls logs it and
    answers nothing, so a client would wait for ever)."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except (JsonRpcInvalidParams, JsonRpcInternalError) as exc:
            if not ("id" in data and "method" in data):
                raise  # a notification: nothing to answer
            cause = str(exc.__cause__ or exc).strip().splitlines()[0] if (exc.__cause__ or exc) else ""
            self._send_response(
                data["id"],
                error=types.ResponseError(INVALID_PARAMS, f"invalid params for {data['method']}: {cause}"),
            )
            return _Answered()


class FgcServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "fgc", __version__, protocol_cls=FgcProtocol, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.settings = Settings()
        self.root: Path | None = None
        self.fg = Workspace()
        self.worker: Worker | None = None
        self._pending: dict[str, Request] = {}
        self._last_change = float("-inf")  # loop time of the last change
        self._timer: asyncio.TimerHandle | None = None
        self._gc_timer: asyncio.TimerHandle | None = None
        self._uncollected = 0  # checks finished since the last full collection
        self.collections = 0
        self._published: dict[str, tuple] = {}  # uri -> what was last sent there
        self.contexts: dict[str, list[str]] = {}  # open library -> experiments checked for it
        self.watch_files = False  # the client accepts a file-watching registration
        self.exports = self._exports()

    # -- settings -------------------------------------------------------------------------------

    def configure(self, options: Any) -> None:
        self.settings = parse_settings(options, self.settings)
        for problem in self.settings.problems:
            self.show_log(f"fgc: setting ignored: {problem}", types.MessageType.Warning)
        base = self.root or Path.cwd()
        include = [str(base / p) if not os.path.isabs(p) else p for p in self.settings.include_paths]
        self.fg.include_dirs = [Path(p) for p in include]
        if self.settings.import_mode != self.fg.import_mode:
            self.fg.set_import_mode(self.settings.import_mode)
            self.exports = self._exports()

    def _exports(self) -> Exports:
        from ..imports.cache import default_cache_dir

        mode = self.fg.import_mode
        return Exports(default_cache_dir() if mode != ImportMode.OFF else None, may_import=mode == ImportMode.ON)

    def show_log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        log.info(message)
        try:
            self.window_log_message(types.LogMessageParams(kind, message))
        except Exception:  # before the connection is up: the stderr log suffices
            pass

    # -- scheduling -----------------------------------------------------------------------------

    def changed(self, path: str) -> None:
        """A document's text changed: re-check it and the experiments that read it, debounced."""
        requests = self.requests_for(path)
        if self.worker is not None:
            self.worker.supersede([r.path for r in requests])  # their text is out of date now
        loop = asyncio.get_running_loop()
        now = loop.time()
        # No burst in progress: nothing waits for the window and no check is queued or running
        # (the last one finished before this change came), or the window has passed.
        quiet = not self._busy() or now - self._last_change >= self.settings.debounce_ms / 1000
        self._last_change = now
        self._queue(requests)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if quiet:
            self.dispatch()
        else:
            self._timer = loop.call_later(self.settings.debounce_ms / 1000, self.dispatch)

    def check_now(self, paths: list[str], generate_code: bool = True) -> None:
        """Open, save, settings, files changed on the disk: check at once (`generate_code`: the
        compile-time nodes too)."""
        requests = [r for p in paths for r in self.requests_for(p)]
        for r in requests:
            r.generate_code = generate_code
        self._queue(requests)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.dispatch()

    def requests_for(self, path: str) -> list[Request]:
        """The checks a change of `path` needs: every checked experiment that read it, and the
        document itself when it is open and no checked experiment reads it (it is an experiment,
        or a library whose users are yet to be found)."""
        users = [e for e in self.fg.affected_by(path) if e != path]
        requests = [Request(e) for e in users]
        if self.fg.overlay.is_open(path) and not users:
            requests.insert(0, Request(path))
        return requests

    def _queue(self, requests: list[Request]) -> None:
        for r in requests:
            old = self._pending.get(r.path)
            if old is not None:
                r.generate_code = r.generate_code or old.generate_code
            self._pending[r.path] = r

    def dispatch(self) -> None:
        self._timer = None
        if not self._pending:
            return
        requests, self._pending = list(self._pending.values()), {}
        for r in requests:
            if r.users is None and self.fg.overlay.is_open(r.path):
                r.users = tuple(e for e in self.fg.affected_by(r.path) if e != r.path)
        self._worker().submit(requests, self.fg.overlay.snapshot())

    def _worker(self) -> Worker:
        if self.worker is None:
            loop = asyncio.get_running_loop()
            self.worker = Worker(self._check, lambda result: loop.call_soon_threadsafe(self._finished, result))
        return self.worker

    # -- in the worker's thread -----------------------------------------------------------------

    def _check(self, request: Request, snapshot: Snapshot, checkpoint: Callable[[], None]) -> list[Analysis]:
        from .worker import Superseded

        try:
            return self.fg.compute(request.path, snapshot, request.generate_code, checkpoint, request.users)
        except Superseded:
            raise
        except Exception as exc:  # a bug in fgc: log it, show it, keep serving
            where = traceback.format_exc(limit=-3)
            log.error("fgc: internal error checking %s:\n%s", request.path, where)
            diag = error(
                INTERNAL_CODE,
                f"internal error in fgc while checking this file: {type(exc).__name__}: {exc}",
                Span.point(request.path, 1),
                hint="this is a bug in fgc; please report it",
            )
            versions = {request.path: snapshot.version(request.path)}
            return [Analysis(request.path, [diag], None, [request.path], Kind.EXPERIMENT, versions)]

    # -- back on the event loop -----------------------------------------------------------------

    def _finished(self, analyses: list[Analysis]) -> None:
        touched: set[str] = set()
        for a in analyses:
            self.fg.store(a)
            touched.update(f for f in {a.path, *a.files} if self.fg.overlay.is_open(f))
        own = analyses[-1]
        if own.kind in (Kind.LIBRARY, Kind.SYNTAX):
            self.contexts[own.path] = list(own.users)
        self._tidy()
        self.publish(touched)
        self._collect_soon()

    def _busy(self) -> bool:
        """A burst in progress: a change waits for the window, or a check is queued or running."""
        return self._timer is not None or bool(self._pending) or (self.worker is not None and self.worker.busy)

    def _collect_soon(self) -> None:
        """A full collection once the server is idle (the next edit, sent as soon as these
        diagnostics arrive, must not wait for it), or now when `GC_EVERY` checks went by without
        one (edits that never pause still leave memory flat)."""
        self._uncollected += 1
        if self._uncollected >= GC_EVERY:
            self._collect()
        elif self._gc_timer is None:
            self._gc_timer = asyncio.get_running_loop().call_later(GC_IDLE_S, self._collect_if_idle)

    def _collect_if_idle(self) -> None:
        self._gc_timer = None
        if self._busy():
            self._gc_timer = asyncio.get_running_loop().call_later(GC_IDLE_S, self._collect_if_idle)
            return
        self._collect()

    def _collect(self) -> None:
        if self._gc_timer is not None:
            self._gc_timer.cancel()
            self._gc_timer = None
        self._uncollected = 0
        self.collections += 1
        collect_garbage()


    def roots(self) -> list[Analysis]:
        """The open experiments and configs that no other of them reads."""
        open_ = [
            a
            for p, a in self.fg.analyses.items()
            if a.kind in (Kind.EXPERIMENT, Kind.CONFIG) and self.fg.overlay.is_open(p)
        ]
        read = {f for a in open_ for f in a.files if f != a.path}
        return [a for a in open_ if a.path not in read]

    def _tidy(self) -> None:
        """An open document that an open experiment reads is a library from now on: its own
        check is dropped. Experiments checked only for libraries no longer open are dropped."""
        read = {f for a in self.roots() for f in a.files if f != a.path}
        for path in list(self.fg.analyses):
            a = self.fg.analyses[path]
            if path in read and a.kind in (Kind.EXPERIMENT, Kind.CONFIG) and self.fg.overlay.is_open(path):
                self.fg.forget(path)
        needed = {u for lib, users in self.contexts.items() if self.fg.overlay.is_open(lib) for u in users}
        for lib in [lib for lib in self.contexts if not self.fg.overlay.is_open(lib)]:
            del self.contexts[lib]
        for path in list(self.fg.analyses):
            if not self.fg.overlay.is_open(path) and path not in needed:
                self.fg.forget(path)

    def libraries(self) -> dict[str, list[Analysis]]:
        """Each open library template (or syntax-only one) and the analyses it shows."""
        out: dict[str, list[Analysis]] = {}
        for path in self.fg.overlay.open_paths():
            own = self.fg.analyses.get(path)
            if own is not None and own.kind == Kind.SYNTAX:
                out[path] = [own]
            elif path in self.contexts:
                out[path] = [a for u in self.contexts[path] if (a := self.fg.analyses.get(u)) is not None]
        return out

    def publish(self, touched: set[str] | frozenset[str] = frozenset()) -> None:
        """Send every file whose diagnostics changed, and the open files the finished checks
        read (so an editor sees each check's answer, with its version, even when unchanged)."""
        by_file = diagnostics_by_file(self.roots(), self.libraries())
        positions = Positions(self.fg.overlay.read_text)
        for file in sorted(set(by_file) | {path_of(u) or u for u in self._published}):
            uri = uri_of(file)
            found = by_file.get(file)
            diags = found.diagnostics if found is not None else []
            fingerprint = tuple((d.code, d.span, d.message, d.severity) for d in diags)
            if self._published.get(uri) == fingerprint and file not in touched:
                continue
            if not diags and uri not in self._published and file not in touched:
                continue
            self._published[uri] = fingerprint
            version = found.version if found is not None else None
            if version is None and self.fg.overlay.is_open(file):
                version = self.fg.overlay.version(file)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, diagnostics=[to_lsp_diagnostic(d, positions) for d in diags], version=version
                )
            )

    # -- what features read ---------------------------------------------------------------------

    def analysis_for(self, path: str) -> tuple[Analysis | None, bool]:
        """The analysis that answers a question about `path`, and whether the buffer is broken:
        the newest check of the document (of an experiment, its own; of a library, its users')
        when that got as far as a config graph; else the last check that did (the buffer is
        broken while the user types, and completion still needs the blocks, variables and
        signatures of a moment ago); else whatever there is."""
        own = self.fg.analyses.get(path)
        users = [e for e in dict.fromkeys([*self.fg.affected_by(path), *self.contexts.get(path, [])]) if e != path]
        if own is not None and own.kind in (Kind.EXPERIMENT, Kind.CONFIG):
            current = [own]
        else:
            current = [a for e in users if (a := self.fg.analyses.get(e)) is not None]
        for a in current:
            if a.good:
                return a, False
        for key in [path, *users]:
            good = self.fg.last_good.get(key)
            if good is not None:
                return good, bool(current)
        return (current[0] if current else own), False

    def is_stale(self, analysis: Analysis, path: str) -> bool:
        """Was `analysis` made from an older text of the open document `path`?"""
        doc = self.fg.overlay.document(path)
        if doc is None or path not in analysis.versions:
            return False
        return analysis.versions[path] != doc.version


def collect_garbage() -> None:
    """A full collection, once a check's diagnostics are out and the server is idle. The
    analyses a check replaced hold reference cycles (a rendering's jinja2 environment, its
    compiled templates), so only a full collection frees them; Python's own would come at a moment of its choosing (in the middle of
    an answer) and scan every object of every imported module. When a check has imported
    modules (torch: a million objects), what survives the collection is frozen: later
    collections skip it (the check's own analysis is frozen with it, once per import)."""
    import gc

    gc.collect()
    if len(sys.modules) > _frozen_modules[0]:
        gc.freeze()
        _frozen_modules[0] = len(sys.modules)


_frozen_modules = [0]  # how many modules were loaded at the last freeze


server = FgcServer()


def guarded(fn: Callable) -> Callable:
    """A feature handler that logs its own failure and answers nothing instead."""

    @functools.wraps(fn)
    def wrapper(ls: FgcServer, params: Any) -> Any:
        try:
            return fn(ls, params)
        except Exception:
            ls.show_log(f"fgc: {fn.__name__} failed:\n{traceback.format_exc(limit=-3)}", types.MessageType.Error)
            return None

    return wrapper


@server.feature(types.INITIALIZE)
@guarded
def on_initialize(ls: FgcServer, params: types.InitializeParams) -> None:
    root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
    root_path = path_of(root) if root else None
    ls.root = Path(root_path) if root_path else None
    folders = [p for f in params.workspace_folders or [] if (p := path_of(f.uri))]
    ls.fg.roots = [Path(p) for p in folders] or ([ls.root] if ls.root else [])
    set_untitled_base(str(ls.root or Path.cwd()))
    watched = params.capabilities.workspace.did_change_watched_files if params.capabilities.workspace else None
    ls.watch_files = bool(watched and watched.dynamic_registration)
    ls.configure(params.initialization_options or {})


@server.feature(types.INITIALIZED)
@guarded
def on_initialized(ls: FgcServer, params: types.InitializedParams) -> None:
    """Ask the client to report changes of templates, project files and Python modules on the
    disk (a parent edited outside the editor), when it can."""
    if not ls.watch_files:
        return
    watchers = [types.FileSystemWatcher(glob_pattern=g) for g in WATCHED]
    registration = types.Registration(
        id="fgc-watched-files",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    ls.client_register_capability(types.RegistrationParams([registration]))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded
def on_configuration(ls: FgcServer, params: types.DidChangeConfigurationParams) -> None:
    ls.configure(params.settings or {})
    ls.check_now(ls.fg.overlay.open_paths())


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@guarded
def on_open(ls: FgcServer, params: types.DidOpenTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    ls.fg.overlay.open(path, params.text_document.text, params.text_document.version)
    ls.check_now([path])


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@guarded
def on_change(ls: FgcServer, params: types.DidChangeTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    text = ls.workspace.get_text_document(params.text_document.uri).source
    ls.fg.overlay.change(path, text, params.text_document.version)
    ls.changed(path)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
@guarded
def on_save(ls: FgcServer, params: types.DidSaveTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    ls.fg.files_changed()  # a project's meta.yaml, a template others find on the disk
    ls.check_now([path])


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@guarded
def on_close(ls: FgcServer, params: types.DidCloseTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    readers = ls.fg.affected_by(path)
    own = ls.fg.analyses.get(path)
    ls.fg.overlay.close(path)
    ls.fg.forget(path)
    ls.contexts.pop(path, None)
    # Experiments that read it read the disk now; open documents it read may be roots again.
    again = [p for p in (own.files if own is not None else []) if ls.fg.overlay.is_open(p) and p != path]
    ls.check_now([*readers, *again], generate_code=False)
    ls._tidy()
    ls.publish()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@guarded
def on_watched_files(ls: FgcServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [p for c in params.changes if (p := path_of(c.uri))]
    ls.fg.files_changed()
    structural = any(c.type != types.FileChangeType.Changed for c in params.changes)
    if structural or any(not p.endswith((".fg", ".yaml")) for p in paths):
        # A created or deleted template may be one that a check looked for and did not find
        # (the reverse index knows only the files that were read), and a Python module's
        # signatures may have changed: check every open document.
        ls.check_now(ls.fg.overlay.open_paths(), generate_code=False)
        return
    ls.check_now([p for p in paths if ls.fg.overlay.is_open(p) or ls.fg.affected_by(p)], generate_code=False)


STATUS_COMMAND = "fgc.status"


@server.command(STATUS_COMMAND)
def on_status(ls: FgcServer, *args: Any) -> dict[str, Any]:
    """`workspace/executeCommand fgc.status`: what the server holds and has done (for a user
    wondering what it is doing, and for tests: counts, never times)."""
    reuse = ls.fg.reuse
    per_template: dict[tuple[str, str], int] = {}
    for key in reuse.prepared:
        per_template[key[:2]] = per_template.get(key[:2], 0) + 1
    worker = ls.worker
    return {
        "open documents": len(ls.fg.overlay.open_paths()),
        "analyses": {p: a.kind.value for p, a in ls.fg.analyses.items()},
        "checks finished": worker.finished if worker is not None else 0,
        "checks superseded": worker.superseded if worker is not None else 0,
        "parsed templates": len(ls.fg.parses),
        "lowered templates": len(reuse.prepared),
        "lowered versions of one template, at most": max(per_template.values(), default=0),
        "compiled templates": len(reuse.compiled),
        "full collections": ls.collections,
        "checks since the last full collection": ls._uncollected,
        "config chunks parsed": ls.fg.chunks.parsed,
        "config chunks reused": ls.fg.chunks.reused,
        "rss MB": _rss_mb(),
    }


def _rss_mb() -> float | None:
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
