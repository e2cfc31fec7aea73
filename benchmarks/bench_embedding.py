"""Embedding backward: does its time depend on the table size? autograd-lite against PyTorch.

One unit of work: look up a batch of 32 x 20 token indices in an ``nn.Embedding`` table of
``dim``=128 columns, then backward of a fixed output gradient into the table's gradient (its .grad
reset to None before each call, as ``zero_grad`` does). Timed for a small (500 rows) and a large
(50,000 rows) table; forward and backward are timed apart (the backward alone is what the issue asks
about). The two frameworks run interleaved, with the same threads; the script prints the CPU, the
medians, the ratio autograd-lite / PyTorch for each table, and the large/small ratio of each
framework (1.0: independent of the table size).

Run from the repository root:
    python benchmarks/bench_embedding.py [--rows 500 50000] [--dim 128] [--rounds 15]
                                         [--repeat 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
from _timing import interleaved, limit_threads  # noqa: E402
from bench_batchnorm import cpu_model  # noqa: E402

BATCH, TOKENS = 32, 20


def backward_block(layer, indices, grad, repeat, is_torch):
    """Seconds per backward (forward untimed) over ``repeat`` calls."""
    total = 0.0
    for _ in range(repeat):
        layer.weight.grad = None
        out = layer(indices)
        begin = time.perf_counter()
        out.backward(grad)
        total += time.perf_counter() - begin
    return total / repeat


def compare(rows, dim, rounds, repeat, rng):
    indices_np = rng.integers(0, rows, (BATCH, TOKENS))
    grad_np = rng.standard_normal((BATCH, TOKENS, dim)).astype(np.float32)
    ours, theirs = nn.Embedding(rows, dim), torch.nn.Embedding(rows, dim)
    theirs.weight.data = torch.from_numpy(ours.weight.detach().numpy().copy())
    ours_args = (ours, ag.Tensor(indices_np), ag.Tensor(grad_np), repeat, False)
    theirs_args = (theirs, torch.from_numpy(indices_np), torch.from_numpy(grad_np), repeat, True)
    backward_block(*ours_args)  # warm up, and check the gradients agree
    backward_block(*theirs_args)
    error = np.abs(ours.weight.grad.numpy() - theirs.weight.grad.numpy()).max()
    assert error < 1e-4, f"table gradients differ from PyTorch's by {error}"
    return interleaved(lambda: backward_block(*ours_args), lambda: backward_block(*theirs_args),
                       rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=(500, 50_000))
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=20, help="calls per timed block")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"CPU: {cpu_model()}; threads: {args.threads}; NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}")
    print(f"Embedding backward, batch {BATCH} x {TOKENS} tokens, dim {args.dim}, float32 "
          f"({args.rounds} rounds x {args.repeat} calls, medians):")
    results = {}
    for rows in args.rows:
        comparison = compare(rows, args.dim, args.rounds, args.repeat, rng)
        results[rows] = comparison
        low, high = comparison.ratio_range
        print(f"  {rows:>7,} rows: autograd-lite {comparison.ours_median * 1e6:8.1f} us   PyTorch "
              f"{comparison.theirs_median * 1e6:8.1f} us   ratio {comparison.ratio:.2f} "
              f"(per-round {low:.2f}-{high:.2f})")
    small, large = (results[rows] for rows in args.rows)
    print(f"  large/small table: autograd-lite {large.ours_median / small.ours_median:.2f}x, "
          f"PyTorch {large.theirs_median / small.theirs_median:.2f}x (1.0: independent of the "
          "table size)")


if __name__ == "__main__":
    main()
