"""Type-check tests: a private signature cache for the session (never the user's)."""

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_signature_cache(tmp_path_factory):
    old = os.environ.get("FGC_CACHE_DIR")
    os.environ["FGC_CACHE_DIR"] = str(tmp_path_factory.mktemp("fgc-cache"))
    yield
    if old is None:
        os.environ.pop("FGC_CACHE_DIR", None)
    else:
        os.environ["FGC_CACHE_DIR"] = old
