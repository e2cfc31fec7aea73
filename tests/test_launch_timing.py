"""``kernels.launch_timing``: a launch's pieces go to the workers only where that was measured to
be faster than running them on the calling thread alone. The policy on given times, then the
choice as ``threads.parallel_for`` makes it (with a clock the kernel itself advances), and what
the table of times keeps alive. Bit-for-bit equality of the two ways on the real kernels:
``test_kernel_pieces.py``."""
from __future__ import annotations

import gc
import threading
import weakref

import pytest

import autograd_lite as ag
from autograd_lite.kernels import launch_timing, threads
from autograd_lite.kernels.launch_timing import CLEAR, EXPLORE, RECHECK, LaunchTimes


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


def test_one_slow_outlier_does_not_decide():
    """Medians of an even count take the lower middle: with two samples the slow outlier is not
    the one compared."""
    times = LaunchTimes()
    ways(times, {True: 1.0, False: 1.2}.get, 3)            # split 1.0, alone 1.2
    times.split.append(50.0)                              # an interrupted split run
    assert launch_timing._median(times.split) == 1.0
    assert launch_timing._median([3.0, 1.0, 2.0]) == 2.0


# ----------------------------------------------------------------------------- in parallel_for
def launcher(alone_cost, piece_cost):
    """A kernel for ``parallel_for`` that advances a fake clock by ``alone_cost`` when it is called
    once over the whole range (alone) and by ``piece_cost`` for each piece (split), recording
    which threads ran it; and the list of (start, stop, thread) it ran."""
    now, lock, ran = [0.0], threading.Lock(), []

    def kernel(count, start, stop):
        with lock:
            now[0] += alone_cost if (start, stop) == (0, count) else piece_cost
            ran.append((start, stop, threading.current_thread().name))
    return kernel, (lambda: now[0]), ran


@pytest.fixture
def fresh_table(thread_count):
    launch_timing.forget()
    yield
    launch_timing.forget()


@pytest.mark.parametrize("alone_cost, splits", [(1.0, False), (10.0, True)])
def test_parallel_for_keeps_the_way_its_clock_found_faster(fresh_table, monkeypatch, alone_cost,
                                                           splits):
    ag.set_num_threads(2)
    kernel, clock, ran = launcher(alone_cost, piece_cost=2.0)   # split: 2 pieces, 4.0 in all
    monkeypatch.setattr(launch_timing, "clock", clock)
    me = threading.current_thread().name
    for _ in range(RECHECK - 1):
        threads.parallel_for(kernel, 8, 8)
    runs = {}
    for start, stop, name in ran:
        runs.setdefault("alone" if (start, stop) == (0, 8) else "split", []).append(name)
    if splits:       # alone costs 10: only call 2 ran alone, every other call was cut in two
        assert len(runs["alone"]) == 1 and len(runs["split"]) == 2 * (RECHECK - 2)
    else:            # alone costs 1 against 4: after calls 1-3, every call ran alone, here
        assert len(runs["split"]) == 2 * 2 and len(runs["alone"]) == RECHECK - 3
        assert set(runs["alone"]) == {me}
    ran.clear()
    threads.parallel_for(kernel, 8, 8)                          # call RECHECK: the other way
    assert (len(ran) == 1) == splits


def test_not_adaptive_every_launch_is_split(fresh_table, monkeypatch):
    ag.set_num_threads(2)
    monkeypatch.setattr(launch_timing, "ADAPTIVE", False)
    kernel, clock, ran = launcher(alone_cost=0.0, piece_cost=5.0)
    monkeypatch.setattr(launch_timing, "clock", clock)
    for _ in range(12):
        threads.parallel_for(kernel, 8, 8)
    assert len(ran) == 24 and (0, 8) not in {piece[:2] for piece in ran}


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
