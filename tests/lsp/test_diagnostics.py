"""`fgc check`'s diagnostics, published by the server on open, change and save."""

from __future__ import annotations

import pytest
from lsprotocol import types

from .conftest import codes, diagnostics_until, open_doc, replace_all, write

pytestmark = pytest.mark.asyncio

BASE = """\
## base.fg: a fraction
[main]
main: !singleton:fractions:Fraction
    numerator: 3
    denominator: !var { name: "denominator", default: 4 }
"""
CHILD = """\
-- extends 'base.fg'
[main]
    == super()
    numerator: 5
"""


async def test_an_error_in_the_open_file_at_its_position(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD.replace("numerator: 5", "numeratr: 5")})
    uri = open_doc(client, files["child.fg"])
    diags = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert codes(diags) == ["FG0611"]
    d = diags[0]
    assert d.range == types.Range(types.Position(3, 4), types.Position(3, 12))
    assert d.severity == types.DiagnosticSeverity.Error and d.source == "fgc"
    assert "unknown argument `numeratr`" in d.message and "did you mean `numerator`?" in d.message


async def test_a_clean_file_gets_an_empty_publication(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    uri = open_doc(client, files["child.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []


async def test_an_error_in_the_parent_is_shown_in_the_parent_and_at_the_extends_line(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE.replace("numerator: 3", "numeratr: 3"), "child.fg": CHILD})
    child = open_doc(client, files["child.fg"])
    base = files["base.fg"].as_uri()
    in_child = await diagnostics_until(client, child, lambda d: len(d) > 0)
    in_base = await diagnostics_until(client, base, lambda d: len(d) > 0)
    assert codes(in_base) == ["FG0611"]
    assert in_base[0].range.start == types.Position(3, 4)
    assert codes(in_child) == ["FG0611"]
    copy = in_child[0]
    assert copy.range.start.line == 0  # the `-- extends 'base.fg'` line
    assert "base.fg" in copy.message and "numeratr" in copy.message
    related = copy.related_information or []
    assert [(r.location.uri, r.location.range.start) for r in related][0] == (base, types.Position(3, 4))


async def test_unsaved_text_wins_over_the_disk(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    # The disk says `numerator`; the editor's unsaved buffer says `numeratr`.
    uri = open_doc(client, files["child.fg"], CHILD.replace("numerator: 5", "numeratr: 5"))
    diags = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert codes(diags) == ["FG0611"]
    # An unsaved parent is read from its buffer too, by the child's check.
    base = open_doc(client, files["base.fg"], BASE.replace("main:", "main: !singleton:fractions:Fractio\n_unused:"))
    replace_all(client, files["child.fg"], CHILD, 2)
    diags = await diagnostics_until(client, uri, lambda d: "FG0603" in codes(d))
    assert diags[0].range.start.line == 0
    assert "Fractio" in (await diagnostics_until(client, base, lambda d: len(d) > 0))[0].message


async def test_a_change_to_the_parent_republishes_the_child(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    child = open_doc(client, files["child.fg"])
    base = open_doc(client, files["base.fg"])
    assert await diagnostics_until(client, child, lambda d: True) == []
    replace_all(client, files["base.fg"], BASE.replace("numerator: 3", "numeratr: 3"), 2)
    diags = await diagnostics_until(client, child, lambda d: len(d) > 0)
    assert codes(diags) == ["FG0611"] and diags[0].range.start.line == 0
    replace_all(client, files["base.fg"], BASE, 3)
    assert await diagnostics_until(client, child, lambda d: d == []) == []
    assert await diagnostics_until(client, base, lambda d: d == []) == []


async def test_incremental_changes_and_save(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    uri = open_doc(client, files["child.fg"])
    await diagnostics_until(client, uri, lambda d: d == [])
    # Delete the `o` of `numerator` on line 4 with a ranged edit.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangePartial(range=types.Range(types.Position(3, 11), types.Position(3, 12)), text="")],
        )
    )
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0611"]
    files["child.fg"].write_text(CHILD.replace("numerator: 5", "numeratr: 5"))
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0611"]


async def test_bad_input_gets_diagnostics_and_the_server_keeps_serving(client, tmp_path):
    files = write(tmp_path, {"bad.fg": "-- extends 'missing.fg'\n[oops\n{% if %}\n", "base.fg": BASE})
    uri = open_doc(client, files["bad.fg"])
    diags = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert all(d.range.start.line >= 0 for d in diags)
    assert "FG0201" in codes(diags) or "FG0110" in codes(diags)
    # Garbage in a buffer: a diagnostic, never a crash.
    replace_all(client, files["bad.fg"], "\x00\ufffe{{{{ ]]]] !!!! \n\t- [\n", 2)
    await diagnostics_until(client, uri, lambda d: d != diags)
    clean = open_doc(client, write(tmp_path, {"child.fg": CHILD})["child.fg"])
    assert await diagnostics_until(client, clean, lambda d: True) == []


@pytest.mark.parametrize("client", [{"includePaths": ["lib"]}], indirect=True)
async def test_include_paths_from_the_initialization_options(client, tmp_path):
    files = write(tmp_path, {"lib/base.fg": BASE, "exp/child.fg": CHILD})
    uri = open_doc(client, files["exp/child.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []


async def test_a_created_parent_is_found_and_a_configuration_change_applies(client, tmp_path):
    files = write(tmp_path, {"child.fg": CHILD.replace("numerator: 5", "numeratr: 5")})
    uri = open_doc(client, files["child.fg"])
    assert codes(await diagnostics_until(client, uri, lambda d: len(d) > 0)) == ["FG0201"]  # no base.fg
    write(tmp_path, {"base.fg": BASE})
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent((tmp_path / "base.fg").as_uri(), types.FileChangeType.Created)])
    )
    assert codes(await diagnostics_until(client, uri, lambda d: codes(d) != ["FG0201"])) == ["FG0611"]
    # fgc.lsp.import = off: no signatures, so the misspelt argument goes unnoticed.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"fgc": {"lsp": {"import": "off"}}})
    )
    assert await diagnostics_until(client, uri, lambda d: d == []) == []
