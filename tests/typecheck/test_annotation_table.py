"""Annotation x value -> accepted, or FG0620 with the expected message at the value's column.

Each case is checked twice, through a real local module: with the annotation evaluated at
definition time, and as a string (`from __future__ import annotations`), which fgc evaluates.
"""

from __future__ import annotations

import pytest

import fgc

OK = None

# (annotation, YAML value as written after `x: `, None or the expected "expects ..., got ..." text)
CASES = [
    ("int", "3", OK),
    ("int", "two", "expects int, got the string 'two'"),
    ("int", "'3'", "expects int, got the string '3'"),
    ("int", "3.5", "expects int, got the float 3.5"),
    ("int", "true", "expects int, got the boolean true"),
    ("int", "null", "expects int, got null"),
    ("int", "[1, 2]", "expects int, got a sequence of 2 items"),
    ("int", "{a: 1}", "expects int, got a mapping"),
    ("float", "3", OK),
    ("float", "1.0e-3", OK),
    ("float", ".inf", OK),
    ("float", "abc", "expects float, got the string 'abc'"),
    ("float", "false", "expects float, got the boolean false"),
    ("str", "abc", OK),
    ("str", "'12'", OK),
    ("str", "12", "expects str, got the integer 12"),
    ("str", "null", "expects str, got null"),
    ("bool", "true", OK),
    ("bool", "1", "expects bool, got the integer 1"),
    ("bool", "yes", "expects bool, got the string 'yes'"),
    ("None", "null", OK),
    ("None", "0", "expects None, got the integer 0"),
    ("int | None", "null", OK),
    ("int | None", "4", OK),
    ("int | None", "four", "expects int | None, got the string 'four'"),
    ("Optional[float]", "2", OK),
    ("Optional[float]", "x", "expects float | None, got the string 'x'"),
    ("Union[int, str]", "x", OK),
    ("Union[int, str]", "1.5", "expects int | str, got the float 1.5"),
    ("Literal['sdpa', 'eager']", "sdpa", OK),
    ("Literal['sdpa', 'eager']", "flash", "expects Literal['sdpa', 'eager'], got the string 'flash'"),
    ("Literal[1, 2]", "2", OK),
    ("Literal[1, 2]", "true", "expects Literal[1, 2], got the boolean true"),
    ("list[int]", "[1, 2, 3]", OK),
    ("list[int]", "[]", OK),
    ("list[int]", "[1, b, 3]", "expects int for item 1, got the string 'b'"),
    ("list[int]", "5", "expects list[int], got the integer 5"),
    ("list[int]", "!list [1, x]", "expects int for item 1, got the string 'x'"),
    ("list[int]", "!tuple [1, 2]", OK),
    ("list[int]", "[1, !var { name: a, default: z }]", "expects int for item 1, the default of variable `a`, got the string 'z'"),
    ("list", "[a, 1]", OK),
    ("list", "abc", "expects list, got the string 'abc'"),
    ("tuple", "abc", "expects tuple, got the string 'abc'"),
    ("tuple", "[a, 1]", OK),
    ("tuple[float, float]", "[0.9, 0.95]", OK),
    ("tuple[float, float]", "[0.9]", "expects tuple[float, float], got a sequence of 1 item"),
    ("tuple[float, float]", "[0.9, x]", "expects float for item 1, got the string 'x'"),
    ("tuple[int, ...]", "[1, 2, 3]", OK),
    ("Sequence[str]", "[a, b]", OK),
    ("Sequence[str]", "abc", OK),  # a str is a Sequence[str]
    ("Sequence[int]", "abc", "expects Sequence[int], got the string 'abc'"),
    ("list[list[int]]", "[[1], [2, z]]", "expects int for item 1, item 1, got the string 'z'"),
    ("dict[str, int]", "{a: 1, b: 2}", OK),
    ("dict[str, int]", "{a: 1, b: x}", "expects int for key 'b', got the string 'x'"),
    ("dict[str, int]", "!dict {a: x}", "expects int for key 'a', got the string 'x'"),
    ("dict[str, int]", "[1]", "expects Mapping[str, int], got a sequence of 1 item"),
    ("Mapping[str, float]", "{lr: 1}", OK),
    ("dict", "{a: [1]}", OK),
    ("dict | None", "null", OK),
    ("str | list[str] | None", "[a, b]", OK),
    ("str | list[str] | None", "[a, 1]", "expects str for item 1, got the integer 1"),
    # Annotations that decide nothing: everything passes.
    ("Any", "abc", OK),
    ("object", "[1]", OK),
    ("pathlib.Path", "5", OK),
    ("'NotDefinedAnywhere'", "5", OK),
    ("list['NotDefinedAnywhere']", "[5]", OK),
    ("int | pathlib.Path", "abc", OK),
    ("Callable[..., int]", "abc", OK),
    ("T", "abc", OK),
    # A tagged value whose type is unknown passes; a !var is checked through its default.
    ("int", "!singleton:len [[1, 2]]", OK),
    ("int", "!partial:len", OK),
    ("int", '!var "n"', OK),
    ("int", "!var { name: n, default: 3 }", OK),
    (
        "int",
        "!var { name: n, default: many }",
        "expects int for the default of variable `n`, got the string 'many'",
    ),
]

MODULE = """\
{future}import pathlib
from typing import Any, Callable, Literal, Mapping, Optional, Sequence, TypeVar, Union

T = TypeVar("T")


def f(x: {annotation}):
    return x
"""


def _ids():
    return [f"{a} <- {v}" for a, v, _ in CASES]


@pytest.mark.parametrize("future", [False, True], ids=["evaluated", "string"])
@pytest.mark.parametrize("annotation,value,expected", CASES, ids=_ids())
def test_annotation_value(tmp_path, annotation, value, expected, future):
    (tmp_path / "mod.py").write_text(
        MODULE.format(future="from __future__ import annotations\n" if future else "", annotation=annotation)
    )
    line = f"main: !singleton:.mod:f\n    x: {value}\n"
    (tmp_path / "exp.fg").write_text(line)
    diags = [d for d in fgc.check(tmp_path / "exp.fg") if d.code == "FG0620"]
    others = [d for d in fgc.check(tmp_path / "exp.fg") if d.is_error and d.code != "FG0620"]
    assert not others, others
    if expected is None:
        assert diags == []
        return
    (d,) = diags
    assert d.message == f"`x` of `.mod:f` {expected}"
    assert d.span.line == 2
    if "default of variable" in expected:
        text = f"    x: {value}"
        assert d.span.col == text.index("default: ") + len("default: ") + 1
    elif value.startswith("[") or value.startswith("{") or value.startswith("!"):
        assert d.span.col >= len("    x: ") + 1  # the failing item, inside the value
    else:
        assert d.span.col == len("    x: ") + 1
        assert d.span.end_col == d.span.col + len(value)
