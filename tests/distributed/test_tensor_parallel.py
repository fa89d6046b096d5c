"""The Trainer with parallel=TensorParallel() on 2 CPU processes (gloo) against one process with
the same batch and data order: losses, gradient norms, eval loss and weights within 1e-5 after
10 steps (gradient accumulation 2, clipping); each process holds half of every split
matrix (attention by heads); the checkpoint holds each process's shards through
torch.distributed.checkpoint and resumes in one process; the export is gathered whole and loads
as an ordinary model. SGD with momentum: its step is proportional to the gradient, so a wrong
gradient scale shows (AdamW's would hide it). One torchrun job, shared by every test through a module fixture. In this
process: the project's AdamW steps a model of split (DTensor) and whole parameters as the plain
model, and the refusals (a model whose blocks have no plan, heads not divisible). The same job
trains a tiny Hugging Face Llama split by its config's own plan, against one process."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from launcher import free_port, torchrun  # noqa: E402
from tp_lib import CONFIG, LLAMA_STEPS, build_llama, build_model, losses, train  # noqa: E402

from forgather.ml.models.attention import CausalSelfAttention  # noqa: E402
from forgather.ml.trainer import TensorParallel  # noqa: E402

WORKER = str(Path(__file__).parent / "tp_worker.py")
NPROC, BATCH, GA, STEPS = 2, 4, 2, 10
ATOL = 1e-5  # split matrix products summed in another order, over 10 steps
SPEC = dict(batch=BATCH, ga=GA, steps=STEPS, save_steps=5, optimizer="sgd")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tp")
    build_model(root)  # writes the package
    out = root / "job"
    out.mkdir()
    spec = {"root": str(root), "out": str(out), "output_dir": str(out / "run"), "export": str(out / "export"), **SPEC}
    (out / "spec.json").write_text(json.dumps(spec))
    torchrun(WORKER, out / "spec.json", nproc=NPROC, outputs=[out / "run"])
    torch.set_num_threads(1)
    single = train(root, root / "single", batch=BATCH, ga=GA, steps=STEPS, optimizer="sgd", model=build_model(root))
    llama = train(root, root / "llama", batch=BATCH, ga=GA, steps=LLAMA_STEPS, optimizer="sgd", model=build_llama())
    return {"root": root, "out": out, "single": single, "llama": llama,
            "results": [json.loads((out / f"result_{r}.json").read_text()) for r in range(NPROC)]}


def test_tensor_parallel_matches_one_process(run):
    weights = torch.load(run["out"] / "weights.pt", weights_only=True)
    reference = run["single"].model.state_dict()
    assert set(weights) == set(reference)
    for key, value in reference.items():
        torch.testing.assert_close(weights[key], value, rtol=0, atol=ATOL, msg=key)
    initial = build_model(run["root"]).state_dict()  # training moved them: the check is not vacuous
    assert max((weights[k] - initial[k]).abs().max().item() for k in weights) > 1e-2
    for got in run["results"]:
        assert got["world_size"] == NPROC
        assert got["losses"] == pytest.approx(losses(run["single"]), abs=ATOL)
        want = [r["grad_norm"] for r in run["single"].state.log_history if "grad_norm" in r]
        assert len(want) == STEPS and got["grad_norms"] == pytest.approx(want, abs=ATOL)
        assert got["eval"]["eval_loss"] == pytest.approx(run["single"].evaluate()["eval_loss"], abs=ATOL)


def test_each_process_holds_half_of_each_split_matrix(run):
    shapes = run["results"][0]["local_shapes"]
    assert shapes == run["results"][1]["local_shapes"]
    full = {k: list(v.shape) for k, v in run["single"].model.named_parameters()}
    d, ff = CONFIG["hidden_size"], CONFIG["intermediate_size"]
    split = {"q_proj": [d // 2, d], "k_proj": [d // 2, d], "v_proj": [d // 2, d], "o_proj": [d, d // 2],
             "gate_proj": [ff // 2, d], "up_proj": [ff // 2, d], "down_proj": [d, ff // 2]}
    seen = set()
    for name, shape in shapes.items():
        kind = name.split(".")[-2]
        assert shape == split.get(kind, full[name]), name  # norms, embedding and head stay whole
        seen.add(kind)
    assert set(split) <= seen


def test_a_hugging_face_llama_is_split_by_its_own_plan(run):
    """transformers' ``base_model_tp_plan`` (the same split, by name patterns) on LlamaForCausalLM."""
    weights = torch.load(run["out"] / "llama_weights.pt", weights_only=True)
    for key, value in run["llama"].model.state_dict().items():
        torch.testing.assert_close(weights[key], value, rtol=0, atol=ATOL, msg=key)
    for got in run["results"]:
        assert got["llama_losses"] == pytest.approx(losses(run["llama"]), abs=ATOL)
    shapes = run["results"][0]["llama_local_shapes"]
    assert len(shapes) == 2 * 7  # q, k, v, o, gate, up, down of both layers
    assert shapes["model.layers.0.self_attn.k_proj.weight"] == [4, 16]  # 2 kv heads of 4 dims: one each
    assert shapes["model.layers.1.mlp.down_proj.weight"] == [16, 12]


def test_checkpoint_holds_each_process_shards_and_resumes_in_one_process(run, tmp_path):
    checkpoint = run["out"] / "run" / "checkpoint-5"
    names = {p.name for p in checkpoint.iterdir()}
    assert {".metadata", "__0_0.distcp", "__1_0.distcp"} <= names and "model.safetensors" not in names
    shutil.copytree(checkpoint, tmp_path / "run" / "checkpoint-5")
    trainer = train(run["root"], tmp_path / "run", batch=BATCH, ga=GA, steps=STEPS, optimizer="sgd",
                    resume=True, model=build_model(run["root"]))
    assert trainer.state.global_step == STEPS
    weights = torch.load(run["out"] / "weights.pt", weights_only=True)
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(value, weights[key], rtol=0, atol=ATOL, msg=key)


def test_export_is_gathered_whole_and_loads_as_an_ordinary_model(run):
    export = run["out"] / "export"
    model = type(run["single"].model).from_pretrained(export)
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    ids = torch.tensor([[1, 5, 9, 2, 30, 7]])
    with torch.no_grad():
        got, want = model(ids).logits, run["single"].model(ids).logits
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4)


# ------------------------------------------------------------------------------ refusals, in-process

@pytest.fixture
def one_process_group(monkeypatch, tmp_path):
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"),
                        ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(free_port()))):
        monkeypatch.setenv(name, value)
    torch.set_num_threads(1)
    yield tmp_path
    if dist.is_initialized():
        dist.destroy_process_group()


def test_adamw_steps_split_and_whole_parameters_as_plain_ones(one_process_group):
    """One process: the split matrices are still DTensors (a 1-process mesh), beside plain
    tensors; one ``torch._foreach_*`` call cannot take both."""
    root = one_process_group
    plain = train(root, root / "plain", batch=4, steps=3, optimizer="adamw", model=build_model(root))
    split = train(root, root / "split", batch=4, steps=3, optimizer="adamw", model=build_model(root),
                  parallel=TensorParallel())
    kinds = {hasattr(p, "device_mesh") for p in split.model.parameters()}
    assert kinds == {True, False}
    for (name, a), b in zip(split.model.named_parameters(), plain.model.parameters()):
        a = a.full_tensor() if hasattr(a, "full_tensor") else a
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)


def test_a_model_whose_blocks_have_no_plan_is_refused_by_name(one_process_group):
    from transformers import GPT2Config, GPT2LMHeadModel

    root = one_process_group
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=37, n_embd=16, n_layer=1, n_head=2, n_positions=32))
    with pytest.raises(ValueError, match=r"TensorParallel: no module of GPT2LMHeadModel \(its blocks are "
                                         r"GPT2Block\) declares a tensor-parallel plan .*, nor a Hugging Face "
                                         r"`base_model_tp_plan`; use FullyShard or Pipeline for it"):
        train(root, root / "out", batch=4, steps=1, model=gpt2, parallel=TensorParallel())


@pytest.mark.parametrize("heads, kv_heads, message", [
    (6, 6, "num_heads=6 \\(layer 0\\) is not a multiple of 4"),
    (8, 2, "num_kv_heads=2 \\(layer 0\\) is not a multiple of 4"),
])
def test_heads_not_divisible_by_the_degree_are_refused(heads, kv_heads, message):
    attention = CausalSelfAttention(48, heads, num_kv_heads=kv_heads)
    with pytest.raises(ValueError, match="tensor parallel over 4 processes splits attention by heads: " + message):
        attention.tp_plan(4)


def test_plan_of_a_model_without_blocks_names_the_class(one_process_group):
    from forgather.ml.trainer.distributed import device_mesh, init_process_group
    from forgather.ml.trainer.tensor_parallel import apply_tensor_parallel

    init_process_group(use_cpu=True)
    mesh = device_mesh((1,), ("tp",), torch.device("cpu"))
    with pytest.raises(ValueError, match="no module of Sequential declares a tensor-parallel plan"):
        apply_tensor_parallel(nn.Sequential(nn.Linear(4, 4)), mesh)
