"""``kernels.launch_timing``: a launch's pieces go to the workers only where that was measured to
be faster than running them one after the other on the calling thread alone. The policy on given
times; then the choice as ``threads.parallel_for`` makes it, for kernels that gain or lose from
the worker (pieces that sleep); what the table of times keeps alive. Bit-for-bit equality of the
two ways on the real kernels: ``test_kernel_pieces.py``."""
from __future__ import annotations

import gc
import threading
import time
import weakref

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.kernels import launch_timing, threads
from autograd_lite.kernels.launch_timing import CLEAR, EXPLORE, RECHECK, SWITCH, LaunchTimes


def ways(times, seconds_of, calls):
    """The way (True: split) ``times`` picks for each of ``calls`` calls, each recorded as
    ``seconds_of(split)``."""
    picked = []
    for _ in range(calls):
        split = times.use_split()
        times.record(split, seconds_of(split))
        picked.append(split)
    return picked


def test_first_call_splits_then_both_ways_alternate_until_each_has_its_samples():
    times = LaunchTimes()
    close = {True: 1.0, False: 1.1}      # within CLEAR of each other: explores to the end
    picked = ways(times, close.get, 1 + 2 * EXPLORE)
    assert picked == [True] + [False, True] * EXPLORE
    assert times.chosen and len(times.split) == len(times.alone) == EXPLORE
    assert times.calls == 1 + 2 * EXPLORE


@pytest.mark.parametrize("alone_seconds, expected", [(0.5, False), (2.0, True)])
def test_a_clear_difference_ends_exploring_and_the_faster_way_is_kept(alone_seconds, expected):
    assert alone_seconds >= CLEAR or 1.0 >= CLEAR * alone_seconds
    times = LaunchTimes()
    seconds = {True: 1.0, False: alone_seconds}
    picked = ways(times, seconds.get, 3)
    assert picked == [True, False, True] and times.chosen   # decided after one of each
    later = ways(times, seconds.get, RECHECK - 4)          # up to call RECHECK - 1
    assert set(later) == {expected}


def test_every_recheck_call_times_the_other_way_and_a_changed_machine_changes_the_choice():
    times = LaunchTimes()
    seconds = {True: 1.0, False: 3.0}                      # splitting pays ...
    ways(times, seconds.get, RECHECK - 1)
    assert ways(times, seconds.get, 1) == [False]          # call RECHECK: the other way, once
    assert ways(times, seconds.get, 1) == [True]
    seconds = {True: 3.0, False: 1.0}                      # ... then a busy neighbour arrives
    picked = ways(times, seconds.get, RECHECK - 2)         # calls RECHECK + 1 .. 2 RECHECK - 2
    assert set(picked) == {True}
    assert ways(times, seconds.get, 1) == [False]          # call 2 RECHECK: alone, 1.0
    picked = ways(times, seconds.get, RECHECK)             # replaces alone's old times (3.0)
    assert picked == [False] * (RECHECK - 1) + [True]


@pytest.mark.parametrize("chosen", [True, False])
def test_the_way_chosen_is_kept_until_the_other_is_clearly_faster(chosen):
    """A slow spell of the way chosen (the first steps after a pause, at 2 threads) against a
    fast recheck of the other: kept while the other way is less than SWITCH times faster."""
    times = LaunchTimes()
    seconds = {chosen: 1.0, not chosen: 2.0}
    ways(times, seconds.get, RECHECK - 1)                  # decided: the faster way
    assert 1.3 / 1.2 < SWITCH < 1.3 / 1.0
    seconds = {chosen: 1.3, not chosen: 1.2}               # a slow spell: the other faster,
    assert ways(times, seconds.get, 1) == [not chosen]     # but not by SWITCH (call RECHECK)
    assert set(ways(times, seconds.get, RECHECK - 1)) == {chosen}
    seconds[not chosen] = 1.0                              # now faster by more than SWITCH
    assert ways(times, seconds.get, 2) == [not chosen, not chosen]


def test_one_slow_outlier_does_not_decide():
    """Medians of an even count take the lower middle: with two samples the slow outlier is not
    the one compared."""
    times = LaunchTimes()
    ways(times, {True: 1.0, False: 1.2}.get, 3)            # split 1.0, alone 1.2
    times.split.append(50.0)                              # an interrupted split run
    assert launch_timing._median(times.split) == 1.0
    assert launch_timing._median([3.0, 1.0, 2.0]) == 2.0


# ----------------------------------------------------------------------------- in parallel_for
@pytest.fixture
def fresh_table(thread_count):
    launch_timing.forget()
    yield
    launch_timing.forget()


def threads_per_call(kernel, calls, count=8):
    """Run ``parallel_for(kernel, count)`` ``calls`` times; for each call, the set of threads that
    ran its pieces, and every (start, stop) piece seen."""
    seen, pieces = [], []
    lock = threading.Lock()

    def recorded(start, stop):
        with lock:
            names.add(threading.current_thread().name)
            pieces.append((start, stop))
        kernel(start, stop)
    for _ in range(calls):
        names = set()
        threads.parallel_for(recorded, count)
        seen.append(names)
    return seen, pieces


def test_a_kernel_that_gains_from_the_worker_keeps_it(fresh_table):
    """Two pieces that wait 50 ms each, side by side on two threads: 50 ms split, 100 alone."""
    ag.set_num_threads(2)
    seen, pieces = threads_per_call(lambda start, stop: time.sleep(0.05), 20)
    me = threading.current_thread().name
    assert seen[1] == {me}                    # call 2 runs alone; by call 1 + 2 EXPLORE the
    assert sum(len(names) == 2 for names in seen[-8:]) >= 7   # choice is made: split (a worker
    assert set(pieces) == {(0, 4), (4, 8)}    # late by 50 ms leaves its piece to the caller)


def test_a_kernel_that_loses_from_the_worker_runs_alone(fresh_table):
    """A piece takes 50 ms on the calling thread and 200 ms on the worker: 200 ms split (the
    caller waits for the worker's piece) against 100 alone, so after exploring every call runs on
    the calling thread."""
    ag.set_num_threads(2)
    me = threading.current_thread().name

    def kernel(start, stop):
        time.sleep(0.05 if threading.current_thread().name == me else 0.2)
    seen, pieces = threads_per_call(kernel, 1 + 2 * EXPLORE + 2)
    assert all(names == {me} for names in seen[-2:])
    assert set(pieces) == {(0, 4), (4, 8)}                             # the same pieces alone


def test_not_adaptive_every_launch_is_split(fresh_table, monkeypatch):
    """Piece 0 waits for piece 1 to start on another thread: only a split launch lets it."""
    ag.set_num_threads(2)
    monkeypatch.setattr(launch_timing, "ADAPTIVE", False)
    started = []

    def kernel(start, stop):
        if start == 0:
            started[-1].wait(5)
        else:
            started[-1].set()
    me = threading.current_thread().name
    for _ in range(12):
        started.append(threading.Event())
        threads.parallel_for(kernel, 2)
        assert started[-1].is_set()
    assert [t.calls for t in launch_timing._shapes.values()] == [12]
    assert me  # (the calling thread ran piece 0 each time, waiting for the worker's piece 1)


def test_the_table_keeps_no_kernel_alive_and_stays_bounded(fresh_table, monkeypatch):
    """Shapes are keyed by the kernel's code, not the kernel: a closure and what it holds are
    freed with it; each new closure of one def shares its shape's times."""
    ag.set_num_threads(2)

    class Held:
        pass

    def make():
        held = Held()
        return (lambda start, stop: held), weakref.ref(held)
    kernel, alive = make()
    threads.parallel_for(kernel, 4)
    del kernel
    gc.collect()
    assert alive() is None
    again, _ = make()
    threads.parallel_for(again, 4)
    assert [t.calls for t in launch_timing._shapes.values()] == [2]
    monkeypatch.setattr(launch_timing, "MAX_SHAPES", 3)
    for count in range(10, 20):
        threads.parallel_for(again, count)
    assert len(launch_timing._shapes) <= 3


def test_training_gives_the_same_bits_whichever_way_each_launch_runs(fresh_table, monkeypatch):
    """A small CNN trained for 4 steps at 2 threads: every launch split, every launch alone, and
    measured (whatever it chose) end with the same parameters, bit for bit."""
    import nn
    import optim
    ag.set_num_threads(2)
    monkeypatch.setattr(threads, "PIECE_WORK", 2 ** 18)        # several pieces per launch
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((16, 3, 20, 20)).astype(np.float32), rng.integers(0, 5, 16))
               for _ in range(4)]

    def train():
        ag.manual_seed(0)
        model = nn.Sequential(nn.Conv2D(3, 16, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                              nn.Linear(16 * 9 * 9, 5))
        optimizer = optim.Adam(model.parameters(), lr=1e-2)
        for x, y in batches:
            optimizer.zero_grad()
            nn.CrossEntropyLoss()(model(ag.tensor(x)), ag.tensor(y)).backward()
            optimizer.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    from autograd_lite.kernels import compiler
    previous = compiler._state["mode"]
    ag.kernels.set_compile_mode("eager")                       # the Numba kernels from call 1
    try:
        before = ag.kernels.paths().get("conv2d_weight_grad", {}).get("numba", 0)
        measured = train()
        assert ag.kernels.paths()["conv2d_weight_grad"]["numba"] == before + 4
    finally:
        ag.kernels.set_compile_mode(previous)
    for forced in (True, False):
        with monkeypatch.context() as patch:
            patch.setattr(LaunchTimes, "use_split", lambda self, forced=forced: forced)
            for got, expected in zip(train(), measured):
                np.testing.assert_array_equal(got, expected)
