"""CUDA paths: bf16 autocast, fp16 with a grad scaler (saved and restored), CUDA RNG in checkpoints.

These need a GPU; on a CPU-only machine they are skipped (the CPU paths are tested elsewhere).
"""

import pytest
import torch
from trainer_testlib import RandomTokens, StopAt, tiny_llama

from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.trainer import Trainer, TrainingArguments

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def trainer(tmp_path, callbacks=(), **overrides):
    options = dict(output_dir=str(tmp_path), max_steps=8, per_device_train_batch_size=4, learning_rate=3e-3,
                   logging_steps=2, save_steps=4, disable_tqdm=True)
    options.update(overrides)
    return Trainer(tiny_llama(64, seed=1), TrainingArguments(**options),
                   data_collator=DataCollatorForCausalLM(pad_token_id=0), train_dataset=RandomTokens(32),
                   callbacks=list(callbacks))


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cuda(tmp_path, precision):
    seen = []
    t = trainer(tmp_path, max_steps=24, save_steps=8, **{precision: True})  # 3 epochs of 8 batches
    original_forward = t.model.forward

    def spy(*args, **kwargs):
        out = original_forward(*args, **kwargs)
        seen.append(out.logits.dtype)
        return out

    t.model.forward = spy
    t.train()
    assert t.device.type == "cuda" and next(t.model.parameters()).is_cuda
    expected = torch.bfloat16 if precision == "bf16" else torch.float16
    assert set(seen) == {expected}
    assert all(p.dtype == torch.float32 for p in t.model.parameters())
    losses = [r["loss"] for r in t.state.log_history if "loss" in r]
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]  # the later epochs revisit the data
    files = {p.name for p in (tmp_path / "checkpoint-24").iterdir()}
    assert ("scaler.pt" in files) == (precision == "fp16")
    rng = torch.load(tmp_path / "checkpoint-24" / "rng_state.pt", weights_only=True)
    assert len(rng["cuda"]) == torch.cuda.device_count()


def test_fp16_resume_restores_the_scaler(tmp_path):
    full = trainer(tmp_path / "full", fp16=True)
    full.train()
    trainer(tmp_path / "split", fp16=True, callbacks=[StopAt(4)]).train()
    resumed = trainer(tmp_path / "split", fp16=True)
    resumed.train(resume_from_checkpoint=True)
    assert resumed.precision.scaler.get_scale() == full.precision.scaler.get_scale()
    for a, b in zip(resumed.model.parameters(), full.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
