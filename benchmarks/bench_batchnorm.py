"""BatchNorm2d speed: autograd-lite against PyTorch, forward + backward in training mode.

One unit of work: a BatchNorm2d(32) in training mode (batch statistics, running-statistics update)
on x of shape (64, 32, 26, 26) float32, then backward of a fixed output gradient into the gradients
of x, weight and bias (the parameters' .grad reset to None each time, as ``zero_grad`` does). The two
frameworks run in interleaved blocks with the same number of threads; the script prints the CPU,
the median time per call of each, their ratio (autograd-lite / PyTorch) and the range of the
per-round ratios. A correctness check against PyTorch (same input, same gradient) runs first.

Run from the repository root:
    python benchmarks/bench_batchnorm.py [--shape 64 32 26 26] [--rounds 15] [--repeat 20]
                                         [--threads 1]
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


def block(step, repeat):
    """Seconds per call of ``step`` over ``repeat`` calls."""
    begin = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - begin) / repeat


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=(64, 32, 26, 26))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=20, help="calls per timed block")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.threads)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(args.shape).astype(np.float32)
    g_np = rng.standard_normal(args.shape).astype(np.float32)
    channels = args.shape[1]

    ours_layer, theirs_layer = nn.BatchNorm2d(channels), torch.nn.BatchNorm2d(channels)
    x_ours, g_ours = ag.Tensor(x_np, requires_grad=True), ag.Tensor(g_np)
    x_theirs, g_theirs = torch.from_numpy(x_np).requires_grad_(True), torch.from_numpy(g_np)

    def step_ours():
        x_ours.grad = ours_layer.weight.grad = ours_layer.bias.grad = None
        ours_layer(x_ours).backward(g_ours)

    def step_theirs():
        x_theirs.grad = theirs_layer.weight.grad = theirs_layer.bias.grad = None
        theirs_layer(x_theirs).backward(g_theirs)

    step_ours()
    step_theirs()
    error = np.abs(x_ours.grad.numpy() - x_theirs.grad.numpy()).max()
    assert error < 1e-4, f"input gradients differ from PyTorch's by {error}"
    for _ in range(3):  # warm up
        step_ours()
        step_theirs()
    comparison = interleaved(lambda: block(step_ours, args.repeat),
                             lambda: block(step_theirs, args.repeat), args.rounds)
    low, high = comparison.ratio_range
    print(f"CPU: {cpu_model()}; threads: {args.threads}; NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}")
    print(f"BatchNorm2d({channels}) training forward+backward on {tuple(args.shape)} float32, "
          f"{args.rounds} rounds x {args.repeat} calls (medians):")
    print(f"  autograd-lite {comparison.ours_median * 1e3:7.3f} ms/call")
    print(f"  PyTorch       {comparison.theirs_median * 1e3:7.3f} ms/call")
    print(f"  ratio autograd-lite / PyTorch: {comparison.ratio:.2f} (per-round range "
          f"{low:.2f}-{high:.2f}; goal <= 1.5)")


if __name__ == "__main__":
    main()
