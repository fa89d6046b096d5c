"""The chunked parse (fgc/syntax/config_chunks.py) gives exactly what a full parse gives.

Every config case (identity source map) is parsed whole and chunk by chunk (cut before every
column-0 key: `CHUNK_LINES` set to 1), cold and with a cache warmed by an earlier version of the
text: each line edited, and a line inserted before each line. The results are compared field by
field, spans included. Rendered texts: tests/templates/test_config_chunks_rendered.py.
"""

from __future__ import annotations


import pytest

from ast_shape import shape
from casefile import all_cases, params
from fgc.sourcemap import SourceMap
from fgc.syntax import config_chunks
from fgc.syntax.config_chunks import ChunkCache, chunk_starts
from fgc.syntax.config_parser import parse_config

CONFIG_CASES = all_cases("config")


def parsed(text: str, sm: SourceMap, cache: ChunkCache | None = None) -> object:
    document, diagnostics = parse_config(text, sm, cache)
    return shape(document), shape(diagnostics)


@pytest.fixture
def every_key_cuts(monkeypatch):
    monkeypatch.setattr(config_chunks, "CHUNK_LINES", 1)


def edits(text: str) -> list[str]:
    """Each line changed, and a line inserted before each line."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        out.append("\n".join([*lines[:i], line + "0", *lines[i + 1 :]]))
        out.append("\n".join([*lines[:i], f"inserted_{i}: {i}", *lines[i:]]))
    return out


def assert_same(text: str, sm: SourceMap, cache: ChunkCache) -> None:
    assert parsed(text, sm, cache) == parsed(text, sm), text


@pytest.mark.parametrize("case", params(CONFIG_CASES))
def test_config_case(case, every_key_cuts):
    text = case.files[case.input]
    cache = ChunkCache()
    assert_same(text, SourceMap.identity(case.input, text), cache)  # cold
    assert_same(text, SourceMap.identity(case.input, text), cache)  # every chunk reused
    for edited in edits(text):
        warm = ChunkCache()
        parse_config(text, SourceMap.identity(case.input, text), warm)
        assert_same(edited, SourceMap.identity(case.input, edited), warm)


def test_unchanged_chunks_are_reused(every_key_cuts):
    text = "a: 1\nb:\n  c: [1, 2]\nd: &x 3\ne: *x\n"
    cache = ChunkCache()
    parse_config(text, SourceMap.identity("f.yaml", text), cache)
    assert (cache.parsed, cache.reused) == (4, 0)
    edited = text.replace("c: [1, 2]", "c: [1, 5]")
    assert_same(edited, SourceMap.identity("f.yaml", edited), cache)
    assert cache.reused >= 3


def test_a_chunk_that_is_not_clean_means_a_full_parse(every_key_cuts):
    """What a full parse reports after an error depends on what came before it: a chunk with
    any diagnostic gives the text to the full parse."""
    text = "a: 1\nb: [1,\n2]\nc: 010\nd: 4\n"  # a flow sequence continued at column 0; a YAML 1.1 octal
    cache = ChunkCache()
    assert_same(text, SourceMap.identity("f.yaml", text), cache)
    assert cache.parsed >= 1


@pytest.mark.parametrize(
    "text",
    ["--- \na: 1\nb: 2\n", "%YAML 1.2\n---\na: 1\n", "\ufeffa: 1\nb: 2\n", "a: 1\n...\n"],
)
def test_texts_that_are_not_cut(text, every_key_cuts):
    assert chunk_starts(text.split("\n")) is None
