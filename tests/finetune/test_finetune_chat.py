"""Chat and instruction data (issue 20, part 4): the tokenizer's own chat template, loss on the
assistant's tokens only (checked against transformers' `return_assistant_tokens_mask` on the same
template with `{% generation %}` markers), the example shapes, and packing that changes no
example's loss."""

from __future__ import annotations

import logging

import pytest
import torch

from finetune_testlib import conversations, write_jsonl
from forgather.ml.data import DataCollatorForCausalLM, PackedExamples
from forgather.ml.data.chat import ChatDataError, assistant_spans, to_messages, tokenize_chat, tokenize_chat_dataset
from forgather.ml.finetune import load_pretrained, load_pretrained_tokenizer, prepare_tokenizer, resize_embeddings
from forgather.ml.loss import IGNORE_INDEX, causal_lm_loss

# ChatML with the assistant's text marked for transformers' return_assistant_tokens_mask.
CHATML_MARKED = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer(llama_dir):
    return prepare_tokenizer(load_pretrained_tokenizer(llama_dir), chat_template="chatml")


@pytest.mark.parametrize("index", range(12))
def test_assistant_tokens_match_transformers_generation_mask(tokenizer, index):
    messages = conversations()[index]["messages"]
    ours = tokenize_chat(messages, tokenizer)
    reference = tokenizer.apply_chat_template(messages, chat_template=CHATML_MARKED, tokenize=True,
                                              return_dict=True, return_assistant_tokens_mask=True)
    assert ours["input_ids"] == list(reference["input_ids"])
    expected = [t if m else IGNORE_INDEX for t, m in zip(reference["input_ids"], reference["assistant_masks"])]
    assert ours["labels"] == expected
    assert any(m for m in reference["assistant_masks"])


def test_the_labels_are_the_assistant_turns_and_their_end_markers(tokenizer):
    messages = conversations()[2]["messages"]  # two rounds
    labels = tokenize_chat(messages, tokenizer)["labels"]
    trained = tokenizer.decode([t for t in labels if t != IGNORE_INDEX])
    answers = [m["content"] + "<|im_end|>" for m in messages if m["role"] == "assistant"]
    assert trained == "".join(answers)


def test_a_template_with_generation_markers_is_used_as_it_is(tokenizer):
    messages = conversations()[1]["messages"]
    marked = prepare_tokenizer(load_pretrained_tokenizer(tokenizer.name_or_path), chat_template="chatml")
    marked.chat_template = CHATML_MARKED
    assert tokenize_chat(messages, marked) == tokenize_chat(messages, tokenizer)


def test_a_template_that_rewrites_earlier_turns_is_refused(tokenizer):
    rewriting = prepare_tokenizer(load_pretrained_tokenizer(tokenizer.name_or_path), chat_template="chatml")
    # shows only the latest user turn in full, as templates that drop earlier reasoning do
    rewriting.chat_template = (
        "{% for m in messages %}{% if loop.last or m['role'] != 'user' %}{{ m['role'] + ': ' + m['content'] + '\\n' }}"
        "{% else %}{{ m['role'] + ': ...\\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    with pytest.raises(ChatDataError, match="prefix of the whole"):
        tokenize_chat(conversations()[2]["messages"], rewriting)


def test_a_tokenizer_without_a_chat_template_is_an_error(llama_dir):
    with pytest.raises(ChatDataError, match="no chat template"):
        tokenize_chat(conversations()[0]["messages"], load_pretrained_tokenizer(llama_dir))


SHAPES = [
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, None,
     [("user", "q"), ("assistant", "a")]),
    ({"prompt": "q", "completion": "a"}, None, [("user", "q"), ("assistant", "a")]),
    ({"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}], "completion": "a"}, None,
     [("system", "s"), ("user", "q"), ("assistant", "a")]),
    ({"instruction": "do", "input": "this", "output": "done"}, None, [("user", "do\n\nthis"), ("assistant", "done")]),
    ({"instruction": "do", "input": "", "output": "done"}, "be brief",
     [("system", "be brief"), ("user", "do"), ("assistant", "done")]),
]


@pytest.mark.parametrize("example, system, expected", SHAPES)
def test_example_shapes(example, system, expected):
    assert [(m["role"], m["content"]) for m in to_messages(example, system=system)] == expected


@pytest.mark.parametrize("example, message", [
    ({"text": "x"}, "expected `messages`"),
    ({"messages": [{"content": "x"}]}, "message 0 is not a {role, content}"),
])
def test_bad_examples_are_named(example, message):
    with pytest.raises(ChatDataError, match=message):
        to_messages(example)


def test_a_json_lines_dataset_through_datasets(tokenizer, tmp_path, caplog):
    datasets = pytest.importorskip("datasets")
    path = write_jsonl(tmp_path / "train.jsonl", [{**c, "id": i} for i, c in enumerate(conversations())])
    raw = datasets.load_dataset("json", data_files=str(path), split="train")
    encoded = tokenize_chat_dataset(raw, tokenizer)
    assert encoded.column_names == ["input_ids", "labels"] and len(encoded) == 12
    assert encoded[3] == tokenize_chat(conversations()[3]["messages"], tokenizer)
    # a max_length that cuts every assistant answer of the system-prompted chats drops them, loudly
    short = min(len(tokenize_chat(c["messages"], tokenizer)["input_ids"]) for c in conversations()) - 1
    system_prefix = len(tokenize_chat([{"role": "system", "content": "You answer briefly."},
                                       {"role": "user", "content": "What is 0 plus 0?"}], tokenizer)["input_ids"])
    with caplog.at_level(logging.WARNING):
        kept = tokenize_chat_dataset(raw, tokenizer, max_length=min(short, system_prefix))
    assert 0 < len(kept) < 12 and "no assistant token" in caplog.text


def test_packing_changes_no_examples_loss(llama_dir, tokenizer):
    """Packed whole, with position ids that restart per example: each example's summed token
    loss equals its loss alone (transformers' Llama, through position ids)."""
    model = resize_embeddings(load_pretrained(llama_dir), tokenizer).eval()
    examples = [tokenize_chat(c["messages"], tokenizer) for c in conversations(6)]
    block = 2 * max(len(e["input_ids"]) for e in examples)  # the model knows 256 positions
    packed = PackedExamples(examples, block_size=block)
    assert len(packed) < len(examples) and all(len(b["input_ids"]) <= block <= 256 for b in packed)
    collate = DataCollatorForCausalLM(tokenizer)
    alone = sum(_summed_loss(model, collate([e])) for e in examples)
    together = sum(_summed_loss(model, collate([b])) for b in packed)
    assert together == pytest.approx(alone, rel=1e-5)
    # and nothing is lost: every example's trained tokens are in some block
    assert sum(int((b["labels"] != IGNORE_INDEX).sum()) for b in packed) == sum(
        sum(t != IGNORE_INDEX for t in e["labels"]) for e in examples)


def _summed_loss(model, batch) -> float:
    with torch.no_grad():
        logits = model(batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    return float(causal_lm_loss(logits, batch["labels"], num_items_in_batch=1))


def test_packing_never_splits_an_example_and_cuts_the_too_long(caplog):
    examples = [{"input_ids": list(range(n)), "labels": list(range(n))} for n in (3, 4, 5, 12)]
    with caplog.at_level(logging.WARNING):
        packed = PackedExamples(examples, block_size=8)
    assert [b["input_ids"].tolist() for b in packed] == [[0, 1, 2, 0, 1, 2, 3], [0, 1, 2, 3, 4], list(range(8))]
    assert [b["document_starts"].tolist() for b in packed] == [[0, 3], [0], [0]]
    assert "1 examples are longer than block_size=8" in caplog.text


def test_assistant_spans_cover_exactly_the_answers(tokenizer):
    messages = conversations()[1]["messages"]
    text, spans = assistant_spans(tokenizer, messages)
    assert [text[s:e] for s, e in spans] == [messages[-1]["content"] + "<|im_end|>"]


def test_load_dataset_records_its_sources(tmp_path, monkeypatch):
    """forgather.ml.data:load_dataset is datasets.load_dataset (same rows, same fingerprint) that
    notes each local file (a glob, a dict of splits) and the dataset for the run record."""
    import hashlib

    import datasets

    from forgather.ml import run_inputs
    from forgather.ml.data import load_dataset
    from forgather_files import run_inputs as table  # the table run_inputs reads

    monkeypatch.setattr(table, "_files", {})
    monkeypatch.setattr(table, "_datasets", [])
    for name in ("a", "b"):
        write_jsonl(tmp_path / f"{name}.jsonl", conversations()[:3])
    ours = load_dataset("json", data_files={"train": str(tmp_path / "*.jsonl")}, split="train")
    theirs = datasets.load_dataset("json", data_files={"train": str(tmp_path / "*.jsonl")}, split="train")
    assert ours.num_rows == theirs.num_rows == 6 and ours._fingerprint == theirs._fingerprint
    files = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    assert {k: v["sha256"] for k, v in run_inputs.read_files().items()} == {
        f: hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files}
    assert run_inputs.read_datasets() == [{"path": "json", "name": None, "split": "train", "data_files": files,
                                           "fingerprint": ours._fingerprint, "num_rows": 6}]
    load_dataset("json", data_files={"train": str(tmp_path / "*.jsonl")}, split="train")
    assert len(run_inputs.read_datasets()) == 1  # the same dataset twice is one entry
