"""Compile-time nodes (fgc/codegen/compile_time_node.py): a second kind plugs into the same four
steps as dynamic_causal_lm (recognise, plan with diagnostics, its expression in config.py, its files
in the build) by being registered, with nothing else wired by hand; and the model package's code
is written by the same expression writer as config.py."""

from __future__ import annotations

import ast
import importlib
import json
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import fgc
import fgc.compile_time
from fgc.api import CompileError
from fgc.build import BuildError
from fgc.codegen import pytree as py
from fgc.codegen.compile_time_node import CompileTimeNode, Planned
from fgc.diagnostics import Result, error
from fgc.graph import Node
from fgc.imports.specs import Form


@dataclass
class FrozenJson(Planned):
    """A `!singleton:json:loads "<text>"` node read at compile time: config.py holds the value
    as a literal, and the build keeps the text in frozen/<key>.json."""

    node: Node
    value: object
    consumed: set = field(default_factory=set)

    def children(self):
        return []

    def expr(self, emitter):
        return py.literal(self.value)

    def write_files(self, root: Path) -> list:
        if self.node.key == "unwritable":
            return [error("FG0799", "frozen/ cannot hold this one", self.node.span)]
        (root / "frozen").mkdir(exist_ok=True)
        (root / "frozen" / f"{self.node.key}.json").write_text(json.dumps(self.value))
        return []


class Frozen(CompileTimeNode):
    def recognise(self, node, imports):
        spec = imports.specs.get(node)
        return spec is not None and spec.form == Form.MODULE and spec.module == "json" and spec.attrs == ("loads",)

    def plan(self, nodes, graph, imports, use_black):
        planned, diags = [], []
        for node in nodes:
            try:
                planned.append(FrozenJson(node, json.loads(node.args[0])))
            except (ValueError, IndexError, TypeError) as e:
                diags.append(error("FG0799", f"not JSON: {e}", node.span))
        return Result(planned, diags)


@pytest.fixture
def with_frozen(monkeypatch):
    monkeypatch.setattr(fgc.compile_time, "KINDS", (*fgc.compile_time.KINDS, Frozen()))


def test_a_second_kind_is_registered_not_wired(tmp_path, with_frozen):
    (tmp_path / "exp.fg").write_text(textwrap.dedent("""\
        table: !singleton:json:loads '{"a": [1, 2]}'
        main: !singleton:dict
            copy: !singleton:json:loads '[3]'
        """))
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    code = build.config_py.read_text()
    assert "from json import loads" not in code and "loads(" not in code
    assert '{"a": [1, 2]}' in code  # read at compile time, a literal in config.py
    assert build.load().construct(("table", "main")) == ({"a": [1, 2]}, {"copy": [3]})
    assert json.loads((build.dir / "frozen" / "table.json").read_text()) == {"a": [1, 2]}
    manifest = json.loads((build.dir / "fgc-manifest.json").read_text())
    assert "frozen/copy.json" in manifest["files"]


def test_a_second_kind_reports_at_the_node(tmp_path, with_frozen):
    (tmp_path / "exp.fg").write_text("main: !singleton:dict\n    bad: !singleton:json:loads 'not json'\n")
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line) == ("FG0799", 2) and "not JSON" in d.message
    (tmp_path / "exp.fg").write_text("unwritable: !singleton:json:loads '1'\n")
    with pytest.raises(BuildError) as failed:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    assert failed.value.diagnostic.code == "FG0799"
    assert not (tmp_path / "build").exists()  # the build is written whole or not at all


def test_unregistered_the_node_is_an_ordinary_call(tmp_path):
    (tmp_path / "exp.fg").write_text("main: !singleton:json:loads '[3]'\n")
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    assert "from json import loads" in build.config_py.read_text()
    assert build.load().construct("main") == [3]


MODEL = """\
model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
    definition: !partial:.core:Core
        a: &lin !factory:torch.nn:Linear [!var "d", !var "d"]
        b: *lin
        per_call: !partial:torch.nn:Sequential [ !factory:torch.nn:ReLU [] ]
        item: !call:getitem [ [1, 2], 1 ]
        named: !call:named_dict { x: 1, y: !var "d" }
        real: !call:getattr [ 3, "real" ]
        pairs: !call:items [ { k: 1 } ]
    d: 4
"""

CORE = """\
from torch import nn

class Core(nn.Module):
    def __init__(self, a, b, per_call, item, named, real, pairs):
        super().__init__()
        self.a, self.b, self.per_call = a, b, per_call
        self.values = (item, named, real, list(pairs))
"""


def test_modeling_py_uses_the_plain_python_forms(tmp_path):
    """The model package is written by config.py's expression writer: helpers in their plain
    form (`x[k]`, `{...}`, `x.name`, `x.items()`), no `operator` import that nothing uses."""
    (tmp_path / "exp.fg").write_text(MODEL)
    (tmp_path / "core.py").write_text(CORE)
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    modeling = (build.dir / "model" / "modeling.py").read_text()
    assert "[1, 2][1]" in modeling and '{"x": 1, "y": d}' in modeling and "(3).real" in modeling
    assert "operator" not in modeling
    calls = [n for n in ast.walk(ast.parse(modeling)) if isinstance(n, ast.FunctionDef) and n.name == "per_call"]
    assert calls and calls[0].args.vararg and calls[0].args.kwarg
    sys.path.insert(0, str(build.dir))
    try:
        core = importlib.import_module("model.modeling").construct_model(d=4)
    finally:
        sys.path.remove(str(build.dir))
        for name in [n for n in sys.modules if n == "model" or n.startswith("model.")]:
            del sys.modules[name]
    assert core.values == (2, {"x": 1, "y": 4}, 3, [("k", 1)])
    assert core.a is not core.b
    assert core.per_call()[0] is not core.per_call()[0]  # the factory argument is built per call


def test_model_definition_refuses_what_is_not_portable(tmp_path):
    (tmp_path / "exp.fg").write_text(textwrap.dedent("""\
        model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
            definition: !partial:torch.nn:Sequential
                - !call:named_list [ 1 ]
        """))
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line) == ("FG0723", 3) and "use `!list` instead of `named_list`" in d.message


@pytest.mark.parametrize("old", ["DynamicCausalLM", "dynamicCausalLM", "Dynamic_Causal_LM"])
def test_the_old_class_like_name_points_to_dynamic_causal_lm(tmp_path, old):
    """The function was named `DynamicCausalLM`; a config that still says so is told the new name
    (case and underscores aside, a name beats a closer spelling such as `DynamicCausalLMConfig`)."""
    (tmp_path / "exp.fg").write_text(MODEL.replace(":dynamic_causal_lm", f":{old}"))
    [d] = [d for d in fgc.check(tmp_path / "exp.fg") if d.code == "FG0603"]
    assert (d.span.line, d.span.col) == (1, 8)
    assert d.hint == "did you mean `dynamic_causal_lm`?"
