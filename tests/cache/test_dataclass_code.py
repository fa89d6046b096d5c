"""fgc.cli.dataclass_code: dataclasses built from kept compiled code behave as those Python builds."""

from __future__ import annotations

import dataclasses
import marshal
import sys
import types

import pytest

from fgc.cli import dataclass_code
from fgc.cli.dataclass_code import kept_dataclass_code

SOURCE = '''
from __future__ import annotations
import dataclasses
from dataclasses import dataclass, field

@dataclass(frozen=True, order=True)
class Span:
    line: int
    col: int = 0
    note: str = field(default="", compare=False, repr=False)

@dataclass
class Node:
    name: str
    items: list[int] = field(default_factory=list)
    span: Span | None = None

@dataclass(frozen=True)
class Tagged:
    tag: str
    extra: tuple[str, ...] = ()
'''


def build(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(compile(SOURCE, f"<{name}>", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FGC_CACHE_DIR", str(tmp_path))
    compiled: list[str] = []

    def counting(source, *args, **kwargs):
        compiled.append(source)
        return compile(source, *args, **kwargs)

    monkeypatch.setattr(dataclass_code, "compile", counting, raising=False)
    return compiled


def behaviour(m: types.ModuleType) -> list[object]:
    a, b = m.Span(3, 4, note="x"), m.Span(3, 4)
    node = m.Node("n")
    out: list[object] = [
        repr(a), a == b, hash(a) == hash(b), a < m.Span(3, 5), sorted([m.Span(2), a, m.Span(1, 9)]),
        repr(node), node == m.Node("n"), node.items is not m.Node("n").items, m.Node.__hash__,
        dataclasses.asdict(m.Node("k", [1], a)), [f.name for f in dataclasses.fields(m.Span)],
        dataclasses.replace(a, col=7), m.Tagged("t") == m.Tagged("t", ()), hash(m.Tagged("t")),
        m.Span.__init__.__annotations__,
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.line = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        del m.Tagged("t").tag
    with pytest.raises(TypeError):
        m.Node()
    return [str(x) for x in out]


def test_kept_code_builds_the_same_classes_and_is_reused(cache, tmp_path):
    expected = behaviour(build("fgc.probe_plain"))
    with kept_dataclass_code():
        first = build("fgc.probe_kept")
    assert cache, "the first run compiles the method texts"
    assert list((tmp_path / "dataclass-code").iterdir())
    cache.clear()
    with kept_dataclass_code():
        second = build("fgc.probe_kept")
    assert cache == [], "a second run compiles nothing"
    assert behaviour(first) == behaviour(second) == expected
    plain = build("fgc.probe_plain")
    for cls in ("Span", "Node", "Tagged"):
        for method in ("__init__", "__repr__", "__eq__", "__setattr__", "__hash__", "__lt__"):
            ours, theirs = getattr(getattr(second, cls), method), getattr(getattr(plain, cls), method)
            if hasattr(theirs, "__code__"):
                assert ours.__code__.co_code == theirs.__code__.co_code, (cls, method)
                assert ours.__qualname__ == theirs.__qualname__
    # No `from __future__ import annotations` leaks into the generated methods.
    assert second.Span.__init__.__annotations__["return"] is None


def test_a_damaged_entry_is_a_miss(cache, tmp_path):
    (tmp_path / "dataclass-code").mkdir()
    (tmp_path / "dataclass-code" / sys.implementation.cache_tag).write_bytes(b"\x00garbage")
    with kept_dataclass_code():
        m = build("fgc.probe_kept")
    assert cache and behaviour(m) == behaviour(build("fgc.probe_plain"))
    assert isinstance(marshal.loads((tmp_path / "dataclass-code" / sys.implementation.cache_tag).read_bytes()), dict)


def test_other_modules_classes_are_built_as_usual(cache, tmp_path):
    with kept_dataclass_code():
        m = build("user_model")
    assert len(cache) > 0 and not (tmp_path / "dataclass-code").exists()
    assert behaviour(m) == behaviour(build("user_plain"))
    assert "exec" not in vars(dataclasses)
