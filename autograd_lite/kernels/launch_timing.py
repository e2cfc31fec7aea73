"""Whether a launch's pieces should go to the workers at all: measured, per launch shape.

A second thread pays only when a kernel is long enough to hide a worker's wake-up and when the two
threads do not slow each other down. Neither can be read off a kernel's size: on the 2-vCPU Intel
Xeon VM (Sapphire Rapids class) a worker woke 0.1-0.3 ms after its launch, and a convolution's half
ran about as long beside the worker as the whole one alone, so the course CNN's step at batch 8
took 3.9 ms with its convolutions split across 2 threads and 2.3 ms with them on the calling
thread (at batch 64: 17.7 against 19.2 ms, so there the split pays). So ``parallel_for`` times both
ways for each launch shape and keeps the faster one:

    shape = (kernel's code, count, pieces, sizes of the array arguments)
    call 1:               split (untimed: first touches of fresh buffers)
    then, exploring:      alternately alone and split, timed, until each way has EXPLORE
                          times, or sooner once one way's median is CLEAR times the other's
    then:                 the way with the lower median of its last EXPLORE times, timed,
                          kept until the other way's median is SWITCH times lower; every
                          RECHECK-th call the other way, timed, its time replacing the ones
                          that way had (the machine's load changes: a busy neighbour, a laptop
                          on battery)

(Medians of an even count take the lower middle value: the outliers of a noisy machine are slow
runs, and a choice made on one of them is undone at the next recheck.)

"Alone" runs the same pieces one after the other on the calling thread: the same kernel calls as
split, so the same bits whatever the kernel (tests check this for the convolutions and the split
BLAS product). Only the time of a launch depends on the choice, never its result.
"""
from __future__ import annotations

import time

import numpy as np

ADAPTIVE = True    # False: every launch goes to the workers (the pool's own tests pin it so)
EXPLORE = 5        # timed calls of each way before the first choice (and the samples compared)
CLEAR = 1.5        # a ratio of medians that ends exploring early
SWITCH = 1.2       # how much faster (ratio of medians) the other way must be to replace the way
#                    chosen: with 1.0, a recheck that met a slow spell of the way chosen (the first
#                    steps after a pause run slow at 2 threads) turned a 2x faster split into
#                    alone for the next calls. Course CNN, batch 64, 2 threads, 10-step blocks
#                    after 0.15 s pauses, Intel Xeon family 6 model 167, three alternating pairs of
#                    processes: block medians 8.26 / 8.47 / 8.23 -> 8.07 / 8.28 / 7.92 ms, calls
#                    run alone per block 1.3-3.1 -> 0.8 (the rechecks)
RECHECK = 50       # calls between two timed runs of the way not chosen
MAX_SHAPES = 4096  # launch shapes remembered (a program of ever-new shapes starts over)

clock = time.perf_counter
_shapes = {}  # shape -> LaunchTimes


class LaunchTimes:
    """The recent seconds of one launch shape, split across threads and alone."""
    __slots__ = ("calls", "split", "alone", "chosen", "way")

    def __init__(self):
        self.calls, self.split, self.alone, self.chosen, self.way = 0, [], [], False, True

    def use_split(self) -> bool:
        """Whether this call goes to the workers (see the module docstring)."""
        self.calls += 1
        calls = self.calls
        if calls == 1:
            return True
        if not self.chosen:
            return calls % 2 == 1
        split, alone = _median(self.split), _median(self.alone)
        if self.way:
            self.way = not alone * SWITCH < split
        else:
            self.way = split * SWITCH < alone
        return self.way != (calls % RECHECK == 0)

    def record(self, split: bool, seconds: float):
        """Keep the time of the call ``use_split`` just answered."""
        if self.calls == 1:
            return
        times = self.split if split else self.alone
        if self.chosen and self.calls % RECHECK == 0:
            times.clear()  # the way not chosen is judged by its fresh time, not by stale ones
        times.append(seconds)
        if len(times) > EXPLORE:
            del times[0]
        if not self.chosen and self.split and self.alone:
            fast, slow = sorted((_median(self.split), _median(self.alone)))
            self.chosen = slow >= CLEAR * fast or min(len(self.split), len(self.alone)) >= EXPLORE
            self.way = _median(self.split) <= _median(self.alone)  # (kept unless SWITCH says)


def _median(values):
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def times_of(kernel, count, pieces, args) -> LaunchTimes:
    """The ``LaunchTimes`` of this launch's shape (made on its first call)."""
    function = getattr(kernel, "py_func", kernel)  # a Numba dispatcher's Python function
    identity = getattr(function, "__code__", None) or id(kernel)  # (a closure is not kept alive)
    shape = (identity, count, pieces, tuple([a.size for a in args if a.__class__ is np.ndarray]))
    times = _shapes.get(shape)
    if times is None:
        if len(_shapes) >= MAX_SHAPES:
            _shapes.clear()
        times = _shapes[shape] = LaunchTimes()
    return times


def forget():
    """Drop every launch shape's times (tests start from a clean slate)."""
    _shapes.clear()
