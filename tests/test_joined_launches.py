"""``launch_groups.joined_launches``: a launch held for the next one of its shape, the two run as
one (a convolution's input and weight gradients: ``kernels.conv2d_grads``). What is held, when it
runs, that the pieces and the bits are those of two launches, and what is never held."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import kernels
from autograd_lite.kernels import launch_groups, threads
from autograd_lite.ops.conv import conv2d

pytestmark = pytest.mark.usefixtures("always_split", "thread_count")


def recorder(name, seen, out=None):
    """A kernel over ``range(count)`` that notes (name, start, stop, thread) of each piece and, when
    given ``out``, writes start + 1 over its piece of ``out``."""
    def kernel(start, stop):
        seen.append((name, start, stop, threading.current_thread().name))
        if out is not None:
            out[start:stop] = start + 1
    return kernel


def launches_during(monkeypatch):
    """The kernels ``parallel_for`` is called with from now on (the pair included), in order."""
    kernels_seen, real = [], threads.parallel_for

    def spy(kernel, count, *args, **options):
        kernels_seen.append(getattr(kernel, "__name__", kernel))
        return real(kernel, count, *args, **options)
    monkeypatch.setattr(threads, "parallel_for", spy)
    return kernels_seen


def test_a_held_launch_runs_with_the_next_of_its_shape_piece_by_piece(monkeypatch):
    ag.set_num_threads(2)
    seen, first_out, second_out = [], np.zeros(8), np.zeros(8)
    launched = launches_during(monkeypatch)
    with launch_groups.joined_launches() as joined:
        with joined.holding():
            threads.parallel_for(recorder("dx", seen, first_out), 8, pieces=4)
        assert seen == [] and not first_out.any()  # held: nothing ran yet
        threads.parallel_for(recorder("dw", seen, second_out), 8, pieces=4)
        assert len(seen) == 8  # ran with the second launch, before the block ends
    assert launched == ["kernel", "kernel", "_pair"]  # the two calls, then one launch for both
    for piece in range(4):  # each piece: the held kernel's, then the other's, on one thread
        (a, b) = [entry for entry in seen if entry[1] == 2 * piece]
        assert (a[0], b[0]) == ("dx", "dw") and a[3] == b[3] and seen.index(a) < seen.index(b)
    expected = np.repeat([1.0, 3.0, 5.0, 7.0], 2)  # the same pieces as two separate launches
    np.testing.assert_array_equal(first_out, expected)
    np.testing.assert_array_equal(second_out, expected)


def test_launches_of_other_shapes_run_at_once_and_an_unpartnered_one_at_the_end(monkeypatch):
    ag.set_num_threads(2)
    seen, held_out = [], np.zeros(6)
    with launch_groups.joined_launches() as joined:
        with joined.holding():
            threads.parallel_for(recorder("held", seen, held_out), 6, pieces=3)
        threads.parallel_for(recorder("other count", seen), 5, pieces=3)
        threads.parallel_for(recorder("other pieces", seen), 6, pieces=2)
        threads.parallel_for(recorder("no pieces", seen), 6)
        assert {entry[0] for entry in seen} == {"other count", "other pieces", "no pieces"}
        assert not held_out.any()
    assert sorted(entry[1:3] for entry in seen if entry[0] == "held") == [(0, 2), (2, 4), (4, 6)]
    np.testing.assert_array_equal(held_out, [1, 1, 3, 3, 5, 5])


def test_nothing_is_held_outside_holding_at_one_thread_or_in_a_serial_launch():
    seen = []
    ag.set_num_threads(2)
    with launch_groups.joined_launches():
        threads.parallel_for(recorder("outside holding", seen), 4, pieces=2)
        assert len(seen) == 2
    ag.set_num_threads(1)
    with launch_groups.joined_launches() as joined, joined.holding():
        threads.parallel_for(recorder("one thread", seen), 4, pieces=2)
        assert seen[-1][:3] == ("one thread", 0, 4)
    ag.set_num_threads(2)
    with launch_groups.joined_launches() as joined, joined.holding():
        threads.parallel_for(recorder("serial", seen), 4, pieces=2, serial=True)
        assert seen[-1][:3] == ("serial", 0, 4)


def test_an_exception_in_the_block_drops_the_held_launch_and_the_pool_still_works():
    ag.set_num_threads(2)
    seen = []
    with pytest.raises(KeyError):
        with launch_groups.joined_launches() as joined:
            with joined.holding():
                threads.parallel_for(recorder("held", seen), 4, pieces=2)
            raise KeyError("the caller failed")
    assert seen == []
    assert getattr(threads._here, "joined", None) is None  # the block left nothing behind
    threads.parallel_for(recorder("after", seen), 4, pieces=2)
    assert sorted(entry[1:3] for entry in seen) == [(0, 2), (2, 4)]


def test_another_threads_launches_are_never_held():
    ag.set_num_threads(2)
    seen = []
    with launch_groups.joined_launches() as joined, joined.holding():
        other = threading.Thread(target=threads.parallel_for, args=(recorder("other", seen), 4),
                                 kwargs={"pieces": 2})
        other.start()
        other.join(10)
        assert sorted(entry[1:3] for entry in seen) == [(0, 2), (2, 4)]


@pytest.mark.parametrize("channels", [3, 32])  # the two input-gradient kernels (few channels, taps)
def test_conv2d_backward_joins_its_two_gradient_launches_with_the_same_bits(monkeypatch, channels):
    """At 2 threads, Conv2d's plain backward hands dx's and dW's pieces to the workers in one
    launch (``kernels.conv2d_grads``); the gradients are bit for bit those of two launches."""
    ag.set_num_threads(2)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, channels, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, channels, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    seed = rng.standard_normal((16, 8, 10, 10)).astype(np.float32)

    def gradients():
        tensors = [ag.Tensor(a, requires_grad=True) for a in (x, w, b)]
        conv2d(*tensors, 1, 0).backward(ag.Tensor(seed))
        return [t.grad.numpy().copy() for t in tensors]
    monkeypatch.setitem(kernels.compiler._state, "mode", "eager")  # Numba's kernels, not the
    gradients()                                                    # references serving meanwhile
    launched = launches_during(monkeypatch)
    joined = gradients()
    assert launched.count("_pair") == 1, launched
    monkeypatch.setattr(launch_groups.joined_launches, "join", lambda self, *args: False)
    separate = gradients()
    for got, want in zip(joined, separate):
        np.testing.assert_array_equal(got, want)
