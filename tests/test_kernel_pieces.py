"""The real kernels on our thread pool: a conv - ReLU - max-pool layer forward and backward gives
the same results at 1 and 2 threads, whichever thread runs a piece, and from two host threads at
once; how many pieces a kernel is cut into (``threads.pieces_for``), the weight gradients' per-piece
buffers included. The pool's own mechanics: ``test_kernel_threads.py``."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.kernels import blas, conv, elementwise, launch_timing, pool, threads


# these tests are about what a split launch does: every launch goes to the workers here
pytestmark = pytest.mark.usefixtures("always_split")


def conv_pass(x, w, b):
    """Every kernel of a conv - ReLU - max-pool layer, forward and backward."""
    y = conv.conv2d_forward(x, w, (1, 1), (1, 1), b)
    r, mask = elementwise.relu_forward(y)
    p, argmax = pool.max_pool2d_forward(r, (2, 2), (2, 2), (0, 0))
    gr = elementwise.mask_select(pool.max_pool2d_backward(p, argmax, r.shape), mask)
    dw_fused, db_fused = conv.conv2d_weight_grad(x, gr, w.shape, (1, 1), (1, 1), with_bias=True)
    return {"y": y, "p": p, "argmax": argmax,
            "dx": conv.conv2d_input_grad(gr, w, x.shape, (1, 1), (1, 1)),
            "dw": conv.conv2d_weight_grad(x, gr, w.shape, (1, 1), (1, 1)),
            "db": conv.conv2d_bias_grad(gr), "dw_fused": dw_fused, "db_fused": db_fused}


def layer_arrays(dtype=np.float32):
    rng = np.random.default_rng(3)
    return (rng.standard_normal((16, 8, 24, 24)).astype(dtype),
            rng.standard_normal((32, 8, 3, 3)).astype(dtype), rng.standard_normal(32).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_give_the_same_results(thread_count, dtype):
    """Equal bit for bit, but the weight gradient (and the bias gradient its launch sums): its
    per-piece partial sums are added in a different order with two threads, which cut the images
    into more pieces (within float rounding)."""
    arrays = layer_arrays(dtype)
    ag.set_num_threads(1)
    one = conv_pass(*arrays)
    ag.set_num_threads(2)
    two = conv_pass(*arrays)
    for name in one:
        if name in ("dw", "dw_fused", "db_fused"):
            single = dtype == np.float32
            np.testing.assert_allclose(two[name], one[name], rtol=1e-4 if single else 1e-11,
                                       atol=1e-3 if single else 1e-10)
        else:
            np.testing.assert_array_equal(two[name], one[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_do_not_depend_on_which_thread_runs_a_piece(thread_count, dtype, monkeypatch):
    """With a given thread count the pieces are fixed (``threads.pieces_for``; here small enough
    that the 16 images make 8 pieces): all of them on the calling thread (the pool busy) give every
    result bit for bit, the weight gradient's per-piece sums included; so do repeated runs,
    whoever claimed what."""
    monkeypatch.setattr(threads, "PIECE_WORK", 2 ** 20)
    arrays = layer_arrays(dtype)
    ag.set_num_threads(2)
    assert threads.pieces_for(16, 16 * 32 * 72 * 22 * 22) == 8
    shared = conv_pass(*arrays)
    with threads._pool["lock"]:                  # every launch runs on this thread
        alone = conv_pass(*arrays)
    again = conv_pass(*arrays)
    for name in shared:
        np.testing.assert_array_equal(alone[name], shared[name], err_msg=name)
        np.testing.assert_array_equal(again[name], shared[name], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pieces_that_launch_timing_runs_alone_give_the_split_bits(thread_count, dtype,
                                                                  monkeypatch):
    """``launch_timing`` may run a launch's pieces one after the other on the calling thread: the
    same calls as split, so the same bits, the convolutions' and the split BLAS product's too."""
    monkeypatch.setattr(threads, "PIECE_WORK", 2 ** 20)
    arrays = layer_arrays(dtype)
    rng = np.random.default_rng(5)
    a = rng.standard_normal((301, 257)).astype(dtype)
    b = rng.standard_normal((257, 99)).astype(dtype)
    ag.set_num_threads(2)

    def run():
        with blas.one_blas_thread():
            return conv_pass(*arrays), blas.split_matmul(a, b), blas.split_matmul(b.T, a.T)
    split = run()
    monkeypatch.setattr(launch_timing, "ADAPTIVE", True)
    monkeypatch.setattr(launch_timing.LaunchTimes, "use_split", lambda self: False)
    alone = run()
    for name in split[0]:
        np.testing.assert_array_equal(alone[0][name], split[0][name], err_msg=name)
    np.testing.assert_array_equal(alone[1], split[1])
    np.testing.assert_array_equal(alone[2], split[2])


def test_pieces_for_cuts_finer_only_with_threads_and_work_enough(thread_count):
    big = 64 * threads.PIECE_WORK
    ag.set_num_threads(1)
    assert threads.pieces_for(64, big) == 1      # one thread: one piece, a direct call
    ag.set_num_threads(2)
    assert threads.pieces_for(64, 0) == 2        # little work: one piece per thread
    assert threads.pieces_for(64, 5 * threads.PIECE_WORK) == 5
    assert threads.pieces_for(64, big) == 2 * threads.PIECES_PER_THREAD
    assert threads.pieces_for(3, big) == 3 and threads.pieces_for(1, big) == 1
    assert threads.pieces_for(0, big) == 1       # an empty batch: one piece with no images
    with threads.on_this_thread():               # run here, but cut the same way
        assert threads.pieces_for(64, big) == 2 * threads.PIECES_PER_THREAD
    # per-piece buffers (a weight gradient's partial sums) cap the finer cut, never below one
    # piece per thread
    budget = threads.PIECE_BUFFER_BYTES
    assert threads.pieces_for(64, big, buffer_bytes=budget // 3) == 3
    assert threads.pieces_for(64, big, buffer_bytes=budget) == 2
    assert threads.pieces_for(64, big, buffer_bytes=budget // 64) == 2 * threads.PIECES_PER_THREAD


def test_weight_gradient_pieces_keep_their_partial_sums_within_the_budget(thread_count):
    """A deep filter's weight gradient is cut into one piece per thread, not the 4 its work
    allows: each piece keeps partial sums the size of the filter (9.4 MB for 512 x 512 x 3 x 3
    in float32, 302 MB for 32 pieces on 8 threads)."""
    ag.set_num_threads(8)
    deep = conv.weight_grad_piece_bytes(512 * 9, 512, np.float32)
    assert deep == 512 * 9 * 512 * 4
    work = 64 * 512 * 4608 * 14 * 14
    assert threads.pieces_for(64, work) == 32
    assert threads.pieces_for(64, work, buffer_bytes=deep) == 8
    small = conv.weight_grad_piece_bytes(288, 64, np.float32)   # the course CNN's second layer
    assert threads.pieces_for(64, 64 * 64 * 288 * 121, buffer_bytes=small) == \
        threads.pieces_for(64, 64 * 64 * 288 * 121)
    assert conv.weight_grad_piece_bytes(9, 32, np.float32) >= 9 * 32 * 4  # shallow: rounded up


def test_two_host_threads_running_kernels_at_once_get_the_serial_results(thread_count):
    ag.set_num_threads(2)
    arrays = layer_arrays()
    expected = conv_pass(*arrays)
    start, results, errors = threading.Barrier(2), [[], []], []

    def train(index):
        try:
            start.wait()
            for _ in range(6):
                results[index].append(conv_pass(*arrays))
        except BaseException as error:  # reported below
            errors.append(error)
    runners = [threading.Thread(target=train, args=(i,)) for i in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(300)
    assert not errors and not any(runner.is_alive() for runner in runners)
    for got in results[0] + results[1]:
        for name, value in expected.items():
            np.testing.assert_array_equal(got[name], value, err_msg=name)
    assert len(results[0]) == len(results[1]) == 6


