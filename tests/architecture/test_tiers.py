"""The test tiers (tests/tiers.py): which tests are slow, and the guard of a fast run. Each case
is a small test module run by pytest in this process (pytester) with the tiers' hooks."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow  # the suites it runs start Python processes

CONFTEST = """
from pathlib import Path
import pytest
from tiers import SpawnGuard, deselects_slow, mark_slow_items

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: slow")

def pytest_collection_modifyitems(config, items):
    mark_slow_items(items, Path(__file__).resolve().parent)

@pytest.fixture(autouse=True)
def _guard(request):
    if not deselects_slow(request.config):
        yield
        return
    with SpawnGuard() as guard:
        yield
    if guard.started:
        pytest.fail("not classified slow", pytrace=False)
"""

MODULE = '''
import subprocess, sys
import pytest

def helper():
    return subprocess.run([sys.executable, "-c", "pass"]).returncode

class FakeTrainer:
    pass

@pytest.fixture
def trained():
    return FakeTrainer()

def test_plain():
    assert 1 + 1 == 2

def test_calls_a_spawning_helper():
    assert helper() == 0

def test_spawns_itself():
    assert subprocess.run(["true"]).returncode == 0

def test_uses_a_training_fixture(trained):
    assert trained

@pytest.mark.slow
def test_marked():
    pass

def test_hides_its_spawn():
    run = getattr(__import__("sub" + "process"), "run")
    assert run(["python3", "-c", "pass"]).returncode == 0
'''


@pytest.fixture
def suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_mod=MODULE)
    return pytester


def test_the_slow_tests_are_found(suite):
    result = suite.runpytest("-m", "slow", "-q", "-rA")
    result.assert_outcomes(passed=4)
    passed = {line.split("::")[1].split()[0] for line in result.outlines if line.startswith("PASSED")}
    assert passed == {"test_calls_a_spawning_helper", "test_spawns_itself", "test_uses_a_training_fixture", "test_marked"}


def test_a_fast_run_fails_a_hidden_spawn(suite):
    result = suite.runpytest("-m", "not slow", "-q", "-rA")
    result.assert_outcomes(passed=2, errors=1)  # the guard fails the test at its teardown
    assert any(
        line.startswith("ERROR") and "test_hides_its_spawn" in line and "not classified slow" in line
        for line in result.outlines
    )
