"""Fixtures shared by the unit tests (the root conftest.py sets the switches)."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test's tiny tensors on one thread: faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
