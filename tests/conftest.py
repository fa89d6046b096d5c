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

# `FGC_TEST_WITHOUT=torch,transformers python -m pytest tests/templates`: those packages cannot
# be imported in this process, as on a machine without them (the front end's tests pass so:
# tests/architecture/test_frontend_without_torch.py).
for _name in filter(None, os.environ.get("FGC_TEST_WITHOUT", "").split(",")):
    sys.modules[_name.strip()] = None  # type: ignore[assignment]  # `import torch` raises ImportError


@pytest.fixture(autouse=True, scope="session")
def _private_fgc_cache(tmp_path_factory):
    old = os.environ.get("FGC_CACHE_DIR")
    os.environ["FGC_CACHE_DIR"] = str(tmp_path_factory.mktemp("fgc-cache"))
    yield
    if old is None:
        os.environ.pop("FGC_CACHE_DIR", None)
    else:
        os.environ["FGC_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _environment_restored():
    """Each test ends with the environment it started with: an in-process `fgc run` sets the run
    contract's variables (FGC_RUN_DIR...), which would otherwise reach a later test's trainer
    (its tracker logged another test's run directory)."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


# Test tiers (tests/tiers.py): `python -m pytest -m "not slow" tests` skips the tests that start
# a process or train; in such a run a test that starts a Python process anyway fails.
from tiers import SpawnGuard, deselects_slow, mark_slow_items  # noqa: E402


def pytest_collection_modifyitems(config, items):
    mark_slow_items(items)


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request):
    if not deselects_slow(request.config):
        yield
        return
    with SpawnGuard() as guard:
        yield
    if guard.started:
        pytest.fail(
            f"{request.node.nodeid} starts a process ({guard.started[0]}) but is not classified slow: "
            "mark it @pytest.mark.slow (see tests/tiers.py)",
            pytrace=False,
        )
