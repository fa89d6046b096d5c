"""Which parameter's annotation a value meets: positional, keyword, *args, **kwargs, classes
(their __init__, a dataclass's fields, an __init__ inherited from another module), partials."""

from __future__ import annotations

import pytest

import fgc

MODULES = {
    "base.py": """\
from __future__ import annotations
import dataclasses


class Base:
    def __init__(self, size: int, name: str = "b"):
        self.size = size


@dataclasses.dataclass
class Args:
    steps: int = 1
    rate: float = 0.1
    mode: str = "a"
""",
    "mod.py": """\
from __future__ import annotations
from typing import TYPE_CHECKING
from .base import Base

if TYPE_CHECKING:
    from nowhere import Unknown


def pos(a: int, b: str, /, c: float = 1.0):
    return a


def star(*items: int, **options: bool):
    return items


def implicit(n: int = None, m: int | None = None):  # `= None` makes it Optional
    return n


def hidden(x: Unknown, y: int = 0):  # `Unknown` cannot be evaluated: it decides nothing
    return x


class Child(Base):
    pass
""",
}

CASES = [
    ("!singleton:.mod:pos [1, a]", None),
    ("!singleton:.mod:pos [one, a]", ("one", "`a` of `.mod:pos` expects int, got the string 'one'")),
    ("!singleton:.mod:pos [1, 2]", ("2", "`b` of `.mod:pos` expects str, got the integer 2")),
    ("!singleton:.mod:pos [1, a, x]", ("x", "`c` of `.mod:pos` expects float, got the string 'x'")),
    ("!singleton:.mod:star [1, 2, 3]", None),
    ("!singleton:.mod:star [1, z]", ("z", "`*items` of `.mod:star` expects int, got the string 'z'")),
    (
        "!singleton:.mod:star { verbose: 1 }",
        ("1", "`verbose` of `.mod:star` expects bool, got the integer 1"),
    ),
    ("!singleton:.mod:implicit { n: null, m: null }", None),
    (
        "!singleton:.mod:implicit { n: x }",
        ("x", "`n` of `.mod:implicit` expects int | None, got the string 'x'"),
    ),
    ("!singleton:.mod:hidden { x: 1, y: 2 }", None),
    ("!singleton:.mod:hidden { x: 1, y: b }", ("b", "`y` of `.mod:hidden` expects int, got the string 'b'")),
    (
        "!singleton:.mod:Child { size: big }",
        ("big", "`size` of `.mod:Child` expects int, got the string 'big'"),
    ),
    ("!singleton:.base:Args { steps: 2, rate: 1, mode: b }", None),
    (
        "!singleton:.base:Args { steps: 2.5 }",
        ("2.5", "`steps` of `.base:Args` expects int, got the float 2.5"),
    ),
    (
        "!partial:.base:Args { rate: fast }",
        ("fast", "`rate` of `.base:Args` expects float, got the string 'fast'"),
    ),
    ("!factory:.base:Base [x]", ("x", "`size` of `.base:Base` expects int, got the string 'x'")),
]


@pytest.mark.parametrize("body,expected", CASES, ids=[c[0] for c in CASES])
def test_binding_form(tmp_path, body, expected):
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "exp.fg").write_text(f"main: {body}\n")
    diags = fgc.check(tmp_path / "exp.fg")
    assert [d for d in diags if d.is_error and d.code != "FG0620"] == []
    found = [(d.span.line, d.span.col, d.message) for d in diags if d.code == "FG0620"]
    if expected is None:
        assert found == []
        return
    token, message = expected
    line = f"main: {body}"
    assert found == [(1, line.rindex(token) + 1, message)]  # at the offending value


@pytest.mark.parametrize(
    "value,hint", [('"4"', "a quoted number is a string: write it without quotes"), ("four", None)]
)
def test_quoted_number_hint(tmp_path, value, hint):
    (tmp_path / "mod.py").write_text("def f(n: int):\n    return n\n")
    (tmp_path / "exp.fg").write_text(f"main: !singleton:.mod:f\n    n: {value}\n")
    (d,) = [d for d in fgc.check(tmp_path / "exp.fg") if d.code == "FG0620"]
    assert d.hint == hint
