"""Tests that need the packages the front end does without (torch, transformers, accelerate):
`@needs_torch("why")` skips such a test, saying why and what is missing, where they cannot be
imported (a machine without them, or `FGC_TEST_WITHOUT=torch,...`: tests/conftest.py). The
front end's own checks run without them (tests/architecture/test_frontend_without_torch.py)."""

from __future__ import annotations

import importlib.util

import pytest

TORCH_STACK = ("torch", "transformers", "accelerate")


def missing(names: tuple[str, ...] = TORCH_STACK) -> list[str]:
    """The packages of `names` that cannot be imported here (found without importing them)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def needs_torch(why: str) -> pytest.MarkDecorator:
    gone = missing()
    return pytest.mark.skipif(bool(gone), reason=f"{why}: needs {', '.join(gone)}")
