"""Run tests: the helpers next to them (and the template-library ones) importable; a private
signature cache; transformers' module cache out of ~/.cache and never the Hub."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent / "stdlib"))

os.environ.setdefault("HF_MODULES_CACHE", tempfile.mkdtemp(prefix="fg-hf-modules-"))
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
