import pytest

from forgather.ml.data import stdlib_corpus, train_bpe_tokenizer


@pytest.fixture(scope="session")
def small_corpus():
    return stdlib_corpus(24, eval_fraction=0.25)


@pytest.fixture(scope="session")
def bpe(small_corpus):
    return train_bpe_tokenizer(small_corpus.train, 320)
