"""FullyShard in one process (a one-rank gloo group, real torch.distributed): the optimizers of
forgather.ml.optim on sharded (DTensor) parameters step as on plain ones, the projecting ones
refuse with a message, and the plan's settings that cannot work here are refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
from fsdp_lib import build_model, train, write_package  # noqa: E402
from launcher import free_port  # noqa: E402

from forgather.ml.trainer import FullyShard  # noqa: E402


@pytest.fixture
def one_process_group(monkeypatch, tmp_path):
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"),
                        ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(free_port()))):
        monkeypatch.setenv(name, value)
    write_package(tmp_path)
    torch.set_num_threads(1)
    yield tmp_path
    if dist.is_initialized():
        dist.destroy_process_group()


@pytest.mark.parametrize("optimizer", ["adamw", "adafactor", "sgd"])
def test_optimizers_step_sharded_parameters_as_plain_ones(one_process_group, optimizer):
    root = one_process_group
    plain = train(root, root / "plain", batch=4, steps=3, optimizer=optimizer)
    sharded = train(root, root / "sharded", batch=4, steps=3, optimizer=optimizer, parallel=FullyShard())
    assert all(hasattr(p, "device_mesh") for p in sharded.model.parameters())
    for (name, a), b in zip(sharded.model.named_parameters(), plain.model.parameters()):
        torch.testing.assert_close(a.full_tensor(), b, rtol=0, atol=1e-6, msg=name)


@pytest.mark.parametrize("optimizer, name", [("galore", "GaLoreAdamW"), ("apollo", "APOLLO")])
def test_projecting_optimizers_refuse_sharded_matrices(one_process_group, optimizer, name):
    root = one_process_group
    with pytest.raises(ValueError, match=f"{name}: model\\.\\S+ \\(and \\d+ more\\) would be projected, but it "
                                         "is sharded"):
        train(root, root / "out", batch=4, steps=1, optimizer=optimizer, parallel=FullyShard())


@pytest.mark.parametrize("plan, message", [
    (FullyShard(cpu_offload=True), "offloads from an accelerator to the CPU; the processes run on cpu"),
    (FullyShard(param_dtype="bf16"), "param_dtype='bf16' is not one of 'bfloat16', 'float16', 'float32'"),
    (FullyShard(shard_modules=["NoSuchBlock"]), "the model has no module of those classes"),
])
def test_plan_settings_that_cannot_work_are_refused(one_process_group, plan, message):
    root = one_process_group
    with pytest.raises(ValueError, match=message):
        train(root, root / "out", batch=4, steps=1, parallel=plan)


def test_mixed_precision_policy_computes_in_bfloat16(one_process_group):
    root = one_process_group
    seen = []
    model = build_model(root)
    model.model.output_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    trainer = train(root, root / "out", batch=4, steps=2, model=model,
                    parallel=FullyShard(param_dtype="bfloat16", reduce_dtype="float32"))
    assert seen and set(seen) == {torch.bfloat16}
    assert {p.dtype for p in trainer.model.parameters()} == {torch.float32}  # sharded masters stay fp32


def test_model_built_on_meta_is_materialised_by_each_engine(one_process_group):
    """A model built on the meta device with its weights in a saved model: the single-device
    Trainer reads it whole, FullyShard its shards (the tied embedding stays one tensor); both
    then train the numbers of the model built in memory."""
    from pipeline_testlib import meta_model

    root = one_process_group
    build_model(root, tie=True).save_pretrained(root / "init")
    want = train(root, root / "plain", batch=4, steps=2, model=build_model(root, tie=True)).model.state_dict()
    for name, plan in (("single", None), ("sharded", FullyShard())):
        trainer = train(root, root / name, batch=4, steps=2, parallel=plan,
                        model=meta_model(root, str(root / "init"), tie=True))
        core = trainer.model.model
        assert core.output_head.weight is core.input_encoder.embedding.weight, name
        for key, value in trainer.model.state_dict().items():
            got = value.full_tensor() if hasattr(value, "full_tensor") else value
            torch.testing.assert_close(got, want[key], rtol=0, atol=1e-6, msg=f"{name}: {key}")


@pytest.mark.parametrize("tie", [False, True])
def test_shard_units_are_the_blocks_and_the_untied_ends(tmp_path, tie):
    """Each block is a unit; so are the token embedding and the output head when they are two
    weights (the root would hold them gathered through the whole step); tied, their one weight
    stays with the root. No parameter is in two units."""
    from forgather.ml.trainer.fsdp import shard_units

    model = build_model(tmp_path, tie=tie)
    units = shard_units(model)
    core = model.model
    blocks = list(core.layer_stack.layers)
    assert units[:len(blocks)] == blocks
    ends = [core.input_encoder.embedding, core.output_head]
    assert units[len(blocks):] == ([] if tie else ends)
    owned = [id(p) for u in units for p in u.parameters()]
    assert len(owned) == len(set(owned))


def test_shard_units_follow_no_split_modules_and_shard_modules():
    from transformers import LlamaConfig, LlamaForCausalLM

    from forgather.ml.trainer.fsdp import shard_units

    config = LlamaConfig(vocab_size=48, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1)
    model = LlamaForCausalLM(config)
    assert shard_units(model) == [*model.model.layers, model.model.embed_tokens, model.lm_head]
    assert shard_units(model, ["LlamaMLP"]) == [*(layer.mlp for layer in model.model.layers),
                                                model.model.embed_tokens, model.lm_head]
