"""dynamic_causal_lm (in-process models) and the Hugging Face surface of ForgatherCausalLM."""

import warnings

import pytest
import torch
from transformers import Trainer, TrainingArguments

from architectures import LLAMA
from forgather.ml.models.dynamic import dynamic_causal_lm
from forgather.ml.models.hf_causal import (
    ForgatherCausalLM,
    ForgatherCausalLMConfig,
    causal_lm_loss,
)
from forgather.ml.models.layer_stack import LayerStack
from helpers import TINY_LLAMA, llama
from modelspec import definition_callable, materialize


def test_hyperparameters_go_to_the_config_and_to_the_definition_by_name():
    seen = {}

    def definition(hidden_size, vocab_size, num_hidden_layers=2):
        seen.update(
            hidden_size=hidden_size,
            vocab_size=vocab_size,
            num_hidden_layers=num_hidden_layers,
        )
        hp = dict(
            TINY_LLAMA,
            hidden_size=hidden_size,
            vocab_size=vocab_size,
            num_hidden_layers=num_hidden_layers,
        )
        return materialize(LLAMA, hp)()

    model = dynamic_causal_lm(definition, hidden_size=24, vocab_size=50, bos_token_id=1)
    assert seen == dict(
        hidden_size=24, vocab_size=50, num_hidden_layers=2
    )  # bos_token_id: config only
    assert model.config.hidden_size == 24 and model.config.bos_token_id == 1
    assert (
        model.config.num_hidden_layers == 2
    )  # filled in from the model for generate()'s cache
    assert model.config.model_type == "forgather-dynamic"
    assert model.model.input_encoder.embedding.weight.shape == (50, 24)


def test_hyperparameters_must_be_json_serialisable():
    with pytest.raises(
        TypeError, match="hyper-parameter 'activation' = .* is not JSON-serialisable"
    ):
        dynamic_causal_lm(
            definition_callable(LLAMA), **TINY_LLAMA, activation=torch.nn.ReLU
        )


def test_a_missing_required_hyperparameter_is_named():
    class Model(ForgatherCausalLM):
        construct_model = staticmethod(lambda *, hidden_size: None)

    with pytest.raises(
        ValueError, match="no value for the hyper-parameter 'hidden_size'"
    ):
        Model(ForgatherCausalLMConfig(vocab_size=3))


def test_save_and_from_pretrained_round_trip(tmp_path):
    model = llama().eval()
    model.save_pretrained(tmp_path)
    again = type(model).from_pretrained(tmp_path).eval()
    ids = torch.randint(0, 101, (2, 9))
    with torch.no_grad():
        assert torch.equal(again(ids).logits, model(ids).logits)


def test_forward_options():
    model = llama().eval()
    ids = torch.randint(0, 101, (2, 9))
    with torch.no_grad():
        full = model(ids).logits
        # logits_to_keep multiplies a different shape through lm_head, so the kernels may
        # block the sum differently: equal to float32 rounding, not bit for bit.
        torch.testing.assert_close(
            model(ids, logits_to_keep=3).logits, full[:, -3:], rtol=1e-5, atol=1e-5
        )
        loss, logits = model(ids, labels=ids, return_dict=False)[:2]
    assert torch.equal(logits, full)
    labels = ids.clone()
    labels[0, :4] = -100
    counted = (labels[:, 1:] != -100).sum()
    mean = causal_lm_loss(full, labels)
    assert torch.allclose(
        causal_lm_loss(full, labels, num_items_in_batch=counted), mean
    )
    assert torch.allclose(
        causal_lm_loss(full, labels, num_items_in_batch=2 * counted), mean / 2
    )
    with pytest.raises(ValueError, match="labels need the logits of every position"):
        model(ids, labels=ids, logits_to_keep=1)
    with pytest.raises(ValueError, match="inputs_embeds is not supported"):
        model(inputs_embeds=torch.zeros(1, 2, 48))
    with pytest.raises(ValueError, match="does not support output_hidden_states=True"):
        model(ids, output_hidden_states=True)
    assert model(ids, output_attentions=False).logits.shape == (2, 9, 101)


def test_embeddings_accessors_and_gradient_checkpointing_switch():
    model = llama()
    assert model.get_input_embeddings() is model.model.input_encoder.embedding
    assert model.get_output_embeddings() is model.model.output_head
    stack = model.model.layer_stack
    assert isinstance(stack, LayerStack) and not stack.gradient_checkpointing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.gradient_checkpointing_enable()
    assert stack.gradient_checkpointing
    model.train()
    ids = torch.randint(0, 101, (2, 9))
    model(ids, labels=ids).loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_trains_under_the_transformers_trainer(tmp_path):
    model = llama()
    data = [
        {"input_ids": torch.randint(0, 101, (16,)), "labels": None} for _ in range(8)
    ]
    for row in data:
        row["labels"] = row["input_ids"].clone()
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=4,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data)
    result = trainer.train()
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    assert result.global_step == 4 and losses[-1] < losses[0]
