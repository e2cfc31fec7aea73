"""Matrix product speed: autograd-lite's Numba GEMM kernel against NumPy's BLAS, side by side.

For square N x N products (N = 64 ... 1024) and the MLP's shapes (batch 64, 784-128: forward, and the
two backward products), prints GFLOP/s (2 M N K / median time) of

    numba    autograd_lite.kernels.matmul_numba.matmul on our threads (ag.set_num_threads; default:
             all cores)
    blas     np.matmul with BLAS at the same thread count
    blas-1   np.matmul with one BLAS thread (what the framework runs BLAS with: see kernels/__init__)

and the ratios numba/blas and numba/blas-1 (> 1: the kernel is faster). The contenders run in
interleaved blocks separated by a short pause, because an idle thread pool keeps spinning for a while
after its last call (OpenBLAS about 0.1 s) and would slow down whichever runs next. Two-thread
figures need an otherwise idle machine: another busy process makes every barrier wait.

Run from the repository root:
    python benchmarks/bench_matmul.py [--dtype float32] [--rounds 7] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import autograd_lite as ag  # noqa: E402
from autograd_lite.kernels import matmul_numba  # noqa: E402
from _timing import PAUSE, print_machine, speed_probe  # noqa: E402



def shapes():
    for n in (64, 128, 256, 512, 1024):
        yield f"{n}x{n} @ {n}x{n}", (n, n), (n, n)
    yield "MLP fwd 64x784 @ 784x128", (64, 784), (784, 128)
    yield "MLP dW 784x64 @ 64x128", (784, 64), (64, 128)
    yield "MLP dx 64x128 @ 128x784", (64, 128), (128, 784)
    yield "CNN dense fwd 64x1600 @ 1600x64", (64, 1600), (1600, 64)
    yield "CNN dense dW 1600x64 @ 64x64", (1600, 64), (64, 64)
    yield "CNN dense dx 64x64 @ 64x1600", (64, 64), (64, 1600)


def time_block(fn, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure(a, b, rounds, threads):
    flops = 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
    reps = max(10, min(200, int(4e8 / flops)))
    contenders = {
        "numba": (lambda: matmul_numba.matmul(a, b), None),
        "blas": (lambda: np.matmul(a, b), threads),
        "blas-1": (lambda: np.matmul(a, b), 1),
    }
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        speed_probe()
        for name, (fn, blas_threads) in contenders.items():
            with threadpool_limits(limits=blas_threads or 1, user_api="blas"):
                fn()  # warm-up (and compilation on the first call)
                times[name] += time_block(fn, reps)
            time.sleep(PAUSE)
    return {name: flops / statistics.median(t) / 1e9 for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=ag.get_num_threads())
    args = parser.parse_args()
    ag.set_num_threads(args.threads)
    print_machine()
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    print(f"# matmul GFLOP/s, {dtype}, {args.threads} thread(s), medians of {args.rounds} "
          "interleaved rounds")
    print(f"{'shape':<28} {'numba':>7} {'blas':>7} {'blas-1':>7} {'numba/blas':>11} "
          f"{'numba/blas-1':>13}")
    for label, a_shape, b_shape in shapes():
        a = rng.standard_normal(a_shape).astype(dtype)
        b = rng.standard_normal(b_shape).astype(dtype)
        assert np.allclose(matmul_numba.matmul(a, b), a @ b, rtol=1e-3, atol=1e-3)
        result = measure(a, b, args.rounds, args.threads)
        print(f"{label:<28} {result['numba']:7.1f} {result['blas']:7.1f} {result['blas-1']:7.1f} "
              f"{result['numba'] / result['blas']:11.2f} {result['numba'] / result['blas-1']:13.2f}",
              flush=True)


if __name__ == "__main__":
    main()
