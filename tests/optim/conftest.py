"""Fixtures of the optimizer tests (helpers live in optim_testlib.py)."""

import pytest
import torch
from optim_testlib import DEVICES


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """These tensors are tiny: a second intra-op thread only adds synchronisation, and on a busy
    machine its spin-waits make a tiny-LM step 30x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
