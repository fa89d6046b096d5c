"""Scalar typing of the config layer: the YAML 1.2 core schema, the standard `!!` tags, and
the check for values that YAML 1.1 (the reference's PyYAML SafeLoader) reads differently.

    resolve_plain_scalar("1e-3")  -> 0.001      (YAML 1.1 would keep the string "1e-3")
    resolve_plain_scalar("yes")   -> "yes"      (YAML 1.1 would read True)
    yaml11_difference("yes")      -> a Difference explaining both readings

Only plain (unquoted) scalars are typed by the schema; quoted and block scalars are strings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Union

ScalarValue = Union[None, bool, int, float, str]

NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
TRUE_WORDS = frozenset({"true", "True", "TRUE"})
FALSE_WORDS = frozenset({"false", "False", "FALSE"})

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_INT_DEC = re.compile(r"[-+]?[0-9]+\Z")
_INT_OCT = re.compile(r"0o[0-7]+\Z")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")

_NUMERIC_START = frozenset("0123456789+-.")


def resolve_plain_scalar(text: str) -> ScalarValue:
    """The value of a plain scalar under the YAML 1.2 core schema.

    null: `~`, `null`, `Null`, `NULL`, empty; bool: `true`/`True`/`TRUE`/`false`/...;
    int: decimal, `0o` octal, `0x` hex; float: `1.5`, `1e-3`, `.5`, `.inf`, `-.Inf`, `.nan`;
    anything else is the string itself.
    """
    if not text:
        return None
    first = text[0]
    if first in _NUMERIC_START:
        number = _resolve_number(text)
        return text if number is None else number
    if first in "~nN" and text in NULL_WORDS:
        return None
    if first in "tT" and text in TRUE_WORDS:
        return True
    if first in "fF" and text in FALSE_WORDS:
        return False
    return text


def _resolve_number(text: str) -> int | float | None:
    if _INT_DEC.match(text):
        return int(text, 10)
    if text[0] == "0" and len(text) > 2:
        if _INT_OCT.match(text):
            return int(text[2:], 8)
        if _INT_HEX.match(text):
            return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text[0] == "-" else math.inf
    if _NAN.match(text):
        return math.nan
    return None


# --------------------------------------------------------------------------------------------
# Standard tags

STANDARD_TAGS = frozenset({"str", "int", "float", "bool", "null", "map", "seq"})
# Standard tags of YAML 1.1 that fgc does not support (the reference rejects most of them too).
UNSUPPORTED_STANDARD_TAGS = frozenset(
    {"binary", "timestamp", "set", "omap", "pairs", "merge", "value", "yaml"}
)


class TagValueError(ValueError):
    """A scalar that its explicit standard tag cannot read (`!!int abc`)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def resolve_tagged_scalar(tag: str, text: str) -> ScalarValue:
    """The value of a scalar with an explicit standard tag (`tag` without `!!`: "float").

    Raises TagValueError when the text is not a value of that type.
    """
    if tag == "str":
        return text
    if tag == "null":
        if text in NULL_WORDS:
            return None
        raise TagValueError(f"`{text}` is not a null (`~`, `null` or empty)")
    if tag == "bool":
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        hint = None
        if text.lower() in _YAML11_BOOL_WORDS:
            hint = f"YAML 1.2 booleans are `true` and `false`; write `{str(_YAML11_BOOL_WORDS[text.lower()]).lower()}`"
        raise TagValueError(f"`{text}` is not a boolean", hint)
    if tag == "int":
        value = resolve_plain_scalar(text)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TagValueError(f"`{text}` is not an integer")
    if tag == "float":
        value = resolve_plain_scalar(text)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TagValueError(f"`{text}` is not a floating-point number")
    raise TagValueError(f"`!!{tag}` does not apply to a scalar")


# --------------------------------------------------------------------------------------------
# YAML 1.1, as the reference (PyYAML's SafeLoader) reads plain scalars

_YAML11_BOOL_WORDS = {
    **{w: True for w in ("yes", "true", "on")},
    **{w: False for w in ("no", "false", "off")},
}
# Exact spellings of the 1.1 booleans that PyYAML resolves (yes, Yes, YES, ...).
_YAML11_BOOLS = {
    v: b for w, b in _YAML11_BOOL_WORDS.items() for v in (w, w.capitalize(), w.upper())
}
# The YAML 1.1 type repository also lists the one-letter booleans `y`/`n`; PyYAML (the
# reference) reads them as strings, like YAML 1.2, so they never warn: a warning there would
# only be noise on coordinates such as `x: 1` / `y: 2`.

_Y11_INT = re.compile(
    r"""[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+
    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+""",
    re.X,
)
_Y11_FLOAT = re.compile(
    r"""[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""",
    re.X,
)
_Y11_TIMESTAMP = re.compile(
    r"""[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
     (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?""",
    re.X,
)


class _Reading:
    """What YAML 1.1 makes of a scalar when it is not a plain value: a date, or an error."""

    def __init__(self, description: str) -> None:
        self.description = description


DATE = _Reading("a date")
TIMESTAMP = _Reading("a timestamp")
CONSTRUCTOR_ERROR = _Reading("an error (the `=` value tag has no constructor)")


def yaml11_reading(text: str) -> ScalarValue | _Reading:
    """The value PyYAML's SafeLoader (YAML 1.1) gives a plain scalar."""
    if text in NULL_WORDS:
        return None
    if text in _YAML11_BOOLS:
        return _YAML11_BOOLS[text]
    if text == "=":
        return CONSTRUCTOR_ERROR
    first = text[0]
    if first in _NUMERIC_START:
        if _Y11_FLOAT.fullmatch(text):
            return _yaml11_float(text)
        if _Y11_INT.fullmatch(text):
            try:
                return _yaml11_int(text)
            except ValueError:  # e.g. "0b_": PyYAML's regex admits it, its constructor fails
                return _Reading("an error (no digits)")
        if _Y11_TIMESTAMP.fullmatch(text):
            return DATE if len(text) == 10 else TIMESTAMP
    return text


def _sexagesimal(digits: str) -> int | float:
    value: int | float = 0
    for part in digits.split(":"):
        value = value * 60 + (float(part) if "." in part else int(part))
    return value


def _yaml11_int(text: str) -> int:
    v = text.replace("_", "")
    sign = -1 if v[0] == "-" else 1
    if v[0] in "+-":
        v = v[1:]
    if v == "0":
        return 0
    if v.startswith("0b"):
        return sign * int(v[2:], 2)
    if v.startswith("0x"):
        return sign * int(v[2:], 16)
    if ":" in v:
        return sign * int(_sexagesimal(v))
    if v[0] == "0":
        return sign * int(v, 8)
    return sign * int(v)


def _yaml11_float(text: str) -> float | _Reading:
    v = text.replace("_", "").lower()
    sign = -1.0 if v[0] == "-" else 1.0
    if v[0] in "+-":
        v = v[1:]
    if v == ".inf":
        return sign * math.inf
    if v == ".nan":
        return math.nan
    try:
        if ":" in v:
            return sign * float(_sexagesimal(v))
        return sign * float(v)
    except ValueError:  # e.g. "._": PyYAML's regex admits it, its constructor fails
        return _Reading("an error (no digits)")


@dataclass(frozen=True)
class Difference:
    """A plain scalar that YAML 1.1 (the reference) reads differently from YAML 1.2 (fgc)."""

    message: str
    hint: str


def _describe(value: ScalarValue | _Reading) -> str:
    if isinstance(value, _Reading):
        return value.description
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"the float {value!r}"
    return f"the integer {value!r}"


def _same(a: ScalarValue | _Reading, b: ScalarValue) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def yaml11_difference(text: str, value: ScalarValue | None = None) -> Difference | None:
    """How YAML 1.1 reads the plain scalar `text` when that differs from YAML 1.2, else None.

    `value` is the YAML 1.2 value when the caller already has it.
    """
    if not text:
        return None
    first = text[0]
    # Fast exit: letters can only differ as 1.1 booleans (or the letter booleans).
    if first not in _NUMERIC_START and first != "=":
        if first not in "yYnNoO" or text not in _YAML11_BOOLS:
            return None
    if value is None and text not in NULL_WORDS:
        value = resolve_plain_scalar(text)
    old = yaml11_reading(text)
    if _same(old, value):
        return None
    new_desc = "the string" if isinstance(value, str) else _describe(value)
    if isinstance(value, str):
        message = f"`{text}` is a string in YAML 1.2; YAML 1.1 (the reference) reads it as {_describe(old)}"
    else:
        message = f"`{text}` is {new_desc} in YAML 1.2; YAML 1.1 (the reference) reads it as {_describe(old)}"
    if isinstance(old, bool):
        hint = f"quote it to keep the string; write `{str(old).lower()}` for the boolean"
    elif isinstance(value, str):
        hint = "quote it to make the string explicit"
        if isinstance(old, int) and "_" in text:
            hint += f"; write `{text.replace('_', '')}` for the number"
    elif isinstance(old, str):
        hint = "quote it to keep the string"
    elif isinstance(value, int) and isinstance(old, int) and text.lstrip("+-").startswith("0"):
        hint = f"write `0o{text.lstrip('+-0') or '0'}` for octal, or drop the leading zeros"
    else:
        hint = "write the value so that both versions agree, or quote it"
    return Difference(message, hint)
