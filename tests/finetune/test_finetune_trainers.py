"""A fine-tune of a local pretrained model with compute_metrics gives the same metrics under the
project's Trainer and transformers.Trainer (issue 20, done-when): the same losses, the same
assistant-token accuracy, the same predictions."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import transformers

import forgather.ml.trainer
from finetune_testlib import conversations, write_jsonl
from forgather.ml.data import DataCollatorForCausalLM
from forgather.ml.data.chat import tokenize_chat_dataset
from forgather.ml.finetune import load_pretrained, load_pretrained_tokenizer, prepare_tokenizer, resize_embeddings


def assistant_accuracy(prediction) -> dict:
    """Next-token accuracy on the tokens the loss trains (the assistant's)."""
    preds, labels = prediction.predictions[:, :-1], prediction.label_ids[:, 1:]
    mask = labels != -100
    return {"accuracy": float((preds[mask] == labels[mask]).mean()), "assistant_tokens": int(mask.sum())}


def test_the_same_fine_tune_under_both_trainers(llama_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    tokenizer = prepare_tokenizer(load_pretrained_tokenizer(llama_dir), chat_template="chatml")
    model = resize_embeddings(load_pretrained(llama_dir), tokenizer)
    path = write_jsonl(tmp_path / "chat.jsonl", conversations(12))
    data = tokenize_chat_dataset(datasets.load_dataset("json", data_files=str(path), split="train"), tokenizer)
    runs = {}
    for name, cls in (("ours", forgather.ml.trainer.Trainer), ("hf", transformers.Trainer)):
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path / name), per_device_train_batch_size=4, per_device_eval_batch_size=4,
            learning_rate=3e-3, max_steps=3, logging_steps=1, eval_strategy="steps", eval_steps=3,
            train_sampling_strategy="sequential", save_strategy="no", report_to="none", disable_tqdm=True,
            use_cpu=True)
        trainer = cls(model=copy.deepcopy(model), args=args, data_collator=DataCollatorForCausalLM(tokenizer),
                      train_dataset=data, eval_dataset=data, processing_class=tokenizer,
                      compute_metrics=assistant_accuracy,
                      preprocess_logits_for_metrics=lambda logits, labels: logits.argmax(-1))
        trainer.train()
        runs[name] = trainer
    ours, hf = runs["ours"], runs["hf"]
    train_losses = [r["loss"] for r in ours.state.log_history if "loss" in r]
    assert train_losses == pytest.approx([r["loss"] for r in hf.state.log_history if "loss" in r], rel=1e-4)
    evaluated = [r for r in ours.state.log_history if "eval_accuracy" in r]
    hf_evaluated = [r for r in hf.state.log_history if "eval_accuracy" in r]
    assert [r["eval_accuracy"] for r in evaluated] == pytest.approx([r["eval_accuracy"] for r in hf_evaluated])
    assert [r["eval_assistant_tokens"] for r in evaluated] == [r["eval_assistant_tokens"] for r in hf_evaluated]
    a, b = ours.predict(data), hf.predict(data)
    np.testing.assert_array_equal(a.label_ids, b.label_ids)
    np.testing.assert_array_equal(np.where(a.label_ids != -100, a.predictions, 0),
                                  np.where(b.label_ids != -100, b.predictions, 0))
    assert a.metrics["test_accuracy"] == pytest.approx(b.metrics["test_accuracy"])
