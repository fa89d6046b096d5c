"""Knob tests: a private signature cache, and never the Hugging Face Hub."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _private_signature_cache(tmp_path_factory):
    """Never read or write the user's signature cache from tests."""
    old = os.environ.get("FGC_CACHE_DIR")
    os.environ["FGC_CACHE_DIR"] = str(tmp_path_factory.mktemp("fgc-cache"))
    yield
    if old is None:
        os.environ.pop("FGC_CACHE_DIR", None)
    else:
        os.environ["FGC_CACHE_DIR"] = old
