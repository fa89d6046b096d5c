"""Hover, go to definition, references, completion, document symbols, folding and the
did-you-mean quick fix, each over stdio against `python -m fgc lsp`."""

from __future__ import annotations

import fractions
import inspect
import textwrap

import pytest
from lsprotocol import types

from .conftest import diagnostics_until, open_doc, replace_all, write

pytestmark = pytest.mark.asyncio

BASE = """\
## base.fg: a fraction and a wrapper
[main]
main: !singleton:fractions:Fraction
    numerator: 3
    denominator: !var { name: "denominator", default: 4 }
[extra]
wrapper: &shared !singleton:textwrap:TextWrapper
    width: 40

again: *shared
"""
CHILD = """\
-- extends 'base.fg'
[main]
    == super()
    numerator: 5
"""


def pos(line: int, character: int) -> types.Position:
    return types.Position(line, character)


async def project(client, tmp_path, child: str = CHILD):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": child})
    child_uri = open_doc(client, files["child.fg"])
    base_uri = open_doc(client, files["base.fg"])
    await diagnostics_until(client, child_uri, lambda d: True)
    await diagnostics_until(client, base_uri, lambda d: True)
    return files, child_uri, base_uri


async def hover(client, uri, line, character) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri), position=pos(line, character))
    )
    assert result is not None, f"no hover at {line}:{character}"
    return result.contents.value


async def test_hover(client, tmp_path):
    files, child, base = await project(client, tmp_path)
    text = await hover(client, child, 0, 13)  # 'base.fg'
    assert "extends" in text and "base.fg" in text
    text = await hover(client, child, 1, 2)  # [main]
    assert "block** `main`" in text and "overrides" in text and "base.fg:2" in text
    text = await hover(client, base, 1, 2)
    assert "overridden at" in text and "child.fg:2" in text
    text = await hover(client, child, 2, 8)  # super()
    assert "numerator: 3" in text and "fractions:Fraction" in text
    text = await hover(client, base, 2, 20)  # !singleton:fractions:Fraction
    summary = inspect.getdoc(fractions.Fraction).split("\n\n")[0]
    assert summary in text and "(numerator=..., denominator=..." in text
    text = await hover(client, base, 4, 20)  # !var
    assert "`denominator`" in text and "default: `4`" in text and "used at" in text
    text = await hover(client, child, 3, 6)  # numerator: 5 overrides numerator: 3
    assert "`main.numerator` = `5`" in text
    assert "base.fg:4" in text and "child.fg:4" in text and "wins" in text


async def locations(result) -> list[tuple[str, int]]:
    return [(loc.uri, loc.range.start.line) for loc in (result or [])]


async def test_definition_and_references(client, tmp_path):
    files, child, base = await project(client, tmp_path)
    ask = lambda uri, line, ch: client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri), position=pos(line, ch))
    )
    assert await locations(await ask(child, 0, 13)) == [(base, 0)]
    assert await locations(await ask(child, 1, 2)) == [(base, 1)]
    assert await locations(await ask(base, 9, 8)) == [(base, 6)]  # *shared -> &shared
    (uri, line), = await locations(await ask(base, 2, 25))
    source, first = inspect.getsourcelines(fractions.Fraction)
    assert uri.endswith("/fractions.py") and line == first - 1
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(child),
            position=pos(1, 2),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert sorted(await locations(refs)) == sorted([(base, 1), (child, 1)])
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(base),
            position=pos(6, 11),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert sorted(await locations(refs)) == [(base, 6), (base, 9)]


async def complete(client, uri, line, character) -> list[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri), position=pos(line, character))
    )
    items = result.items if isinstance(result, types.CompletionList) else (result or [])
    return [i.label for i in items]


async def test_completion(client, tmp_path):
    files, child, base = await project(client, tmp_path)
    replace_all(client, files["child.fg"], CHILD + "[", 2)
    assert set(await complete(client, child, 4, 1)) == {"main", "extra"}
    replace_all(client, files["child.fg"], CHILD + "-- block ", 3)
    assert "extra" in await complete(client, child, 4, 9)
    replace_all(client, files["child.fg"], "-- extends '" + CHILD[12:], 4)
    names = await complete(client, child, 0, 12)
    assert "base.fg" in names and "scripts/causal_lm.fg" in names  # the stdlib is on the path
    edited = BASE.replace("again: *shared", "other: !partial:fract")
    replace_all(client, files["base.fg"], edited, 2)
    assert "fractions" in await complete(client, base, 9, len("other: !partial:fract"))
    edited = BASE.replace("again: *shared", "other: !partial:fractions:")
    replace_all(client, files["base.fg"], edited, 3)
    assert "Fraction" in await complete(client, base, 9, len("other: !partial:fractions:"))
    edited = BASE.replace("    width: 40\n", "    width: 40\n    \n")
    replace_all(client, files["base.fg"], edited, 4)
    await diagnostics_until(client, base, lambda d: d == [])
    keywords = await complete(client, base, 8, 4)
    wanted = set(inspect.signature(textwrap.TextWrapper).parameters) - {"width"}
    assert set(keywords) == wanted
    edited = BASE.replace("again: *shared", 'other: !var "')
    replace_all(client, files["base.fg"], edited, 5)
    assert await complete(client, base, 9, len('other: !var "')) == ["denominator"]


async def test_symbols_and_folding(client, tmp_path):
    files, child, base = await project(client, tmp_path)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(base))
    )
    found = {(s.name, s.detail, s.range.start.line) for s in symbols}
    assert {("main", "target", 2), ("wrapper", "target", 6), ("again", "target", 9)} <= found
    assert {("main", "block", 1), ("extra", "block", 5)} <= found
    folds = await client.text_document_folding_range_async(
        types.FoldingRangeParams(types.TextDocumentIdentifier(base))
    )
    assert sorted((f.start_line, f.end_line) for f in folds) == [(1, 4), (5, 9)]


async def test_quick_fix_applies_the_did_you_mean(client, tmp_path):
    files, child, base = await project(client, tmp_path, CHILD.replace("numerator: 5", "numeratr: 5"))
    diags = await diagnostics_until(client, child, lambda d: len(d) > 0)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(child),
            range=diags[0].range,
            context=types.CodeActionContext(diagnostics=diags),
        )
    )
    assert len(actions) == 1
    (edit,) = actions[0].edit.changes[child]
    assert edit.new_text == "numerator"
    assert edit.range == types.Range(pos(3, 4), pos(3, 12))
