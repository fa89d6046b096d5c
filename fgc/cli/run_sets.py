"""`fgc run --set NAME=VALUE`: values for the build's variables, read as YAML scalars."""

from __future__ import annotations

from ..diagnostics import did_you_mean
from .common import UsageError, parse_scalar


def parse_sets(items: list[str], variables: dict) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        if name not in variables:
            hint = did_you_mean(name, variables)
            known = ", ".join(variables) or "none"
            raise UsageError(
                f"the build has no variable `{name}` (variables: {known})" + (f"; {hint}" if hint else "")
            )
        out[name] = parse_scalar(value)
    return out
