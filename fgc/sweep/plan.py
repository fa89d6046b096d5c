"""The axes of a sweep and the combinations of their values.

An axis is one command-line value with several choices, `NAME=v1,v2,...`, of one of three kinds:

    define     -D NAME=...          a template variable (compile time)
    override   --override K.P=...   a config path (compile time)
    set        --set NAME=...       a variable of the build (run time)

Values stay strings: `fgc compile` and `fgc run` read them (as YAML scalars or config values),
so a sweep passes exactly what a user would type. Commas split the choices except inside quotes
or brackets: `--override model.sizes=[1,2],[3,4]` has two choices.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

KINDS = {"define": "-D", "override": "--override", "set": "--set"}


class PlanError(Exception):
    """A malformed axis or search; the message says which and why."""


@dataclass(frozen=True)
class Axis:
    kind: str  # one of KINDS
    name: str
    values: tuple[str, ...]

    def flag(self) -> str:
        return KINDS[self.kind]

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "values": list(self.values)}


def split_choices(text: str) -> list[str]:
    """`1e-3,3e-4` -> ['1e-3', '3e-4']; commas inside quotes, [], {} or () do not split."""
    out: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            out.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    out.append("".join(current).strip())
    return out


def parse_axis(kind: str, item: str) -> Axis:
    flag = KINDS[kind]
    name, sep, text = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise PlanError(f"{flag} expects NAME=VALUE[,VALUE...], got {item!r}")
    if kind != "override" and not name.isidentifier():
        raise PlanError(f"{flag} {item}: NAME must be an identifier")
    values = split_choices(text)
    if any(v == "" for v in values):
        raise PlanError(f"{flag} {item}: an empty choice (two commas in a row, or one at an end)")
    if len(set(values)) != len(values):
        raise PlanError(f"{flag} {item}: a choice is listed twice")
    return Axis(kind, name, tuple(values))


def parse_axes(defines: list[str], overrides: list[str], sets: list[str]) -> list[Axis]:
    """The axes of a command line, in a fixed order (overrides, -D, --set, each as given); one
    name twice (in any kinds) is refused: its runs could not be told apart."""
    axes = [parse_axis("override", x) for x in overrides]
    axes += [parse_axis("define", x) for x in defines]
    axes += [parse_axis("set", x) for x in sets]
    seen: dict[str, Axis] = {}
    for axis in axes:
        if axis.name in seen:
            raise PlanError(f"{axis.name} is given twice ({seen[axis.name].flag()} and {axis.flag()}); "
                            "list all its choices in one NAME=v1,v2")
        seen[axis.name] = axis
    return axes


Combination = dict  # axis name -> the chosen value (a string)


def grid_size(axes: list[Axis]) -> int:
    return math.prod(len(a.values) for a in axes)


def nth_combination(axes: list[Axis], index: int) -> Combination:
    """The index-th combination of the cartesian product (the last axis varies fastest)."""
    out = {}
    for axis in reversed(axes):
        index, i = divmod(index, len(axis.values))
        out[axis.name] = axis.values[i]
    return {a.name: out[a.name] for a in axes}


def grid(axes: list[Axis]) -> list[Combination]:
    return [dict(zip([a.name for a in axes], values)) for values in itertools.product(*(a.values for a in axes))]


def random_search(axes: list[Axis], trials: int, seed: int) -> list[Combination]:
    """`trials` distinct combinations drawn with `seed` (all of them when the grid is smaller).
    Drawn one by one, so a larger --trials keeps the earlier draws and adds to them."""
    total = grid_size(axes)
    rng = random.Random(seed)
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < min(trials, total):
        i = rng.randrange(total)
        if i not in seen:
            seen.add(i)
            chosen.append(i)
    return [nth_combination(axes, i) for i in chosen]


def varying(axes: list[Axis]) -> list[Axis]:
    """The axes with more than one choice (a one-value axis is the same in every run)."""
    return [a for a in axes if len(a.values) > 1]
