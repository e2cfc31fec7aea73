"""Embedding backward: does its time depend on the table size? autograd-lite against PyTorch.

One unit of work: look up a batch of 32 x 20 token indices in an ``nn.Embedding`` table of
``dim``=128 columns (forward, untimed), then the backward of a fixed output gradient into the
table's gradient (timed). Two cases, for tables of 1,000, 50,000 and 500,000 rows:

* ``.grad`` None before each backward (what ``zero_grad()`` does): a new dense table gradient must
  be made, in both frameworks, so the zero table's cost is in the backward;
* ``.grad`` already there (gradient accumulation, or ``zero_grad(set_to_none=False)``):
  autograd-lite scatter-adds the distinct rows used into it in place
  (``autograd_lite/sparse_grad.py``); PyTorch's dense embedding backward makes a dense table
  gradient and adds it.

The two frameworks run interleaved, with the same threads; the script prints the CPU, the medians,
the ratio autograd-lite / PyTorch for each table, and the largest/smallest table ratio of each
framework (1.0: independent of the table size).

Run from the repository root:
    python benchmarks/bench_embedding.py [--rows 1000 50000 500000] [--dim 128] [--rounds 7]
                                         [--repeat 5] [--threads 1]
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
from _timing import cpu_model, interleaved, limit_threads  # noqa: E402

BATCH, TOKENS = 32, 20
CASES = {"fresh": ".grad None before each backward",
         "existing": ".grad already there (accumulated into)"}


def backward_block(layer, indices, grad, repeat, case):
    """Seconds per backward (forward untimed) over ``repeat`` calls."""
    total = 0.0
    for _ in range(repeat):
        if case == "fresh":
            layer.weight.grad = None
        out = layer(indices)
        begin = time.perf_counter()
        out.backward(grad)
        total += time.perf_counter() - begin
    return total / repeat


def compare(rows, dim, case, rounds, repeat, rng):
    indices_np = rng.integers(0, rows, (BATCH, TOKENS))
    grad_np = rng.standard_normal((BATCH, TOKENS, dim)).astype(np.float32)
    ours, theirs = nn.Embedding(rows, dim), torch.nn.Embedding(rows, dim)
    theirs.weight.data = torch.from_numpy(ours.weight.detach().numpy().copy())
    ours_args = (ours, ag.Tensor(indices_np), ag.Tensor(grad_np), repeat, case)
    theirs_args = (theirs, torch.from_numpy(indices_np), torch.from_numpy(grad_np), repeat, case)
    backward_block(*ours_args)  # warm up, and check the gradients agree
    backward_block(*theirs_args)
    error = np.abs(ours.weight.grad.numpy() - theirs.weight.grad.numpy()).max()
    assert error < 1e-3, f"table gradients differ from PyTorch's by {error}"
    return interleaved(lambda: backward_block(*ours_args), lambda: backward_block(*theirs_args),
                       rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=(1_000, 50_000, 500_000))
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="calls per timed block")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="+", choices=tuple(CASES), default=tuple(CASES))
    args = parser.parse_args()
    limit_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"CPU: {cpu_model()}; threads: {args.threads}; NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}")
    print(f"Embedding backward, batch {BATCH} x {TOKENS} tokens, dim {args.dim}, float32 "
          f"({args.rounds} rounds x {args.repeat} calls, medians):")
    for case in args.cases:
        print(f" {CASES[case]}:")
        results = {}
        for rows in args.rows:
            comparison = compare(rows, args.dim, case, args.rounds, args.repeat, rng)
            results[rows] = comparison
            low, high = comparison.ratio_range
            print(f"  {rows:>7,} rows: autograd-lite {comparison.ours_median * 1e6:8.1f} us   "
                  f"PyTorch {comparison.theirs_median * 1e6:8.1f} us   "
                  f"ratio {comparison.ratio:.3g} (per-round {low:.3g}-{high:.3g})")
        small, large = results[min(args.rows)], results[max(args.rows)]
        print(f"  largest/smallest table: autograd-lite "
              f"{large.ours_median / small.ours_median:.2f}x, PyTorch "
              f"{large.theirs_median / small.theirs_median:.2f}x (1.0: independent of the table "
              "size)")


if __name__ == "__main__":
    main()
