"""Issue 21 part 4, completion over stdio: the names a module exports (re-exports included, from
`dir()` kept in the signature cache), items that replace what was typed of them (a range and
prefix filtering, for template paths and dotted names), and alias names."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import diagnostics_until, open_doc, replace_all, write

pytestmark = pytest.mark.asyncio

STDLIB = Path(__file__).resolve().parents[2] / "stdlib"

BASE = """\
main: &shared !singleton:textwrap:TextWrapper
    width: 40
other: *shared
"""


async def items(client, uri: str, line: int, character: int) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )
    return list(result.items if isinstance(result, types.CompletionList) else (result or []))


def applied(text: str, item: types.CompletionItem) -> str:
    """The line `text` after the editor applies the item's edit (one line, ASCII columns)."""
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit), f"{item.label} has no replacement range"
    assert edit.range.start.line == edit.range.end.line
    return text[: edit.range.start.character] + edit.new_text + text[edit.range.end.character :]


async def project(client, tmp_path, line: str) -> tuple[str, str]:
    """exp.fg whose last line is `line` (the cursor at its end); its URI and the line."""
    files = write(tmp_path, {"exp.fg": BASE})
    uri = open_doc(client, files["exp.fg"])
    await diagnostics_until(client, uri, lambda d: True)
    replace_all(client, files["exp.fg"], BASE + line, 2)
    return uri, line


async def test_a_module_offers_the_names_it_re_exports(client, tmp_path):
    # asyncio defines nothing itself: every public name comes from `from .x import *`.
    uri, line = await project(client, tmp_path, "x: !partial:asyncio:")
    labels = {i.label for i in await items(client, uri, 3, len(line))}
    assert {"Queue", "Event", "run", "sleep"} <= labels
    assert not any(name.startswith("_") for name in labels)
    uri, line = await project(client, tmp_path, "x: !partial:asyncio:Que")
    found = await items(client, uri, 3, len(line))
    assert {i.label for i in found} == {"Queue", "QueueEmpty", "QueueFull"}
    assert {applied(line, i) for i in found} == {"x: !partial:asyncio:Queue", "x: !partial:asyncio:QueueEmpty",
                                                 "x: !partial:asyncio:QueueFull"}


async def test_template_paths_are_filtered_and_replace_what_was_typed(client, tmp_path):
    uri, line = await project(client, tmp_path, "-- include 'optimizers/ad")
    found = await items(client, uri, 3, len(line))
    expected = sorted(f"optimizers/{p.name}" for p in (STDLIB / "optimizers").glob("ad*.fg"))
    assert len(expected) >= 2 and sorted(i.label for i in found) == expected
    assert {applied(line, i) for i in found} == {f"-- include '{name}" for name in expected}


async def test_a_dotted_module_name_is_replaced_whole(client, tmp_path):
    uri, line = await project(client, tmp_path, "x: !partial:xml.")
    found = {i.label: i for i in await items(client, uri, 3, len(line))}
    assert {"xml.etree", "xml.dom"} <= set(found)
    assert applied(line, found["xml.etree"]) == "x: !partial:xml.etree"  # not xml.xml.etree


async def test_aliases_offer_the_anchor_names(client, tmp_path):
    uri, line = await project(client, tmp_path, "again: *sh")
    found = await items(client, uri, 3, len(line))
    assert [i.label for i in found] == ["shared"]
    assert applied(line, found[0]) == "again: *shared"


async def test_keyword_arguments_are_filtered_by_what_was_typed(client, tmp_path):
    files = write(tmp_path, {"exp.fg": BASE})
    uri = open_doc(client, files["exp.fg"])
    await diagnostics_until(client, uri, lambda d: d == [])
    edited = BASE.replace("    width: 40\n", "    width: 40\n    tab\n")
    replace_all(client, files["exp.fg"], edited, 2)
    found = await items(client, uri, 2, len("    tab"))
    assert [i.label for i in found] == ["tabsize"]
    assert applied("    tab", found[0]) == "    tabsize: "
