"""The language server: document sync, debounced checks, and the features of fgc/lsp/.

Every open document is an experiment, checked by the shared `Workspace` (the same pipeline as
`fgc check`, reading unsaved text through the overlay). A change to a file re-checks that file
and every open experiment that read it in its last check (the reverse index), after a short
debounce that coalesces a burst of keystrokes; open and save check at once. Checks run on the
event loop, one at a time, so the workspace needs no locks.

Bad input never stops the server: a check that raises (a bug in fgc) is logged and shown as an
FG0002 diagnostic at the top of the experiment, and each feature handler answers nothing rather
than fail.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import traceback
from pathlib import Path
from typing import Any, Callable, Generator

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from ..diagnostics import Span, error
from ..version import __version__
from ..workspace import Analysis, Workspace
from .convert import Positions, path_of, to_lsp_diagnostic, uri_of
from .publish import diagnostics_by_file
from .settings import Settings, parse_settings

log = logging.getLogger("fgc.lsp")
INTERNAL_CODE = "FG0002"


class Utf16Protocol(LanguageServerProtocol):
    """Always UTF-16 positions (the protocol's default): fgc converts them itself at its edge
    (`fgc.workspace.positions`), so it must not let pygls agree to another encoding."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))


class FgcServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "fgc", __version__, protocol_cls=Utf16Protocol, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.settings = Settings()
        self.root: Path | None = None
        self.fg = Workspace()
        self._pending: set[str] = set()
        self._full = False  # whether the pending checks include code generation
        self._last_check = float("-inf")  # loop time at which the last check started
        self._timer: asyncio.TimerHandle | None = None
        self._published: dict[str, tuple] = {}  # uri -> what was last sent there

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

    def show_log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        log.info(message)
        try:
            self.window_log_message(types.LogMessageParams(kind, message))
        except Exception:  # before the connection is up: the stderr log suffices
            pass

    # -- checks ---------------------------------------------------------------------------------

    def schedule(self, paths: list[str], immediately: bool = False) -> None:
        """Check `paths` soon: open and save at once (they also run code generation, the last
        stage of `fgc check`; a change stops before it); a change at once too when no check ran
        in the last `debounce_ms`, else when that much time has passed since the last one, so
        that a burst of keystrokes costs one check at its end, not one per key, and a single
        edit is not delayed at all."""
        self._pending.update(paths)
        self._full = self._full or immediately
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        quiet_until = self._last_check + self.settings.debounce_ms / 1000
        delay = 0.0 if immediately else max(0.0, quiet_until - loop.time())
        self._timer = loop.call_later(delay, self.run_pending)

    def run_pending(self) -> None:
        self._timer = None
        self._last_check = asyncio.get_running_loop().time()
        paths, self._pending = sorted(self._pending), set()
        full, self._full = self._full, False
        checked = []
        for path in paths:
            if not self.fg.overlay.is_open(path):
                continue
            self.check(path, full)
            checked.append(path)
        self.publish(checked)

    def check(self, path: str, generate_code: bool = True) -> None:
        try:
            self.fg.check(path, generate_code)
        except Exception as exc:  # a bug in fgc: log it, show it, keep serving
            where = traceback.format_exc(limit=-3)
            self.show_log(f"fgc: internal error checking {path}:\n{where}", types.MessageType.Error)
            diag = error(
                INTERNAL_CODE,
                f"internal error in fgc while checking this file: {type(exc).__name__}: {exc}",
                Span.point(path, 1),
                hint="this is a bug in fgc; please report it",
            )
            self.fg.analyses[path] = Analysis(path, [diag], None)

    def open_analyses(self) -> list[Analysis]:
        return [a for p, a in self.fg.analyses.items() if self.fg.overlay.is_open(p)]

    def publish(self, checked: list[str]) -> None:
        """Send every file whose diagnostics changed, and the files just checked (so an editor
        sees each check's answer even when it is the same as before)."""
        by_file = diagnostics_by_file(self.open_analyses())
        positions = Positions(self.fg.overlay.read_text)
        for file in sorted(set(by_file) | {path_of(u) or u for u in self._published}):
            uri = uri_of(file)
            diags = by_file.get(file, [])
            lsp = [to_lsp_diagnostic(d, positions) for d in diags]
            fingerprint = tuple((d.code, d.span, d.message, d.severity) for d in diags)
            if self._published.get(uri) == fingerprint and file not in checked:
                continue
            if not lsp and uri not in self._published:
                if file not in checked:
                    continue
            self._published[uri] = fingerprint
            doc = self.fg.overlay.document(file)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=lsp, version=doc.version if doc else None)
            )

    def analysis_for(self, path: str) -> Analysis | None:
        """The analysis to answer a question about `path`: its own check when that got as far as
        a config graph, else the check of an open experiment that read it, else its own last
        good check (the buffer is broken while the user types), else whatever it has."""
        own = self.fg.analyses.get(path)
        if own is not None and own.graph is not None and own.graph.targets:
            return own
        for experiment in self.fg.affected_by(path):
            other = self.fg.analyses.get(experiment)
            if other is not None and other is not own and other.graph is not None and other.graph.targets:
                return other
        return self.fg.last_good.get(path) or own


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
    ls.configure(params.initialization_options or {})


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded
def on_configuration(ls: FgcServer, params: types.DidChangeConfigurationParams) -> None:
    ls.configure(params.settings or {})
    ls.schedule(ls.fg.overlay.open_paths(), immediately=True)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@guarded
def on_open(ls: FgcServer, params: types.DidOpenTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    ls.fg.overlay.open(path, params.text_document.text, params.text_document.version)
    ls.schedule([path], immediately=True)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@guarded
def on_change(ls: FgcServer, params: types.DidChangeTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    text = ls.workspace.get_text_document(params.text_document.uri).source
    ls.fg.overlay.change(path, text, params.text_document.version)
    ls.schedule([path, *ls.fg.affected_by(path)])


@server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
@guarded
def on_save(ls: FgcServer, params: types.DidSaveTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    ls.schedule([path, *ls.fg.affected_by(path)], immediately=True)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@guarded
def on_close(ls: FgcServer, params: types.DidCloseTextDocumentParams) -> None:
    path = path_of(params.text_document.uri)
    if path is None:
        return
    ls.fg.overlay.close(path)
    ls.fg.forget(path)
    # Experiments that read this file now read it from the disk again.
    ls.schedule(ls.fg.affected_by(path), immediately=True)
    ls.publish([])


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@guarded
def on_watched_files(ls: FgcServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [p for c in params.changes if (p := path_of(c.uri))]
    if any(c.type != types.FileChangeType.Changed for c in params.changes):
        # A created or deleted template may be one that a check looked for and did not find
        # (the reverse index knows only the files that were read): check every open experiment.
        ls.schedule(ls.fg.overlay.open_paths(), immediately=True)
        return
    ls.schedule([e for p in paths for e in ls.fg.affected_by(p)], immediately=True)


def register_features() -> None:
    """The query features, one module each (imported here so that each stays independent)."""
    from . import actions, completion, definition, hover, symbols

    for module in (hover, definition, completion, symbols, actions):
        module.register(server, guarded)


def serve(tcp_port: int | None = None, host: str = "127.0.0.1") -> None:
    register_features()
    if tcp_port is not None:
        server.start_tcp(host, tcp_port)
    else:
        server.start_io()
