"""`fgc run --set NAME=VALUE`: values for the build's variables, read as YAML scalars and
checked against the type of the variable's default recorded in the manifest.

    default int     an int (not a bool)          default float   an int or a float
    default bool    true or false                default str     a string (quote a number: '2024')
    default null, a list, a mapping, a default built from the config, or none: any value
"""

from __future__ import annotations

from ..diagnostics import did_you_mean
from ..imports.typecheck import describe_value
from .common import UsageError, parse_scalar

# type of the default -> (what it accepts, in words; the check)
_ACCEPTS = {
    bool: ("true or false", lambda v: isinstance(v, bool)),
    int: ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    str: ("a string", lambda v: isinstance(v, str)),
}


def parse_sets(items: list[str], variables: dict) -> dict:
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        if name not in variables:
            hint = did_you_mean(name, variables)
            known = ", ".join(variables) or "none"
            raise UsageError(
                f"the build has no variable `{name}` (variables: {known})" + (f"; {hint}" if hint else "")
            )
        value = parse_scalar(text)
        check_type(name, text, value, variables[name])
        out[name] = value
    return out


def check_type(name: str, text: str, value, entry: dict) -> None:
    """UsageError when `value` cannot stand for the variable's recorded default."""
    if not isinstance(entry, dict) or "default" not in entry:
        return  # required, or a default built from the config: nothing recorded to compare with
    default = entry["default"]
    accepts = _ACCEPTS.get(type(default))
    if accepts is None:  # null, a list, a mapping
        return
    words, ok = accepts
    if ok(value):
        return
    hint = ""
    if type(default) is str:
        hint = f"; a value that YAML reads as another type is quoted: --set \"{name}='{text}'\""
    raise UsageError(
        f"--set {name}={text}: variable `{name}` takes {words} (its default is {default!r}), "
        f"got {describe_value(value)}{hint}"
    )
