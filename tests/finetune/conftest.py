import pytest

from finetune_testlib import make_pretrained


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory):
    return make_pretrained(tmp_path_factory.mktemp("pretrained") / "llama", "llama")


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory):
    return make_pretrained(tmp_path_factory.mktemp("pretrained") / "gpt2", "gpt2")
