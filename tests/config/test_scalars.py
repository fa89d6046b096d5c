"""Scalar typing: the YAML 1.2 core schema, the standard tags, and the YAML 1.1 check.

The YAML 1.1 reading (`yaml11_reading`) is checked against the reference itself, PyYAML's
SafeLoader, on a table of tricky scalars and on generated numeric-looking strings; the 1.2
reading (`resolve_plain_scalar`) against PyYAML with the 1.2 core-schema resolvers.
"""

from __future__ import annotations

import datetime
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fgc.syntax.scalars import (
    CONSTRUCTOR_ERROR,
    TagValueError,
    resolve_plain_scalar,
    resolve_tagged_scalar,
    yaml11_difference,
    yaml11_reading,
)
from yaml_oracle import Yaml12Loader, same

CORE = [
    ("", None), ("~", None), ("null", None), ("Null", None), ("NULL", None), ("nULL", "nULL"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("yes", "yes"), ("on", "on"), ("y", "y"),
    ("0", 0), ("-0", 0), ("+12", 12), ("007", 7), ("0o17", 15), ("0x1F", 31), ("0xff", 255),
    ("0o8", "0o8"), ("0b1", "0b1"), ("1_000", "1_000"), ("1:20", "1:20"),
    ("1.5", 1.5), ("-.5", -0.5), ("1.", 1.0), ("1e3", 1000.0), ("1E-3", 0.001), ("+1.5e+2", 150.0),
    (".inf", math.inf), ("-.Inf", -math.inf), ("+.INF", math.inf), (".nan", math.nan),
    ("inf", "inf"), (".", "."), ("-", "-"), ("1.2.3", "1.2.3"), ("2001-12-14", "2001-12-14"),
    ("torch.nn:Linear", "torch.nn:Linear"), ("=", "="), ("<<", "<<"),
]


@pytest.mark.parametrize("text,value", CORE)
def test_core_schema(text, value):
    assert same(resolve_plain_scalar(text), value)


@pytest.mark.parametrize("text,_", CORE)
def test_core_schema_agrees_with_pyyaml_12_resolvers(text, _):
    if text in ("", "<<", "=", "-"):
        return  # not one plain scalar after `- ` (empty, merge key, value key, an entry)
    assert same(resolve_plain_scalar(text), yaml.load(f"- {text}", Loader=Yaml12Loader)[0])


YAML11_TABLE = [
    "yes", "Yes", "YES", "no", "No", "on", "On", "OFF", "y", "n", "true", "NULL", "~",
    "0777", "-0777", "09", "0", "00", "+0", "1_000", "-1_0", "0b101", "-0b1", "0x1F", "0x_1",
    "1:20", "-1:20", "190:20:30", "190:20:30.15", "1.5_0", "1_0.5", "1e-3", "1e3", "1.0e-3",
    "1.0e3", "1.0E+3", "-.5", ".5", "+.5", "1.", ".inf", "-.Inf", ".NaN", "0o17", "12e", ".e",
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2001-1-1",
    "abc", ".", "+", "=",
]


def _pyyaml11(text: str):
    """PyYAML's reading of `text` as one plain scalar; None when it is not one."""
    try:
        value = yaml.load(f"- {text}", Loader=yaml.SafeLoader)[0]
    except (yaml.YAMLError, ValueError):  # PyYAML's constructors raise ValueError on "0b_"
        return "ERROR"
    return None if isinstance(value, (list, dict)) else value


def _is_one_plain_scalar(text: str) -> bool:
    return isinstance(yaml.load(f"- {text}", Loader=yaml.BaseLoader)[0], str) if _parses(text) else False


def _parses(text: str) -> bool:
    try:
        yaml.load(f"- {text}", Loader=yaml.BaseLoader)
        return True
    except yaml.YAMLError:
        return False


@pytest.mark.parametrize("text", YAML11_TABLE)
def test_yaml11_reading_is_the_references(text):
    ours = yaml11_reading(text)
    theirs = _pyyaml11(text)
    if isinstance(theirs, datetime.datetime):
        assert getattr(ours, "description", "") == "a timestamp"
    elif isinstance(theirs, datetime.date):
        assert getattr(ours, "description", "") == "a date"
    elif theirs == "ERROR":
        assert ours is CONSTRUCTOR_ERROR
    else:
        assert same(ours, theirs), (text, ours, theirs)


numeric_text = st.text(alphabet="0123456789+-._:eEoxbB", min_size=1, max_size=8)


@settings(max_examples=800, deadline=None, derandomize=True)
@given(numeric_text)
def test_yaml11_reading_on_generated_numbers(text):
    if not _is_one_plain_scalar(text):
        return
    theirs = _pyyaml11(text)
    ours = yaml11_reading(text)
    if isinstance(theirs, (datetime.date, datetime.datetime)) or theirs == "ERROR" or hasattr(ours, "description"):
        return  # dates and constructor failures: covered by the table above
    assert same(ours, theirs), (text, ours, theirs)


@settings(max_examples=800, deadline=None, derandomize=True)
@given(numeric_text)
def test_warning_exactly_when_versions_differ(text):
    """A warning is given exactly when YAML 1.1 (PyYAML) reads the scalar differently."""
    if not _is_one_plain_scalar(text):
        return
    theirs = _pyyaml11(text)
    ours = resolve_plain_scalar(text)
    if theirs == "ERROR" or isinstance(theirs, (datetime.date, datetime.datetime)):
        differs = True
    else:
        differs = not same(ours, theirs)
    assert (yaml11_difference(text) is not None) == differs, (text, ours, theirs)


def test_difference_messages_and_hints():
    d = yaml11_difference("yes")
    assert d.message == "`yes` is a string in YAML 1.2; YAML 1.1 (the reference) reads it as true"
    assert "quote it" in d.hint
    d = yaml11_difference("0777")
    assert "511" in d.message and "0o777" in d.hint
    d = yaml11_difference("1e-3")
    assert d.message == "`1e-3` is the float 0.001 in YAML 1.2; YAML 1.1 (the reference) reads it as a string"
    assert yaml11_difference("y") is None and yaml11_difference("hello") is None


@pytest.mark.parametrize(
    "tag,text,value",
    [
        ("str", "123", "123"), ("int", "0x10", 16), ("int", "-5", -5), ("float", "1", 1.0),
        ("float", "2.0e-4", 2.0e-4), ("float", ".inf", math.inf), ("bool", "True", True),
        ("null", "", None), ("null", "~", None),
    ],
)
def test_tagged_scalars(tag, text, value):
    assert same(resolve_tagged_scalar(tag, text), value)


@pytest.mark.parametrize("tag,text", [("int", "1.5"), ("int", "abc"), ("float", "x"), ("bool", "yes"),
                                      ("null", "0"), ("map", "x")])
def test_tagged_scalar_errors(tag, text):
    with pytest.raises(TagValueError):
        resolve_tagged_scalar(tag, text)


def test_cli_defines_use_the_core_schema():
    from fgc.cli.common import parse_defines

    # a quoted value is a YAML quoted scalar: the string without its quotes ('10' is a string)
    assert parse_defines(
        ["lr=1e-3", "name=tiny", "n=10", "flag=true", "none=~", "s='x'", "q='10'", 'd="a b"']
    ) == {
        "lr": 0.001, "name": "tiny", "n": 10, "flag": True, "none": None, "s": "x", "q": "10",
        "d": "a b",
    }
