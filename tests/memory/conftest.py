"""Fixtures of the memory tests (helpers live in memory_testlib.py)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Tiny tensors: a second intra-op thread only adds synchronisation on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
