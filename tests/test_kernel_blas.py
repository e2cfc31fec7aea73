"""BLAS beside our kernel thread pool (``autograd_lite.kernels.blas``): a large product split
across our threads, BLAS held to one thread around our products while our workers run kernels
(and restored after each), a BLAS loaded late held too. The ``thread_count`` fixture is in
``conftest.py``; the pool itself: ``test_kernel_threads.py``."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite.kernels import blas, launch_timing, threads
from kernel_checks import run_python

# these tests are about what a split launch does: every launch goes to the workers here
pytestmark = pytest.mark.usefixtures("always_split")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("a_shape, b_shape", [((37, 11), (11, 5)), ((5, 11), (11, 37)),
                                              ((1, 3), (3, 1)), ((2, 9), (9, 2))])
def test_split_matmul_is_blas_product_cut_by_rows_or_columns(thread_count, dtype, a_shape,
                                                             b_shape):
    """Each part is one BLAS call on a part of the result: the same product within rounding,
    for C- and Fortran-ordered and transposed operands."""
    ag.set_num_threads(2)
    rng = np.random.default_rng(5)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    for right in (b, np.asfortranarray(b), np.ascontiguousarray(b.T).T):
        got = blas.split_matmul(a, right)
        assert got.dtype == dtype and got.shape == (a_shape[0], b_shape[1])
        np.testing.assert_allclose(got, a @ right, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_a_blas_loaded_after_the_first_product_is_held_to_one_thread_too():
    """SciPy brings an OpenBLAS of its own, loaded when it is first imported: a product of ours
    after that import holds it to one thread as well (the libraries are looked up again after
    an import), and restores it."""
    result = run_python("""
        import json
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits
        from autograd_lite.kernels import blas as our_blas

        def blas():
            return sorted((p["filepath"], p["num_threads"]) for p in threadpool_info()
                          if p["user_api"] == "blas")
        with threadpool_limits(2, user_api="blas"):
            with our_blas.one_blas_thread():
                first = len(blas())
            import scipy.linalg  # noqa: F401  (its own OpenBLAS)
            outside = blas()
            with our_blas.one_blas_thread():
                inside = blas()
            after = blas()
        print(json.dumps([first, len(outside), sorted({n for _, n in inside}), after == outside]))
    """)
    first, libraries, inside, restored = result
    assert libraries > first and inside == [1] and restored


def test_split_matmul_with_a_blas_it_cannot_limit_is_one_call_on_the_calling_thread(
        thread_count, monkeypatch):
    """Parts on every BLAS thread would oversubscribe the cores: one plain call instead."""
    ag.set_num_threads(2)
    monkeypatch.setitem(blas._blas, "libraries", [])
    callers = []
    monkeypatch.setattr(threads, "parallel_for", lambda *args, **kw: callers.append(args))
    a, b = np.ones((64, 32)), np.ones((32, 16))
    np.testing.assert_array_equal(blas.split_matmul(a, b), np.full((64, 16), 32.0))
    assert callers == []


@pytest.mark.parametrize("vector_bytes", ["32", "64"])
def test_large_products_run_split_on_our_threads_while_our_workers_run_kernels(vector_bytes):
    """After a Numba kernel ran, a product keeps BLAS's own threads as long as no kernel of ours
    has gone to our workers lately (an MLP whose kernels stay on the calling thread); once one has,
    BLAS runs our products on one thread and, with two threads of ours, a large one is cut in two
    one-thread BLAS calls (``blas_split``), with the kernels compiled for AVX2 (32-byte vectors) or
    AVX-512 (64) alike (the Numba GEMM is not used for products); a small one is not, and with one
    thread none is. BLAS's own thread count is the program's again afterwards. Both widths run on
    any CPU."""
    report = run_python("""
        import json
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits
        import autograd_lite as ag
        from autograd_lite import kernels
        from autograd_lite.kernels import blas as our_blas, threads

        def blas():
            return {p["filepath"]: p["num_threads"] for p in threadpool_info()
                    if p["user_api"] == "blas"}
        def parallel_paths():
            paths = kernels.paths()["matmul"]
            return {"blas_split": paths.get("blas_split", 0), "numba": paths.get("numba", 0)}
        held = []
        enter = our_blas.one_blas_thread.__enter__
        our_blas.one_blas_thread.__enter__ = lambda self: held.append(1) or enter(self)
        threads.BLAS_HELD_FOR = 600.0   # "lately" outlasts a slow CI machine
        threadpool_limits(2, user_api="blas")
        before = blas()
        kernels.set_compile_mode("eager")
        ag.set_num_threads(2)
        kernels.relu_forward(np.ones(1 << 17, np.float32))  # a Numba kernel, on this thread only
        rng = np.random.default_rng(0)
        a = rng.standard_normal((256, 512)).astype(np.float32)
        b = rng.standard_normal((512, 128)).astype(np.float32)      # 2^24 multiply-adds
        own_threads = kernels.matmul(a, b)
        no_kernel_split = {"held": len(held), "lately": threads.workers_ran_lately()}
        kernels.relu_forward(np.ones(1 << 21, np.float32))  # split: a first launch always is
        big = kernels.matmul(a, b)
        small = kernels.matmul(a[:8], b)
        at_two = parallel_paths()
        ag.set_num_threads(1)
        kernels.matmul(a, b)
        print(json.dumps({"no_kernel_split": no_kernel_split, "at_two": at_two,
                          "after_one": parallel_paths(), "held": len(held),
                          "error": float(np.abs(big - a @ b).max()),
                          "own_error": float(np.abs(own_threads - a @ b).max()),
                          "small_error": float(np.abs(small - a[:8] @ b).max()),
                          "before": before, "after": blas()}))
    """, {"AUTOGRAD_LITE_VECTOR_BYTES": vector_bytes})
    assert report["no_kernel_split"] == {"held": 0, "lately": False}, report
    expected = {"blas_split": 1, "numba": 0}
    assert report["at_two"] == expected and report["after_one"] == expected, report
    assert report["held"] == 3, report  # the large and the small product, and the one at 1 thread
    assert max(report["error"], report["own_error"], report["small_error"]) < 1e-3
    assert report["before"]
    assert {path: report["after"][path] for path in report["before"]} == report["before"]


def _record_piece(seen, start, stop):
    seen.append((start, stop))


def test_workers_ran_lately_counts_kernels_not_product_parts_nor_optimizer_updates(thread_count,
                                                                                   monkeypatch):
    """``workers_ran_lately``: True for ``BLAS_HELD_FOR`` seconds after a launch of a kernel went
    to the workers; the parts of a split product and the optimizer updates do not count, nor
    does a launch run on the calling thread alone."""
    from autograd_lite.kernels import updates
    ag.set_num_threads(2)
    now = [100.0]
    monkeypatch.setattr(launch_timing, "clock", lambda: now[0])
    monkeypatch.setitem(threads._pool, "kernel_split_at", None)
    a = np.ones((64, 32), np.float32)
    blas.split_matmul(a, a.T)
    param, grad = np.ones(1 << 12, np.float32), np.ones(1 << 12, np.float32)
    threads.parallel_for(updates._sgd_range, param.size, param, grad, np.float32(0.5),
                         holds_blas=False)
    np.testing.assert_array_equal(param, 0.5)
    assert not threads.workers_ran_lately()
    seen = []
    threads.parallel_for(_record_piece, 8, seen, serial=True)  # on this thread: not the workers
    assert not threads.workers_ran_lately()
    threads.parallel_for(_record_piece, 8, seen)
    assert threads.workers_ran_lately() and sorted(seen) == [(0, 4), (0, 8), (4, 8)]
    now[0] += threads.BLAS_HELD_FOR * 0.99
    assert threads.workers_ran_lately()
    now[0] += threads.BLAS_HELD_FOR * 0.02
    assert not threads.workers_ran_lately()
