"""Why a build has no variable NAME, for `fgc run BUILD --set NAME=VALUE`.

The build's sources are compiled again (to the graph, nothing imported: cli/experiment_input.py)
and the name is looked up where it may have gone:

- a `!var` of that name under a key that a later duplicate key overrides (a constant after
  `== super()`): the variable was written, then replaced;
- a `!var` of a model definition (a compile-time node consumes it: its value is in config.json);
- a template variable (a knob): read while rendering, fixed in the build, so `-D` at compile time;
- nothing of the build mentions it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterator

from ..diagnostics import Span, display_path
from ..syntax.config_ast import Anchor, ConfigAstNode, Mapping, Scalar, Sequence, Tagged


def why_absent(build_dir: Path, items: list[str], declared: dict) -> str:
    """A sentence (starting with a line break) on the first `--set` name the build lacks; ""
    when every name is declared or nothing more can be said."""
    from ..build import BuildError
    from .common import InputDiagnostics, UsageError

    names = [i.partition("=")[0].strip() for i in items]
    missing = next((n for n in names if n and n not in declared), None)
    if missing is None:
        return ""
    try:
        return _reason(build_dir, missing)
    except (BuildError, InputDiagnostics, UsageError, OSError):
        return ""


def _reason(build_dir: Path, name: str) -> str:
    from .experiment_input import load_experiment

    args = argparse.Namespace(defines=[], include_dirs=[], overrides=[], config=None, file=str(build_dir))
    with load_experiment(str(build_dir), args) as exp:
        comp = exp.comp
        if comp.front.document is None or comp.graph is None:
            return ""
        lost = {s: ov.winner for ov in comp.graph.overrides for s in ov.overridden}
        for var_span, keys in _vars_named(comp.front.document.root, name, []):
            beaten = next((k for k in reversed(keys) if k in lost), None)
            if beaten is not None:
                winner = lost[beaten]
                return (
                    f"\n  `{name}` is a `!var` at {exp.where(var_span)}, but the key around it is written again at "
                    f"{exp.where(winner)} (`{exp.lines(winner)}`), and the last value wins: recompile with that "
                    f"line removed, or with `--override` of the key"
                )
        if name in comp.graph.variables:
            return (
                f"\n  `{name}` is a hyper-parameter of the model definition: `fgc compile` writes its value into the "
                f"model's config.json, so it is set at compile time (`-D {name}=...` where a knob renders it)"
            )
        render = comp.front.render
        if name in render.knob_values or name in render.reads:
            return (
                f"\n  `{name}` is a template variable (a knob), read when the templates are rendered and fixed in the "
                f"build: recompile with `fgc compile ... -D {name}=VALUE` (`fgc vars {display_path(str(build_dir))}` lists both kinds)"
            )
        return f"\n  no template of the build mentions `{name}` (`fgc vars {display_path(str(build_dir))}` lists its variables and knobs)"


def _vars_named(node: ConfigAstNode | None, name: str, keys: list[Span]) -> Iterator[tuple[Span, list[Span]]]:
    """Each `!var` of `name` in a config tree, with the key spans of the entries around it."""
    if node is None:
        return
    if isinstance(node, Anchor):
        yield from _vars_named(node.node, name, keys)
    elif isinstance(node, Tagged):
        if node.tag.kind == "var" and _var_name(node.body) == name:
            yield node.span, list(keys)
        else:
            yield from _vars_named(node.body, name, keys)
    elif isinstance(node, Mapping):
        for e in node.entries:
            yield from _vars_named(e.value, name, [*keys, e.key.span])
    elif isinstance(node, Sequence):
        for item in node.items:
            yield from _vars_named(item, name, keys)


def _var_name(body: ConfigAstNode) -> object:
    if isinstance(body, Scalar):
        return body.value
    if isinstance(body, Mapping):
        value = body.get("name")
        return value.value if isinstance(value, Scalar) else None
    return None
