"""Session-wide set-up for the test suite."""

import signal

import pytest


def pytest_configure(config):
    # A shell without job control starts background jobs (`pytest &`, `nohup ... &`) with SIGINT
    # ignored, and a child process inherits "ignored" across exec: the Ctrl-C tests' drivers
    # would then never see their SIGINT. A Python-level handler is not inherited (exec resets it
    # to the default), so this gives every child the SIGINT a terminal would.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models: on a loaded 2-core machine, 2 intra-op threads ran them 10-100x slower
    (docs/benchmarks.md). One thread for the module that asks (``pytestmark``), restored after."""
    import torch  # only in the modules that use it: the rest of the suite starts without torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
