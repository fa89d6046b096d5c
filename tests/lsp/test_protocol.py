"""Issue 21 part 5, protocol hygiene over stdio: file watching registered when the client can,
-32602 for a request whose parameters do not fit, `untitled:` buffers checked, deep nesting a
diagnostic, and render errors reached through the `extends` line."""

from __future__ import annotations

import asyncio
import json
from asyncio.subprocess import PIPE

import pytest
from lsprotocol import types

from .conftest import SERVER, codes, diagnostics_until, open_doc, write

pytestmark = pytest.mark.asyncio

WATCHING = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
    )
)
BASE = "main: !singleton:fractions:Fraction\n    numerator: 3\n"
CHILD = "-- extends 'base.fg'\n"


@pytest.mark.parametrize("client", [{"_capabilities": WATCHING}], indirect=True)
async def test_file_watching_is_registered_and_a_parent_changed_on_disk_is_checked(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    uri = open_doc(client, files["child.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []
    for _ in range(600):  # the registration comes after `initialized`; wait for it (by count)
        if client.registrations:
            break
        await asyncio.sleep(0.1)
    (registration,) = client.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    watchers = registration.register_options["watchers"]  # the client reads them as plain JSON
    assert {"**/*.fg", "**/*.yaml"} <= {w["globPattern"] for w in watchers}
    files["base.fg"].write_text(BASE.replace("numerator", "numeratr"))
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(files["base.fg"].as_uri(), types.FileChangeType.Changed)])
    )
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0611"]


async def test_no_registration_without_the_capability(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE})
    uri = open_doc(client, files["base.fg"])
    await diagnostics_until(client, uri, lambda d: True)
    assert client.registrations == []


async def _message(reader: asyncio.StreamReader) -> dict:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(await reader.readexactly(length))


async def test_a_request_with_invalid_params_gets_an_error(tmp_path):
    """A raw JSON-RPC client: pygls's own refuses to send such a request."""
    server = await asyncio.create_subprocess_exec(
        *SERVER.server_command, stdin=PIPE, stdout=PIPE, env=SERVER.server_env, cwd=tmp_path
    )
    assert server.stdin is not None and server.stdout is not None

    def send(message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def response(ident: int) -> dict:
        while (message := await asyncio.wait_for(_message(server.stdout), 120)).get("id") != ident:
            pass
        return message

    try:
        send({"id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": tmp_path.as_uri()}})
        await response(1)
        send({"method": "initialized", "params": {}})
        send({"id": 2, "method": "textDocument/hover", "params": {"textDocument": {"uri": 5}, "position": {"line": "zero"}}})
        answer = await response(2)
        assert answer["error"]["code"] == -32602 and "textDocument/hover" in answer["error"]["message"]
        # The server goes on serving.
        send({"id": 3, "method": "textDocument/hover",
              "params": {"textDocument": {"uri": (tmp_path / "x.fg").as_uri()}, "position": {"line": 0, "character": 0}}})
        assert "error" not in await response(3)
        send({"id": 4, "method": "shutdown"})
        await response(4)
        send({"method": "exit"})
        await asyncio.wait_for(server.wait(), 120)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


async def test_an_untitled_buffer_is_checked_as_an_experiment(client, tmp_path):
    write(tmp_path, {"base.fg": BASE})
    uri = "untitled:Untitled-1"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "forgather", 1, "other: *nothing\n-- include 'base.fg'\n")
        )
    )
    diags = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert codes(diags) == ["FG0501"] and diags[0].range.start.line == 0  # and base.fg found beside it


async def test_deep_nesting_is_a_diagnostic_not_an_internal_error(client, tmp_path):
    text = "".join(f"-- if x{i} is not defined\n" for i in range(100)) + "a: 1\n" + "-- endif\n" * 100
    files = write(tmp_path, {"deep.fg": text})
    uri = open_doc(client, files["deep.fg"])
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0541"]


async def test_a_render_error_is_reached_through_the_extends_line(client, tmp_path):
    files = write(
        tmp_path,
        {"base.fg": "main:\n    value: {{ undefined_thing }}\n", "child.fg": "-- extends 'base.fg'\n-- set a = 1\n-- set b = 2\n"},
    )
    child = open_doc(client, files["child.fg"])
    await diagnostics_until(client, child, lambda d: len(d) > 0)
    (d,) = await diagnostics_until(client, files["base.fg"].as_uri(), lambda d: len(d) > 0)
    assert d.code == "FG0301"
    through = [r for r in d.related_information or [] if "reached through" in r.message]
    assert [(r.location.uri, r.location.range.start.line) for r in through] == [(child, 0)]
