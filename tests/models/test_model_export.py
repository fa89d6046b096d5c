"""Stand-alone export: a model compiled by fgc (its build/model/ package), trained, saved with
`export.save_model`, and loaded by plain transformers in a process that cannot import forgather
or fgc; and the errors of `package` and `export`."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from forgather.ml.models.export import (
    ExportError,
    is_exportable,
    is_forgather_model,
    save_model,
)
from forgather.ml.models.package import PackageError, write_model_package
from helpers import TINY_LLAMA, config_model, llama, tiny_llama_config

WALSH_PE = '''
"""A user's positional encoder: Walsh functions of the position (a template's own module)."""
import torch
from torch import nn

from .walsh_util import parity


class WalshPE(nn.Module):
    def __init__(self, d_model: int, *, scale: float = 0.1) -> None:
        super().__init__()
        self.d_model, self.scale = d_model, scale

    def forward(self, x, position_ids):
        index = torch.arange(self.d_model, device=x.device)
        signs = 1 - 2 * parity(position_ids[..., None] & index)  # (B, T, D) of +-1
        return x + self.scale * signs.to(x.dtype)
'''
WALSH_UTIL = '''
def parity(v):
    """Parity of the set bits of an integer tensor (16-bit values)."""
    p = v & 1
    for shift in range(1, 16):
        p = p ^ ((v >> shift) & 1)
    return p
'''


def tokenizer_for(tmp_path) -> PreTrainedTokenizerFast:
    text = [
        " ".join(f"word{i % 37} token{i % 11}" for i in range(j, j + 20))
        for j in range(200)
    ]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(
        vocab_size=TINY_LLAMA["vocab_size"], special_tokens=["<unk>", "<s>", "</s>"]
    )
    tok.train_from_iterator(text, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )


WALSH_BLOCK = """[positional_encoder]
        positional_encoder_factory: !partial:.walsh_pe:WalshPE
            d_model: !var "hidden_size"
"""


def train(model, steps: int = 3, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    data = torch.randint(0, model.config.vocab_size, (4, 16))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model(data, labels=data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


LOADER = textwrap.dedent("""
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("forgather", "fgc"):
                raise ModuleNotFoundError(f"blocked: {name}")
    sys.meta_path.insert(0, Block())
    for name in ("forgather", "fgc"):
        try:
            __import__(name)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{name} is importable")

    from pathlib import Path
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model_dir, ids_file, out_file = sys.argv[1:]
    model = AutoModelForCausalLM.from_pretrained(model_dir, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir) if (Path(model_dir) / "tokenizer.json").exists() else None
    ids = torch.load(ids_file)
    with torch.no_grad():
        logits = model(ids).logits
    generated = model.generate(ids[:1, :6], max_new_tokens=5, do_sample=False, pad_token_id=0, eos_token_id=None)
    assert not [m for m in sys.modules if m.split(".")[0] in ("forgather", "fgc")]
    torch.save({"logits": logits, "generated": generated, "class": type(model).__name__,
                "vocab": tokenizer and len(tokenizer), "encoded": tokenizer and tokenizer("word3 token4")["input_ids"]},
               out_file)
    """)


def load_in_clean_process(model_dir, ids, tmp_path) -> dict:
    torch.save(ids, tmp_path / "ids.pt")
    script = tmp_path / "load.py"
    script.write_text(LOADER)
    env = {
        "HF_MODULES_CACHE": str(tmp_path / "hf_modules"),
        "HF_HUB_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            str(script),
            str(model_dir),
            str(tmp_path / "ids.pt"),
            str(tmp_path / "out.pt"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(tmp_path / "out.pt")


def test_exported_model_loads_without_forgather_and_reproduces_logits(tmp_path):
    """A config that swaps in a user module (walsh_pe.py next to it, which imports its own
    helper), compiled by fgc, trained, exported, loaded by plain transformers elsewhere.
    """
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "walsh_pe.py").write_text(WALSH_PE)
    (templates / "walsh_util.py").write_text(WALSH_UTIL)
    config = tiny_llama_config(templates, WALSH_BLOCK, bos_token_id=1, eos_token_id=2)
    model = config_model(config, tmp_path / "build")
    assert type(model.model.positional_encoder).__name__ == "WalshPE"
    assert is_forgather_model(model) and is_exportable(
        model
    )  # its hf_causal is the build's copy
    losses = train(model)
    assert losses[-1] < losses[0]
    tokenizer = tokenizer_for(tmp_path)
    out = save_model(model, tmp_path / "exported", tokenizer)

    files = sorted(p.name for p in out.iterdir())
    for name in (
        "config.json",
        "model.safetensors",
        "modeling.py",
        "hf_causal.py",
        "causal_lm.py",
        "walsh_pe.py",
        "walsh_util.py",
        "tokenizer.json",
    ):
        assert name in files
    assert "rotary_pe.py" not in files  # only what the model imports
    config = json.loads((out / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "modeling.DynamicCausalLMConfig",
        "AutoModelForCausalLM": "modeling.DynamicCausalLMForCausalLM",
    }
    assert config["hidden_size"] == 48 and config["num_key_value_heads"] == 2
    for path in out.glob("*.py"):
        assert "forgather" not in [
            line.split()[1].split(".")[0]
            for line in path.read_text().splitlines()
            if line.startswith(("import ", "from "))
        ]

    ids = torch.randint(
        0, TINY_LLAMA["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(3)
    )
    model.eval()
    with torch.no_grad():
        expected = model(ids).logits
    loaded = load_in_clean_process(out, ids, tmp_path)
    assert loaded["class"] == "DynamicCausalLMForCausalLM"
    assert torch.equal(loaded["logits"], expected)
    generated = model.generate(
        ids[:1, :6],
        max_new_tokens=5,
        do_sample=False,
        pad_token_id=0,
        eos_token_id=None,
    )
    assert torch.equal(loaded["generated"], generated)
    assert (
        loaded["vocab"] == len(tokenizer)
        and loaded["encoded"] == tokenizer("word3 token4")["input_ids"]
    )


def test_tied_model_exports_one_copy_of_the_tied_weight(tmp_path):
    from safetensors import safe_open

    model = config_model(
        tiny_llama_config(tmp_path, tie_word_embeddings=True), tmp_path / "build"
    )
    train(model, steps=2)
    out = save_model(model, tmp_path / "exported")
    with safe_open(out / "model.safetensors", "pt") as f:
        keys = set(f.keys())
    assert (
        "model.input_encoder.embedding.weight" in keys
        and "model.output_head.weight" not in keys
    )
    ids = torch.randint(
        0, TINY_LLAMA["vocab_size"], (1, 8), generator=torch.Generator().manual_seed(1)
    )
    model.eval()
    with torch.no_grad():
        expected = model(ids).logits
    reloaded = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True).eval()
    assert (
        reloaded.model.output_head.weight
        is reloaded.model.input_encoder.embedding.weight
    )
    with torch.no_grad():
        assert torch.equal(reloaded(ids).logits, expected)


def test_export_replaces_an_old_directory_atomically(tmp_path):
    model = config_model(tiny_llama_config(tmp_path), tmp_path / "build")
    out = tmp_path / "exported"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    save_model(model, out)
    assert not (out / "stale.txt").exists() and (out / "config.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".exported")] == []


def test_in_process_dynamic_model_cannot_be_exported(tmp_path):
    model = llama()
    assert is_forgather_model(model) and not is_exportable(model)
    assert not is_forgather_model(torch.nn.Linear(2, 2))
    with pytest.raises(ExportError, match="built in process by dynamic_causal_lm"):
        save_model(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_model_class_outside_a_package_cannot_be_exported(tmp_path):
    from forgather.ml.models.hf_causal import ForgatherCausalLM, ForgatherCausalLMConfig

    class Local(ForgatherCausalLM):
        construct_model = staticmethod(lambda: llama().model)

    with pytest.raises(
        ExportError,
        match="not a class defined at the top of a module inside a model package",
    ):
        save_model(Local(ForgatherCausalLMConfig()), tmp_path / "out")


@pytest.mark.parametrize(
    "source, message",
    [
        (
            "from .no_such_block import X\n",
            "imports .no_such_block, but there is no no_such_block.py",
        ),
        ("from ..causal_lm import CausalLM\n", "leaves the flat model package"),
        ("from .causal_lm import (\n", "syntax error"),
    ],
)
def test_package_errors_name_the_problem(tmp_path, source, message):
    with pytest.raises(PackageError, match=message):
        write_model_package(tmp_path / "model", source)
    assert not (tmp_path / "model").exists()


def test_a_user_module_may_not_shadow_a_block(tmp_path):
    (tmp_path / "norms.py").write_text("X = 1\n")
    source = "from .norms import X\nfrom .attention import CausalSelfAttention\n"
    with pytest.raises(PackageError, match="two different modules named norms.py"):
        write_model_package(tmp_path / "model", source, [tmp_path / "norms.py"])
