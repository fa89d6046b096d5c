"""Issue 21 parts 1 and 2, over stdio: checks run off the event loop (a request is answered
while a long check runs, and says when its analysis is older than the buffer), a burst of
changes costs one check after it (the debounce counts from the last change; a change stops the
check under way), and the caches keep no version per edit.

Orders and counts are asserted, never durations: the long checks only make the orders certain.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from .conftest import diagnostics_until, open_doc, publications, replace_all, status, version_published, write

pytestmark = pytest.mark.asyncio

SMALL = """\
main: !singleton:fractions:Fraction
    numerator: 3
    denominator: 4
"""


def long_experiment(entries: int) -> str:
    """An experiment whose check takes a while: `entries` targets, a tagged call each."""
    lines = []
    for i in range(entries):
        lines += [f"ratio_{i}: !singleton:fractions:Fraction", f"    numerator: {i + 1}", "    denominator: 7",
                  f"settings_{i}:", f"    label: \"entry {i}\"", "    items: [ 1, 2, 3 ]"]
    return "\n".join(lines) + "\n"


async def hover_text(client, uri: str, line: int, character: int) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )
    assert result is not None
    return result.contents.value


async def test_a_request_is_answered_while_a_long_check_runs(client, tmp_path):
    files = write(tmp_path, {"small.fg": SMALL, "big.fg": long_experiment(3000)})
    small = open_doc(client, files["small.fg"])
    await diagnostics_until(client, small, lambda d: True)
    big = open_doc(client, files["big.fg"])
    text = await hover_text(client, small, 1, 6)  # numerator, while big.fg is checked
    assert "`main.numerator` = `3`" in text
    assert publications(client, big) == []  # its check had not finished when the hover was answered
    assert await diagnostics_until(client, big, lambda d: True) == []


async def test_a_burst_of_changes_costs_one_check_after_it(client, tmp_path):
    files = write(tmp_path, {"exp.fg": long_experiment(600)})
    text = files["exp.fg"].read_text()
    uri = open_doc(client, files["exp.fg"])
    await diagnostics_until(client, uri, lambda d: True)  # the open's check: one
    for version in range(2, 12):  # ten changes, 10 ms apart: within the 30 ms window of each other
        replace_all(client, files["exp.fg"], text.replace("numerator: 1\n", f"numerator: {version}\n", 1), version)
        await asyncio.sleep(0.01)
    last = await version_published(client, uri, 11)
    assert list(last.diagnostics) == []
    # The first change went at once (after a quiet spell) and the next one stopped it; the
    # last one was checked a window after it came. Not one check (and publication) per change.
    assert len([p for p in publications(client, uri) if p.version is not None and p.version >= 2]) <= 2
    after = await status(client)
    assert after["checks finished"] <= 1 + 2 and after["checks superseded"] >= 1


async def test_an_answer_from_an_older_analysis_says_so(client, tmp_path):
    files = write(tmp_path, {"exp.fg": SMALL + long_experiment(1500)})
    text = files["exp.fg"].read_text()
    uri = open_doc(client, files["exp.fg"])
    await diagnostics_until(client, uri, lambda d: True)
    replace_all(client, files["exp.fg"], text.replace("numerator: 3", "numerator: 30"), 2)
    answer = await hover_text(client, uri, 1, 6)  # version 2 is being checked: version 1 answers
    assert "`main.numerator` = `3`" in answer and "older version of this buffer" in answer
    await version_published(client, uri, 2)
    assert "`main.numerator` = `30`" in await hover_text(client, uri, 1, 6)


async def test_the_caches_keep_no_version_per_edit(client, tmp_path):
    files = write(tmp_path, {"base.fg": SMALL, "exp.fg": "-- extends 'base.fg'\n[main]\n    == super()\n    numerator: 1\n"})
    text = files["exp.fg"].read_text()
    uri = open_doc(client, files["exp.fg"])
    await diagnostics_until(client, uri, lambda d: True)
    for version in range(2, 17):  # fifteen edits, each waited for (each one checked)
        replace_all(client, files["exp.fg"], text.replace("numerator: 1", f"numerator: {version}"), version)
        await version_published(client, uri, version)
    held = await status(client)
    assert held["checks finished"] >= 16
    assert held["lowered versions of one template, at most"] <= 2
    assert held["lowered templates"] <= 4 and held["parsed templates"] <= 2


async def test_garbage_is_collected_when_idle_and_every_few_checks_of_a_stream(client, tmp_path):
    """The full collection after a check waits until the server is idle (the next edit of a
    stream must not wait for it), and still runs every `GC_EVERY` checks of edits that never
    pause, so memory stays flat."""
    from fgc.lsp.server import GC_EVERY

    files = write(tmp_path, {"exp.fg": SMALL})
    uri = open_doc(client, files["exp.fg"])
    await version_published(client, uri, 1)
    for version in range(2, 2 + 2 * GC_EVERY):  # a stream: each edit sent as its diagnostics arrive
        replace_all(client, files["exp.fg"], SMALL.replace("numerator: 3", f"numerator: {version}"), version)
        await version_published(client, uri, version)
        held = await status(client)
        assert held["checks since the last full collection"] < GC_EVERY
    assert held["full collections"] >= 2
    for _ in range(400):  # idle: the collection comes (a bound by count, only against a hang)
        held = await status(client)
        if held["checks since the last full collection"] == 0:
            break
        await asyncio.sleep(0.025)
    assert held["checks since the last full collection"] == 0


@pytest.mark.parametrize("client", [{"fgc.lsp.debounceMs": 600_000}], indirect=True)
async def test_a_change_after_the_last_check_finished_is_checked_at_once(client, tmp_path):
    """No burst in progress (nothing queued, running or waiting for the window: the last check
    finished before the change came): the change is checked at once, however soon after the one
    before it came. The window here is ten minutes, so a change held back for it would never be
    published while the test waits."""
    files = write(tmp_path, {"exp.fg": SMALL})
    uri = open_doc(client, files["exp.fg"])
    await version_published(client, uri, 1)
    for version in range(2, 7):  # each sent as soon as the one before is published
        replace_all(client, files["exp.fg"], SMALL.replace("numerator: 3", f"numerator: {version}"), version)
        await version_published(client, uri, version)
    held = await status(client)
    assert held["checks finished"] == 6 and held["checks superseded"] == 0
