"""Set-up for the whole test suite, and the helpers several test modules share.

Modules import the helpers by name (``from conftest import invoke, snapshot``); the ``tiny``
fixture writes the calling module's own ``TINY`` config.
"""

import os
import signal
from pathlib import Path

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


@pytest.fixture
def tiny(tmp_path, monkeypatch, request) -> Path:
    """The module's ``TINY`` config as tiny.toml, with the test's tmp_path as the working
    folder (a default run folder goes to ./results)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.toml"
    path.write_text(request.module.TINY)
    return path


def invoke(*args, catch_exceptions: bool = True):
    """``tsearch ARGS`` in this process (click's runner): the result's exit_code and output."""
    from click.testing import CliRunner

    from tsearch.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=catch_exceptions)


def snapshot(root: Path, *, contents: bool = True) -> dict:
    """Every path under ``root`` (symlinks not followed) with its size, modification time and,
    with ``contents``, a regular file's bytes: equal snapshots = nothing was touched."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            data = path.read_bytes() if contents and path.is_file() and not path.is_symlink() else b""
            found[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, data)
    return found
