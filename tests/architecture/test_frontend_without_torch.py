"""The front end's tests pass on a machine without torch (issue 22 part 5): the template,
config, syntax, whole-hierarchy, tools, projects, mistakes and knob tests import nothing of
torch, transformers or accelerate, and their hierarchies name local or standard-library callables
or are checked without importing a module (the few knob tests that build the runtime's objects or
check its torch callables' signatures skip there, saying so: tests/needs.py).

One pytest process with those packages made unimportable (`FGC_TEST_WITHOUT`, tests/conftest.py)
collects every front-end test directory (a module that imports torch fails here) and runs a
sample that crosses every front-end stage: the syntax tests, the three-level hierarchy's errors
at every stage, and the knob warnings of `fgc check` and `fgc compile`. Running them all without
torch (`FGC_TEST_WITHOUT=torch,transformers,accelerate python -m pytest -m "not slow"
tests/syntax tests/templates tests/config tests/frontend tests/tools tests/projects
tests/mistakes tests/knobs`) passes too, and takes minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FRONT_END = ["syntax", "templates", "config", "frontend", "tools", "projects", "mistakes", "knobs", "test_casefile.py"]
SAMPLE = ["syntax", "frontend/test_hierarchy_errors.py", "knobs/test_knob_cli.py"]
WITHOUT = "torch,transformers,accelerate"


def _pytest(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FGC_TEST_WITHOUT": WITHOUT}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=TESTS.parent,
    )


def test_the_front_end_tests_collect_without_torch():
    done = _pytest("--collect-only", *(str(TESTS / d) for d in FRONT_END))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_a_sample_of_them_passes_without_torch():
    done = _pytest(*(str(TESTS / d) for d in SAMPLE))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
