"""fgc.cli.regex_code: patterns compiled from kept programs are the patterns `re` compiles (equal
objects: same flags, text and program) and match alike; a damaged entry, a bad pattern and a
pattern object pass through."""

from __future__ import annotations

import re

import pytest

from fgc.cli import regex_code
from fgc.cli.regex_code import kept_regex_code

PATTERNS = [
    (r"(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>.+)", 0, "width = 80"),
    (r"^[ \t]*--\s*(\w+)", re.M, "x\n  -- block a\n"),
    (r"(.*?)(?:\{%|\{\{|\{#)", re.M | re.S, "text {{ x }}"),
    (r"((?:[^{]++|\{(?![{%#]))*+)", 0, "a { b {{"),
    (r"é+ü?", re.I, "ÉÉü"),
    (r"(?x) \d+  # digits\n (?:\.\d+)?", 0, "3.14"),
    (rb"\x00(?P<b>[\x80-\xff]+)", 0, b"\x00\x90\x91"),
    (r"(a)|(b)", 0, "b"),
    (r"\bnow\b\s*[()|,]", 0, "now()"),
]


def compile_all() -> list[re.Pattern]:
    re.purge()  # re's own per-process cache would answer without compiling
    return [re.compile(p, f) for p, f, _ in PATTERNS]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path))
    return tmp_path / regex_code.KIND


def test_kept_programs_give_the_same_patterns(cache):
    plain = compile_all()
    with kept_regex_code():
        first = compile_all()  # compiled by re, programs kept
    assert len(list(cache.iterdir())) == 1
    with kept_regex_code():
        kept = compile_all()  # from the kept programs
    for (pattern, flags, subject), a, b, c in zip(PATTERNS, plain, first, kept):
        assert a == b == c
        assert c.groupindex == a.groupindex and c.groups == a.groups and c.flags == a.flags
        ma, mc = a.search(subject), c.search(subject)
        assert (ma and (ma.span(), ma.groups())) == (mc and (mc.span(), mc.groups()))


def test_the_kept_programs_are_used(cache, monkeypatch):
    with kept_regex_code():
        compile_all()
    from re import _parser

    def refuse(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(_parser, "parse", refuse)
    with kept_regex_code():
        patterns = compile_all()
    monkeypatch.undo()
    assert patterns == compile_all()


def test_a_damaged_entry_is_a_miss(cache):
    with kept_regex_code():
        compile_all()
    entry = next(cache.iterdir())
    entry.write_bytes(b"\x00not marshal")
    with kept_regex_code():
        assert compile_all() == compile_all()


def test_a_pattern_of_a_str_subclass_is_compiled_as_usual(cache):
    class Text(str):
        pass

    with kept_regex_code():
        re.purge()
        assert re.compile(Text(r"a+b")).match("aab")
    with kept_regex_code():
        re.purge()
        assert re.compile(r"a+b").match("aab")


def test_a_bad_pattern_still_raises(cache):
    with kept_regex_code():
        with pytest.raises(re.error):
            re.compile(r"(unclosed")


def test_the_context_restores_re():
    from re import _compiler

    before = _compiler.compile
    with kept_regex_code():
        assert _compiler.compile is not before
    assert _compiler.compile is before
