"""Compiled templates kept on disk between renderings (fgc/render/code_cache.py): a second
rendering loads every template's code instead of compiling it and gives the same text, source
map and error positions; a damaged entry is a miss. The same for the two parse trees kept with
them: fgc's (fgc/loader.py, `parse_kept`) and jinja2's (`code_cache.load_tree`), and for the
parsed config (fgc/frontend.py, `_parse_config`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import fgc.loader
import fgc.render
import fgc.syntax.config_parser
from fgc.frontend import frontend
from fgc.render import code_cache, render_file

FILES = {
    "base.fg": "-- set ns = namespace()\n[a]\n    x: {{ 1 + 2 }}\n-- block tail\n    y: 1\n-- endblock tail\n",
    "exp.fg": "-- extends 'base.fg'\n-- block tail\n    == super()\n    z: {{ missing.attr }}\n-- endblock tail\n",
    "ok.fg": "-- extends 'base.fg'\n-- block tail\n    == super()\n    z: {{ 'w' | upper }}\n-- endblock tail\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path / "cache"))
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _outcome(path: Path):
    result = render_file(path)
    lines = [result.source_map.origin(i + 1) for i in range(len(result.text.splitlines()))] if result.ok else None
    return result.text, lines, [(d.code, d.span.file, d.span.line, d.span.col, d.message) for d in result.diagnostics]


def _entries(root: Path) -> list[Path]:
    return sorted((root / "cache" / "templates").glob("*.code"))


@pytest.mark.parametrize("name", ["ok.fg", "exp.fg"])
def test_a_second_rendering_loads_the_code_and_matches(project, monkeypatch, name):
    first = _outcome(project / name)
    assert len(_entries(project)) == 2  # the input and its parent
    compiled = []
    monkeypatch.setattr(code_cache, "store", lambda *a: compiled.append(a))
    assert _outcome(project / name) == first
    assert compiled == []  # nothing compiled again


def test_the_error_keeps_its_position(project):
    text, _, diags = _outcome(project / "exp.fg")
    _outcome(project / "exp.fg")
    assert text is None and [(c, Path(f).name, line) for c, f, line, _, _ in diags][:1] == [("FG0301", "exp.fg", 4)]


def test_a_damaged_entry_is_a_miss(project):
    first = _outcome(project / "ok.fg")
    for entry in _entries(project):
        entry.write_bytes(b"\x00garbage")
    assert _outcome(project / "ok.fg") == first
    assert all(code_cache.marshal.loads(e.read_bytes()) for e in _entries(project))  # rewritten


def test_an_edit_is_a_new_entry(project):
    _outcome(project / "ok.fg")
    (project / "base.fg").write_text(FILES["base.fg"].replace("1 + 2", "3 + 4"), encoding="utf-8")
    text, _, _ = _outcome(project / "ok.fg")
    assert "x: 7" in text and len(_entries(project)) == 3


def _no_parsing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(fgc.loader, "parse_unchecked", refuse)
    monkeypatch.setattr(fgc.render, "check_chunk", refuse)


@pytest.mark.parametrize("name", ["ok.fg", "exp.fg"])
def test_a_second_rendering_reads_both_parse_trees(project, monkeypatch, name):
    first = _outcome(project / name)
    _no_parsing(monkeypatch)
    assert _outcome(project / name) == first


def test_damaged_trees_are_parsed_again(project):
    first = _outcome(project / "ok.fg")
    kept = [*(project / "cache" / "parses").iterdir(), *(project / "cache" / "templates").glob("tree-*")]
    assert len(kept) == 4  # two files, each parsed by fgc and by jinja2
    for entry in kept:
        entry.write_bytes(b"\x80\x05garbage")
    assert _outcome(project / "ok.fg") == first


def test_a_template_with_errors_is_not_kept_as_a_tree(project):
    (project / "bad.fg").write_text("-- if x\nx: 1\n", encoding="utf-8")  # no endif
    first = _outcome(project / "bad.fg")
    assert first[0] is None and not list((project / "cache" / "templates").glob("tree-*"))
    assert _outcome(project / "bad.fg") == first


def _front(path: Path, **variables):
    front = frontend(path, (), variables)
    return front.document, [(d.code, d.span.line if d.span else None, d.message) for d in front.diagnostics]


@pytest.mark.parametrize("text", ["a: 1\nb: [1, 2]\n", "a: 1\na: 2\nb: [1\n"])  # clean, with errors
def test_a_second_front_end_reads_the_parsed_config(project, monkeypatch, text):
    (project / "plain.fg").write_text(text, encoding="utf-8")
    first = _front(project / "plain.fg")
    monkeypatch.setattr(fgc.syntax.config_parser, "parse_config", lambda *a: pytest.fail("parsed again"))
    again = _front(project / "plain.fg")
    assert again[1] == first[1] and repr(again[0]) == repr(first[0])


def test_another_text_is_parsed(project):
    (project / "plain.fg").write_text("a: 1\n", encoding="utf-8")
    _front(project / "plain.fg")
    (project / "plain.fg").write_text("a: 2\n", encoding="utf-8")
    document, _ = _front(project / "plain.fg")
    assert "2" in repr(document) and len(list((project / "cache" / "configs").iterdir())) == 2


def test_the_comments_a_document_starts_with_do_not_count(project, monkeypatch):
    """A header that prints the time (the reference's configs) is a hit; a comment after the
    first key, or a header line that is not a comment, is not."""
    (project / "plain.fg").write_text("# {{ stamp }}\n\n# x\n{{ first }}: 1\n# {{ later }}\n", encoding="utf-8")
    first = _front(project / "plain.fg", stamp="one", first="a", later="x")
    parsed = []
    original = fgc.syntax.config_parser.parse_config
    monkeypatch.setattr(fgc.syntax.config_parser, "parse_config", lambda *a: parsed.append(a) or original(*a))
    again = _front(project / "plain.fg", stamp="two, longer", first="a", later="x")
    assert parsed == [] and repr(again) == repr(first)
    _front(project / "plain.fg", stamp="two, longer", first="a", later="changed")
    document, _ = _front(project / "plain.fg", stamp="two, longer", first="b", later="changed")
    assert len(parsed) == 2 and "'b'" in repr(document)
