"""dynamic_causal_lm codegen: build/model/ is the model's code; a model trained from a build
exports to a directory that loads with plain transformers (fgc and forgather unavailable)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest
import torch

import fgc
from fgc.api import CompileError

GPT2 = """\
-- extends 'models/gpt2.fg'
[hyperparameters]
    == super()
    vocab_size: 96
    hidden_size: 32
    num_attention_heads: 2
    num_hidden_layers: 2
    intermediate_size: 64
    max_position_embeddings: 64
"""


def test_modeling_py_is_portable(tmp_path):
    (tmp_path / "exp.fg").write_text(GPT2)
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    modeling = (build.dir / "model" / "modeling.py").read_text()
    tree = ast.parse(modeling)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module.split(".")[0] in ("functools", "torch", "operator"), node.module
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] in ("operator", "torch") for a in node.names)
    files = {p.name for p in (build.dir / "model").iterdir()}
    assert {"__init__.py", "modeling.py", "hf_causal.py", "causal_lm.py"} <= files
    for name in files - {"__init__.py", "modeling.py"}:
        source = (build.dir / "model" / name).read_text()
        assert "import forgather" not in source and "from forgather" not in source
    # The hyper-parameters are config.json fields, not construct() variables.
    assert build.variables == {}
    model = build.load().construct("model")
    assert type(model).__module__.endswith(".modeling")
    assert model.config.hidden_size == 32 and model.config.vocab_size == 96


BLOCKER = textwrap.dedent("""
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("fgc", "forgather"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, Block())
    """)


def test_trained_build_model_exports_and_loads_without_forgather(tmp_path):
    (tmp_path / "exp.fg").write_text(GPT2)
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    model = build.load().construct("model")
    torch.manual_seed(0)
    ids = torch.randint(0, 96, (2, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):
        loss = model(ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        expected = model(ids).logits
    from forgather.ml.models.export import save_model

    out = tmp_path / "exported"
    save_model(model, out)
    torch.save({"ids": ids, "logits": expected}, tmp_path / "expected.pt")
    script = BLOCKER + textwrap.dedent(f"""
        import torch
        from transformers import AutoModelForCausalLM
        try:
            import forgather
        except ImportError:
            pass
        else:
            raise SystemExit("forgather importable")
        data = torch.load({str(tmp_path / 'expected.pt')!r})
        model = AutoModelForCausalLM.from_pretrained({str(out)!r}, trust_remote_code=True)
        model.eval()
        with torch.no_grad():
            logits = model(data["ids"]).logits
        assert torch.equal(logits, data["logits"]), (logits - data["logits"]).abs().max()
        print("ok")
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_model_hyper_parameter_without_value(tmp_path):
    (tmp_path / "exp.fg").write_text("""\
model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
    definition: !partial:forgather.ml.models.causal_lm:CausalLM
        input_encoder_factory: !partial:forgather.ml.models.input_encoder:InputEncoder
            d_model: !var "hidden_size"
            vocab_size: !var "vocab_size"
    vocab_size: 10
""")
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("FG0721", 4, 22)
    assert "`hidden_size` has no value" in d.message


def test_non_portable_block_in_definition(tmp_path):
    (tmp_path / "exp.fg").write_text("""\
model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
    definition: !partial:forgather.ml.models.causal_lm:CausalLM
        init_weights: !partial:forgather.ml.trainer:Trainer
""")
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    assert [(d.code, d.span.line) for d in info.value.diagnostics] == [("FG0723", 3)]


def test_definition_must_be_a_partial(tmp_path):
    (tmp_path / "exp.fg").write_text("""\
model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
    definition: !singleton:dict {}
""")
    with pytest.raises(CompileError) as info:
        fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    assert [d.code for d in info.value.diagnostics] == ["FG0720"]


def test_identity_rules_inside_construct_model(tmp_path):
    """A shared factory inside the definition gives each layer its own module; a shared
    singleton is one module."""
    (tmp_path / "exp.fg").write_text("""\
model: !singleton:forgather.ml.models.dynamic:dynamic_causal_lm
    definition: !partial:.core:Core
        a: &lin !factory:torch.nn:Linear [!var "d", !var "d"]
        b: *lin
        c: &shared !singleton:torch.nn:Linear [!var "d", !var "d"]
        e: *shared
    d: 4
""")
    (tmp_path / "core.py").write_text(textwrap.dedent("""
            from torch import nn

            class Core(nn.Module):
                def __init__(self, a, b, c, e):
                    super().__init__()
                    self.a, self.b, self.c, self.e = a, b, c, e

                def forward(self, input_ids, **kw):
                    raise NotImplementedError
            """))
    build = fgc.compile(tmp_path / "exp.fg", tmp_path / "build")
    modeling = (build.dir / "model" / "modeling.py").read_text()
    assert "from .core import Core" in modeling and "from torch.nn import Linear" in modeling
    sys.path.insert(0, str(build.dir))
    try:
        import importlib

        modeling_mod = importlib.import_module("model.modeling")
        core = modeling_mod.construct_model(d=4)
    finally:
        sys.path.remove(str(build.dir))
        for name in [n for n in sys.modules if n == "model" or n.startswith("model.")]:
            del sys.modules[name]
    assert core.a is not core.b and core.c is core.e
    assert core.a.in_features == 4
