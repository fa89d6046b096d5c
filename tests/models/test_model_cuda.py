"""The same models on a GPU (runs where CUDA is available; CPU-only CI has none)."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from forgather.ml.models.convert import llama_state_dict
from forgather.ml.models.export import save_model
from helpers import TINY_LLAMA, config_model, llama, tiny_llama_config
from test_model_hf_equivalence import hf_llama, load_into

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)


@pytest.fixture(autouse=True)
def no_tf32():
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32 = old


def test_llama_matches_transformers_on_cuda():
    ref = hf_llama(TINY_LLAMA)
    ours = llama().eval()
    load_into(ours, ref.state_dict(), llama_state_dict)
    ref, ours = ref.cuda(), ours.cuda()
    ids = torch.randint(0, TINY_LLAMA["vocab_size"], (3, 40), device="cuda")
    with torch.no_grad():
        # float32 on a GPU: kernels sum in other orders than on the CPU, so 1e-4
        assert (ours(ids).logits - ref(ids).logits).abs().max().item() < 1e-4


def test_generate_with_cache_equals_without_on_cuda():
    model = llama().cuda().eval()
    ids = torch.randint(3, 101, (2, 9), device="cuda")
    mask = torch.ones_like(ids)
    mask[1, :3] = 0
    settings = dict(
        max_new_tokens=12,
        do_sample=False,
        pad_token_id=0,
        eos_token_id=None,
        attention_mask=mask,
    )
    assert torch.equal(
        model.generate(ids, use_cache=True, **settings),
        model.generate(ids, use_cache=False, **settings),
    )


def test_bf16_training_and_export_on_cuda(tmp_path):
    model = config_model(tiny_llama_config(tmp_path), tmp_path / "build").cuda()
    data = torch.randint(0, 101, (8, 64), device="cuda")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(data, labels=data).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    out = save_model(model, tmp_path / "exported")
    reloaded = (
        AutoModelForCausalLM.from_pretrained(out, trust_remote_code=True).cuda().eval()
    )
    model.eval()
    with torch.no_grad():
        assert torch.equal(reloaded(data).logits, model(data).logits)
