import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import trainer_testlib  # noqa: E402


@pytest.fixture(scope="session")
def tok():
    return trainer_testlib.tokenizer()


@pytest.fixture(scope="session")
def train_blocks():
    return trainer_testlib.packed("train")


@pytest.fixture(scope="session")
def eval_blocks():
    return trainer_testlib.packed("eval")
