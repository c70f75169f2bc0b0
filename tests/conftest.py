"""Fixtures shared by the unit tests (the root conftest.py sets the switches)."""

import pytest
import torch
from hypothesis import settings

# Property tests draw the same examples on every run (as the rest of the suite is seeded), so a CI
# run is reproducible; run `pytest --hypothesis-seed=N` to explore other draws by hand.
settings.register_profile("d2lutil", derandomize=True, database=None)
settings.load_profile("d2lutil")


@pytest.fixture
def one_thread():
    """Run a test's tiny tensors on one thread: faster, and steady on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
