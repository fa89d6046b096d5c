"""Issue 21 part 4, hover over stdio: the override chain of `fgc explain` (knobs and replaced
blocks included), each `.define:` entry its own key, and a broken buffer's value as written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lsprotocol import types

from .conftest import codes, diagnostics_until, open_doc, replace_all, version_published, write

pytestmark = pytest.mark.asyncio


async def hover(client, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )
    assert result is not None, f"no hover at {line}:{character}"
    return result.contents.value


DEFINES = """\
.define: &a !partial:fractions:Fraction
    numerator: 1
.define: &b !partial:fractions:Fraction
    numerator: 2
main: [ *a, *b ]
"""


async def test_a_key_inside_a_define_entry_shows_that_entry_only(client, tmp_path):
    files = write(tmp_path, {"exp.fg": DEFINES})
    uri = open_doc(client, files["exp.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []
    text = await hover(client, uri, 3, 6)
    assert "= `2`" in text and "exp.fg:4" in text
    assert "exp.fg:2" not in text and "overridden" not in text
    text = await hover(client, uri, 1, 6)
    assert "= `1`" in text and "exp.fg:4" not in text


BASE = """\
-- set n = n | default(5)
[main]
main: !singleton:fractions:Fraction
    numerator: {{ n }}
    denominator: 7
"""
CHILD = """\
-- extends 'base.fg'
-- set n = 6
[main]
main: !singleton:fractions:Fraction
    numerator: {{ n }}
    denominator: 9
"""


async def test_hover_shows_the_chain_of_fgc_explain(client, tmp_path):
    files = write(tmp_path, {"base.fg": BASE, "child.fg": CHILD})
    uri = open_doc(client, files["child.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []
    text = await hover(client, uri, 4, 6)  # numerator: {{ n }}
    done = subprocess.run(
        [sys.executable, "-m", "fgc", "explain", str(files["child.fg"]), "main.numerator", "--json"],
        capture_output=True, text=True,
    )
    chain = json.loads(done.stdout)["chain"]
    roles = {link["role"] for link in chain}
    assert {"set", "replaced", "knob", "default"} <= roles  # the child's line, base's block, the sets of n
    for link in chain:  # every place explain names, hover names too
        assert f"{link['file'].rsplit('/', 1)[-1]}:{link['line']}" in text, (link, text)
    assert "gives the value" in text and "replaced" in text


async def test_a_broken_buffer_shows_its_own_value(client, tmp_path):
    good = "main: !singleton:fractions:Fraction\n    numerator: 100\n"
    files = write(tmp_path, {"exp.fg": good})
    uri = open_doc(client, files["exp.fg"])
    assert await diagnostics_until(client, uri, lambda d: True) == []
    replace_all(client, files["exp.fg"], good.replace("100", "300") + "bad: [\n", 2)
    assert codes((await version_published(client, uri, 2)).diagnostics)  # it does not compile
    text = await hover(client, uri, 1, 6)
    assert "`300` in the buffer" in text and "does not compile" in text
    assert "= `100`" not in text
