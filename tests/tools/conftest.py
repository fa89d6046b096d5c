"""Tool tests (fgc diff, fgc explain, --override): tests/casefile.py importable; a private
signature cache per test session."""

import os
import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent.parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))


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
