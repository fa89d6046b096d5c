"""Compile-time axes whose values change nothing: every choice gives the same build.

A `-D hidden_size=32,64` axis on an experiment whose own plain `-- set hidden_size = 64` hides
`-D` (FG0207), or a misspelt name (FG0208), would run the same build once per choice and
tabulate the copies as if they differed. Before anything runs, each compile-time axis with
several choices is compiled once per choice (the other axes at their first choice), to the
config graph with nothing imported, and the graphs are compared; an axis whose graphs are all
equal is refused, with the warnings of its compilations that name it (they say why).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, Severity
from .plan import Axis


@dataclass
class Unchanged:
    """An axis whose choices give one build, and the warnings that explain it."""

    axis: Axis
    warnings: list[Diagnostic] = field(default_factory=list)

    def describe(self) -> str:
        values = ",".join(self.axis.values)
        return f"`{self.axis.flag()} {self.axis.name}={values}`: every value gives the same build"


def unchanged_axes(file: Path, include_dirs: list[str], axes: list[Axis]) -> list[Unchanged]:
    """The compile-time axes of `axes` whose values all compile to the same config graph. An
    axis whose first choice does not compile is left to the runs (they report it)."""
    from ..cli.common import UsageError, parse_defines
    from ..passes.overrides import OverrideSyntaxError, parse_overrides
    from ..pipeline import compile_file

    base = {a.name: a.values[0] for a in axes}
    out: list[Unchanged] = []
    for axis in axes:
        if axis.kind == "set" or len(axis.values) < 2:
            continue
        graphs: list[str] = []
        warnings: list[Diagnostic] = []
        for value in axis.values:
            chosen = {**base, axis.name: value}
            defines = [f"{a.name}={chosen[a.name]}" for a in axes if a.kind == "define"]
            overrides = [f"{a.name}={chosen[a.name]}" for a in axes if a.kind == "override"]
            try:
                comp = compile_file(
                    file,
                    include_dirs,
                    parse_defines(defines),
                    overrides=parse_overrides(overrides),
                    import_modules=False,
                    stop_after="graph",
                )
            except (OverrideSyntaxError, UsageError):
                break
            if not comp.ok or comp.graph is None:
                break
            graphs.append(json.dumps(comp.graph.to_json(), sort_keys=True, default=str))
            warnings.extend(d for d in comp.diagnostics if d.severity is Severity.WARNING and d not in warnings)
        else:
            if len(set(graphs)) == 1:
                named = [d for d in warnings if f"`{axis.name}`" in d.message or f" {axis.name}=" in d.message]
                out.append(Unchanged(axis, named))
    return out
