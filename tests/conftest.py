"""Session-wide set-up for the test suite."""

import signal


def pytest_configure(config):
    # A shell without job control starts background jobs (`pytest &`, `nohup ... &`) with SIGINT
    # ignored, and a child process inherits "ignored" across exec: the Ctrl-C tests' drivers
    # would then never see their SIGINT. A Python-level handler is not inherited (exec resets it
    # to the default), so this gives every child the SIGINT a terminal would.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
