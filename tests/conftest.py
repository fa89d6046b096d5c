"""For every test: tests/ importable (casefile.py, the area harnesses), and a private fgc cache
directory (signatures and check results) per session, so that tests never read or write the
user's ~/.cache/fgc and never see each other's results from an earlier session."""

import os
import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))


@pytest.fixture(autouse=True, scope="session")
def _private_fgc_cache(tmp_path_factory):
    old = os.environ.get("FGC_CACHE_DIR")
    os.environ["FGC_CACHE_DIR"] = str(tmp_path_factory.mktemp("fgc-cache"))
    yield
    if old is None:
        os.environ.pop("FGC_CACHE_DIR", None)
    else:
        os.environ["FGC_CACHE_DIR"] = old
