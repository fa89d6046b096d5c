"""forgather.ml.run_inputs: the data readers note each local file they read, with the sha256 of
the bytes at the time of reading, for the run record."""

from __future__ import annotations

import hashlib

import pytest

from forgather.ml import run_inputs
from forgather.ml.data import read_documents, read_jsonl, read_text_file, save_tokenizer, stdlib_corpus
from forgather.ml.data import load_tokenizer, train_bpe_tokenizer


@pytest.fixture(autouse=True)
def fresh_record():
    run_inputs.forget()
    yield
    run_inputs.forget()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "files, read",
    [
        ({"a.txt": "alpha"}, lambda d: read_text_file(d / "a.txt")),
        ({"b.jsonl": '{"text": "x"}\n'}, lambda d: read_jsonl(d / "b.jsonl")),
        ({"c/1.txt": "one", "c/2.txt": "two", "c/skip.md": "no"}, lambda d: read_documents(d / "c")),
        (
            {"d.txt": "d", "e.jsonl": '{"text": "e"}\n'},
            lambda d: read_documents([d / "d.txt", d / "e.jsonl"]),
        ),
    ],
)
def test_readers_note_what_they_read(tmp_path, files, read):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    read(tmp_path)
    expected = {
        str(tmp_path / name): {"bytes": len(text.encode()), "sha256": _digest(text.encode())}
        for name, text in files.items()
        if not name.endswith(".md")
    }
    assert run_inputs.read_files() == expected


def test_the_digest_is_of_the_bytes_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("first")
    read_text_file(path)
    path.write_text("changed later")
    read_text_file(path)  # noted once, as it was first read
    assert run_inputs.read_files()[str(path)]["sha256"] == _digest(b"first")


def test_a_missing_file_is_not_noted(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_text_file(tmp_path / "missing.txt")
    assert run_inputs.read_files() == {}


def test_the_stdlib_corpus_and_a_saved_tokenizer_are_noted(tmp_path):
    corpus = stdlib_corpus(max_files=3)
    assert len(run_inputs.read_files()) == 3
    save_tokenizer(train_bpe_tokenizer(corpus.train, vocab_size=300), tmp_path / "tok")
    run_inputs.forget()
    load_tokenizer(tmp_path / "tok")
    noted = run_inputs.read_files()
    assert str(tmp_path / "tok" / "tokenizer.json") in noted
    assert all(entry["sha256"] == _digest(open(p, "rb").read()) for p, entry in noted.items())
