"""The architecture matrix: every positional encoder x two attention variants x two feed-forward
variants x pre/post-LN (40 models), each compiled by fgc from a chain of configs that override
one block each (configs/matrix); each trains 5 steps, exports and reloads with transformers'
AutoModelForCausalLM."""

import fgc
import pytest
import torch
from transformers import AutoModelForCausalLM

from forgather.ml.models.export import save_model
from test_model_templates import MATRIX, compile_matrix


@pytest.mark.parametrize("combo", MATRIX, ids=["-".join(c) for c in MATRIX])
def test_architecture_trains_exports_and_reloads(combo, tmp_path):
    torch.manual_seed(0)
    model = fgc.load(compile_matrix(combo, tmp_path / "build")).construct("model")
    data = torch.randint(0, model.config.vocab_size, (4, 24))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(5):
        loss = model(data, labels=data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses

    out = save_model(model, tmp_path / f"exported-{'-'.join(combo)}")
    reloaded = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True).eval()
    assert (
        type(reloaded.model.positional_encoder).__name__
        == type(model.model.positional_encoder).__name__
    )
    model.eval()
    ids = data[:2, :10]
    with torch.no_grad():
        assert torch.equal(reloaded(ids).logits, model(ids).logits)
