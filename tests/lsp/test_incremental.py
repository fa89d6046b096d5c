"""The server's incremental checks publish exactly what a full check publishes.

A three-template hierarchy (experiment -> model -> base, every level overriding each block with
`super()`; its rendered config long enough to be parsed in several chunks) is open in the server,
and a series of edits is made to all three templates: values, a wrong argument, a syntax error
and its fix, an undefined alias, lines inserted and removed in the base (the origins of every
later line move), a YAML 1.1 warning, and the original texts restored (an undo). After each
edit, every open document's publication is compared with the diagnostics of a full check of the
same texts by a fresh workspace (nothing cached: `fgc check`'s pipeline), placed as the server
places them (fgc/lsp/publish.py). The server's counters show the checks did reuse parsed chunks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from fgc.lsp.convert import Positions, to_lsp_diagnostic, uri_of
from fgc.lsp.publish import diagnostics_by_file
from fgc.workspace import Workspace

from .conftest import next_publication, open_doc, publications, replace_all, status, write

pytestmark = pytest.mark.asyncio

LEVELS = ["base", "model", "experiment"]


def _section(level: int, i: int) -> list[str]:
    name = f"{LEVELS[level]}_{i}"
    return [
        f"{name}_ratio: &{name}_ratio !singleton:fractions:Fraction",
        f"    numerator: {i + 1}",
        f"    denominator: {{{{ ns.width + {i} }}}}",
        f"{name}_settings:",
        f"    ratio: *{name}_ratio",
        f'    label: "{name}"',
        f"    scale: {0.5 + i}",
        "    items: [ 1, 2, 3 ]",
    ]


def hierarchy(slots: int = 4) -> dict[str, str]:
    out = {}
    for level, name in enumerate(LEVELS):
        lines = ["## base.fg: the root", "-- set ns = namespace(width=60)"] if level == 0 else [
            f"-- extends '{LEVELS[level - 1]}.fg'",
            f"## {name}.fg: level {level}",
        ]
        for i in range(slots):
            lines.append(f"[slot_{i}]")
            if level:
                lines.append("== super()")
            lines += _section(level, i)
        out[f"{name}.fg"] = "\n".join(lines) + "\n"
    return out


# (template, text to replace, replacement): applied one after another.
EDITS = [
    ("experiment.fg", "numerator: 1\n", "numerator: 11\n"),
    ("experiment.fg", "numerator: 11\n", "numeratr: 11\n"),  # FG0611, in the experiment
    ("base.fg", "numerator: 4\n", "numeratr: 4\n"),  # FG0611, in the base's last block
    ("base.fg", "## base.fg: the root\n", "## base.fg: the root\n## one more line\n## and another\n"),
    ("base.fg", "denominator: {{ ns.width + 2 }}", "denominator: [1,"),  # a syntax error in the base
    ("base.fg", "denominator: [1,", "denominator: {{ ns.width + 2 }}"),
    ("model.fg", "ratio: *model_1_ratio", "ratio: *model_1_ratoi"),  # an undefined alias
    ("experiment.fg", "numeratr: 11\n", "numerator: 11\n"),
    ("model.fg", "ratio: *model_1_ratoi", "ratio: *model_1_ratio"),
    ("experiment.fg", "scale: 0.5\n", "scale: yes\n"),  # a YAML 1.1 warning
    ("base.fg", "## one more line\n", ""),
    ("model.fg", "numerator: 2\n", "numerator: 2\n    numerator: 3\n"),  # a duplicate key
    ("experiment.fg", None, None),  # the original text again (an undo)
    ("base.fg", None, None),
    ("model.fg", None, None),
]


def comparable(d: types.Diagnostic) -> tuple:
    r = d.range
    related = tuple(
        (x.location.uri, x.location.range.start.line, x.location.range.start.character, x.message)
        for x in d.related_information or ()
    )
    return (str(d.code), r.start.line, r.start.character, r.end.line, r.end.character, d.message, d.severity, related)


def full_check(paths: dict[str, Path], texts: dict[str, str]) -> dict[str, list[tuple]]:
    """What the server should publish for each open document: a fresh workspace's check."""
    ws = Workspace()
    for name, text in texts.items():
        ws.overlay.open(str(paths[name]), text)
    analysis = ws.compute(str(paths["experiment.fg"]), generate_code=False)[-1]
    by_file = diagnostics_by_file([analysis], {})
    positions = Positions(ws.overlay.read_text)
    out = {}
    for name, path in paths.items():
        found = by_file.get(str(path))
        diags = found.diagnostics if found is not None else []
        out[uri_of(str(path))] = sorted(comparable(to_lsp_diagnostic(d, positions)) for d in diags)
    return out


async def test_every_edit_publishes_what_a_full_check_finds(client, tmp_path):
    original = hierarchy()
    paths = write(tmp_path, original)
    texts = dict(original)
    versions = {name: 1 for name in texts}
    uris = {name: open_doc(client, paths[name]) for name in ["experiment.fg", "model.fg", "base.fg"]}
    for uri in uris.values():
        while not publications(client, uri):
            await next_publication(client)
    assert await status(client)  # every open check finished before the edits start
    seen_codes = set()
    for step, (name, old, new) in enumerate(EDITS):
        if old is None:
            texts[name] = original[name]
        else:
            assert old in texts[name], (step, old)
            texts[name] = texts[name].replace(old, new, 1)
        counts = {uri: len(publications(client, uri)) for uri in uris.values()}
        versions[name] += 1
        replace_all(client, paths[name], texts[name], versions[name])
        while not all(len(publications(client, uri)) > counts[uri] for uri in uris.values()) or not any(
            p.version == versions[name] for p in publications(client, uris[name])
        ):
            await next_publication(client)
        expected = full_check(paths, texts)
        for uri in uris.values():
            published = sorted(comparable(d) for d in publications(client, uri)[-1].diagnostics)
            assert published == expected[uri], (step, uri.rsplit("/", 1)[-1])
            seen_codes |= {c[0] for c in published}
    assert {"FG0611", "FG0501"} <= seen_codes and any(c.startswith("FG04") for c in seen_codes), seen_codes
    counters = await status(client)
    assert counters["config chunks reused"] > 0, counters
