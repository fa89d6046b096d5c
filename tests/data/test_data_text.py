"""Local text sources: files, folders, JSON-lines, HF datasets; errors name file and line."""

import pytest

from forgather.ml.data import DataError, as_documents, list_files, read_documents, read_jsonl


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("alpha")
    (tmp_path / "b" / "c.txt").write_text("gamma\nline 2")
    (tmp_path / "b" / "z.md").write_text("markdown")
    (tmp_path / "d.jsonl").write_text('{"text": "one"}\n\n{"text": "two", "id": 2}\n')
    return tmp_path


def test_folders_files_and_jsonl(tree):
    assert read_documents(tree) == ["alpha", "gamma\nline 2"]  # *.txt, sorted, recursive
    assert read_documents(tree, recursive=False) == ["alpha"]
    assert read_documents(tree, pattern="*") == ["alpha", "gamma\nline 2", "markdown", "one", "two"]
    assert read_documents([tree / "d.jsonl", tree / "a.txt"]) == ["one", "two", "alpha"]
    assert [p.name for p in list_files(tree, "*.txt")] == ["a.txt", "c.txt"]


BAD_JSONL = [  # (file content, expected message after "<path>:")
    ('{"text": "ok"}\n{"text": "x",}\n', r"2:\d+: invalid JSON"),
    ('{"text": "ok"}\n\n[1, 2]\n', "3: expected a JSON object with a 'text' field, got list"),
    ('{"body": "x", "id": 1}\n', "1: no field 'text' \\(fields: body, id\\)"),
    ('{"text": 5}\n', "1: field 'text' is a int, expected a string"),
]


@pytest.mark.parametrize("content,message", BAD_JSONL)
def test_bad_jsonl_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=f"bad.jsonl:{message}"):
        read_jsonl(path)


def test_other_errors(tmp_path):
    with pytest.raises(DataError, match="nope: no such file or directory"):
        read_documents(tmp_path / "nope")
    with pytest.raises(DataError, match="no files match '\\*.txt'"):
        read_documents(tmp_path)
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataError, match="latin.txt: byte 3: cannot decode as utf-8"):
        read_documents(tmp_path)
    assert read_documents(tmp_path, encoding="latin-1") == ["caf\xe9"]


def test_as_documents_accepts_many_sources(tree):
    datasets = pytest.importorskip("datasets")  # optional dependency (installed in the dev env)
    table = datasets.Dataset.from_dict({"text": ["x", "y"], "n": [1, 2]})
    assert as_documents(table) == ["x", "y"]
    assert as_documents(table.to_iterable_dataset()) == ["x", "y"]
    assert as_documents(["p", {"text": "q"}]) == ["p", "q"]
    assert as_documents(str(tree / "a.txt")) == ["alpha"]
    assert as_documents(datasets.Dataset.from_dict({"body": ["z"]}), field="body") == ["z"]
    with pytest.raises(DataError, match="dataset has no column 'text' \\(columns: n\\)"):
        as_documents(datasets.Dataset.from_dict({"n": [1]}))
    with pytest.raises(DataError, match="record 1: expected a string, a path or a mapping"):
        as_documents(["ok", 3])
