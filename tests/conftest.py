"""Shared test setup: the tests import the project from the repository root, and every test must
leave the engine's global switches (grad mode, anomaly mode, retain-all, module stack) as it found
them -- a test that leaks one fails here instead of silently changing the tests after it."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograd_lite.function import _GradMode  # noqa: E402


@pytest.fixture(autouse=True)
def _engine_switches_restored():
    yield
    leaked = {name: value for name, value, default in [
        ("enabled", _GradMode.enabled, True), ("anomaly", _GradMode.anomaly, False),
        ("retain_all", _GradMode.retain_all, False), ("module_stack", list(_GradMode.module_stack), [])]
        if value != default}
    _GradMode.enabled, _GradMode.anomaly, _GradMode.retain_all = True, False, False
    _GradMode.module_stack.clear()
    assert not leaked, f"the test left engine switches changed: {leaked}"


@pytest.fixture(scope="module")
def one_torch_thread():
    """PyTorch's thread pool spins on tiny inputs when the machine is busy (0.7 s per call): the
    recurrent-layer tests run PyTorch on one thread (``pytestmark = usefixtures(...)``)."""
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def eager():
    """Kernels compile on first use in the test's thread (not in the helper process)."""
    from autograd_lite import kernels
    kernels.set_compile_mode("eager")
    yield
    kernels.set_compile_mode("background")


@pytest.fixture
def thread_count():
    """Restores the kernels' thread count (and its default) after the test."""
    import autograd_lite as ag
    from autograd_lite.kernels import threads
    saved = threads._settings["threads"]
    yield
    ag.set_num_threads(saved or threads._usable_cores())
    threads._settings["threads"] = saved


@pytest.fixture
def always_split(monkeypatch):
    """Every launch goes to the workers (``launch_timing`` would otherwise run some on the
    calling thread; see tests/test_launch_timing.py): for tests of what a split launch does."""
    from autograd_lite.kernels import launch_timing
    monkeypatch.setattr(launch_timing, "ADAPTIVE", False)
