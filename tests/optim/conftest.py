"""Fixtures of the optimizer tests (helpers live in optim_testlib.py)."""

import pytest
from optim_testlib import DEVICES


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param
