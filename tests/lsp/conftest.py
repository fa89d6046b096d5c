"""A real language-server client (pytest-lsp) talking to `python -m fgc lsp` over stdio.

Each test gets a fresh server whose signature cache is a directory of its own, and writes its
project into `tmp_path`. `client` takes its initializationOptions from indirect
parametrization (`@pytest.mark.parametrize("client", [{...}], indirect=True)`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

_CACHE = tempfile.mkdtemp(prefix="fgc-lsp-test-cache-")


def make_client() -> LanguageClient:
    """pytest-lsp's client, which also keeps every publication in order (`published`) and the
    registrations the server asks for (`registrations`)."""
    from pygls.protocol import default_converter
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]

    def published(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        client.published.append(params)  # type: ignore[attr-defined]

    def register(client: LanguageClient, params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    features = {
        **DEFAULT_CLIENT_FEATURES,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: published,
        types.CLIENT_REGISTER_CAPABILITY: register,
    }
    register_lsp_features(client, features)
    return client


SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "fgc", "lsp"],
    server_env={**os.environ, "FGC_CACHE_DIR": _CACHE, "PYTHONUTF8": "1"},
    client_factory=make_client,
)


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    # A fresh signature cache per test, so that `cached-only` starts from nothing. The param's
    # `_capabilities` (if any) are the client's; the rest are initializationOptions.
    options = dict(getattr(request, "param", {}) or {})
    capabilities = options.pop("_capabilities", None) or types.ClientCapabilities()
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=tmp_path.as_uri(), initialization_options=options)
    )
    yield
    await lsp_client.shutdown_session()


def write(root: Path, files: dict[str, str]) -> dict[str, Path]:
    out = {}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


def open_doc(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "forgather", version, path.read_text(encoding="utf-8") if text is None else text)
        )
    )
    return uri


def replace_all(client: LanguageClient, path: Path, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=path.as_uri()),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


HANG_S = 180  # only so that a test that waits for a publication that never comes ends (in one
# full run on two cores a 60 s wait ended with the awaited publication already in the record)


async def next_publication(client: LanguageClient) -> None:
    """Until the client records a publication it did not have when called. Polls the record the
    client's handler writes rather than waiting on pytest-lsp's notification future (one per
    method, replaced by each new wait): in one full run such a wait ended at 60 s with the awaited
    publication already in the record. Callers look at what was published and call this with no
    await in between, so nothing can land unseen."""
    loop = asyncio.get_running_loop()
    count = len(client.published)  # type: ignore[attr-defined]
    deadline = loop.time() + HANG_S
    while len(client.published) <= count:  # type: ignore[attr-defined]
        if loop.time() > deadline:
            seen = [(p.uri.rsplit("/", 1)[-1], p.version, [d.code for d in p.diagnostics]) for p in client.published]  # type: ignore[attr-defined]
            raise AssertionError(f"no publication for {HANG_S} s; received: {seen}")
        await asyncio.sleep(0.005)


async def diagnostics_until(
    client: LanguageClient,
    uri: str,
    predicate: Callable[[list[types.Diagnostic]], bool],
    notifications: int = 40,
) -> list[types.Diagnostic]:
    """The diagnostics of `uri` once `predicate` holds, waiting through at most `notifications`
    publications (a bound by count, not by time)."""
    for _ in range(notifications):
        current = list(client.diagnostics.get(uri, []))
        if uri in client.diagnostics and predicate(current):
            return current
        await next_publication(client)
    current = list(client.diagnostics.get(uri, []))
    assert predicate(current), f"diagnostics of {uri} never matched; last: {current}"
    return current


def codes(diags: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diags)


async def status(client: LanguageClient) -> dict:
    """The server's `fgc.status` command: what it holds and how many checks it ran."""
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="fgc.status"))


def publications(client: LanguageClient, uri: str) -> list[types.PublishDiagnosticsParams]:
    """Every publishDiagnostics the client received for `uri`, in order."""
    return [p for p in client.published if p.uri == uri]  # type: ignore[attr-defined]


async def version_published(client: LanguageClient, uri: str, version: int, notifications: int = 200) -> types.PublishDiagnosticsParams:
    """The publication of `uri` for document version `version` (waiting by count, not time)."""
    for _ in range(notifications):
        found = [p for p in publications(client, uri) if p.version == version]
        if found:
            return found[-1]
        await next_publication(client)
    raise AssertionError(f"no publication of {uri} version {version}")
