"""The stdlib corpus: deterministic selection, disjoint splits, only the stdlib's own sources."""

import pytest

from forgather.ml.data import DataError, stdlib_corpus, stdlib_files, stdlib_root


def test_deterministic_and_disjoint(small_corpus):
    again = stdlib_corpus(24, eval_fraction=0.25)
    assert again == small_corpus
    assert (len(again.train_files), len(again.eval_files)) == (18, 6)
    assert not set(again.train_files) & set(again.eval_files)
    assert all(1_000 <= len(text.encode()) <= 60_000 for text in again.train + again.eval)


def test_seed_and_size_select_other_files(small_corpus):
    other = stdlib_corpus(24, eval_fraction=0.25, seed=1)
    assert set(other.train_files + other.eval_files) != set(small_corpus.train_files + small_corpus.eval_files)
    bigger = stdlib_corpus(48, eval_fraction=0.25)
    # A larger selection extends the same hash order: it contains the smaller one.
    assert set(small_corpus.eval_files + small_corpus.train_files) <= set(bigger.eval_files + bigger.train_files)


def test_only_the_standard_library_itself():
    files = stdlib_files()
    root = stdlib_root()
    parts = {part for path in files for part in path.relative_to(root).parts[:-1]}
    assert not parts & {"site-packages", "test", "tests", "__pycache__"}
    assert root / "json" / "decoder.py" in files


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="eval_fraction must be in \\[0, 1\\)"):
        stdlib_corpus(10, eval_fraction=1.0)
    with pytest.raises(DataError, match="no stdlib source files"):
        stdlib_corpus(10, root=tmp_path)
    (tmp_path / "one.py").write_text("x = 1\n" * 300)
    with pytest.raises(DataError, match="only 1 files selected"):
        stdlib_corpus(10, root=tmp_path, eval_fraction=0.5)
