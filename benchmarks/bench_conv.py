"""Conv2D speed: autograd-lite's conv2d (Numba kernels) against PyTorch, forward and forward+backward.

The default shape is the course CNN's second layer: x (64, 32, 13, 13), weight (64, 32, 3, 3), bias,
stride 1, no padding. One "forward+backward" is conv2d, then backward of a fixed output gradient into
the gradients of x, weight and bias. Also timed: autograd-lite with the NumPy reference kernels
(``kernels.set_backend('numpy')``: im2col + tensordot + col2im). The contenders run in interleaved
blocks separated by a short pause (idle thread pools spin for a while after their last call), with
the same number of threads (default: all cores) and the same malloc settings (one process); the
script prints medians and ratios to PyTorch (<= 1.0: at least as fast).

``--per-kernel`` also times the three array kernels alone (forward with bias, input gradient,
weight gradient with the bias gradient) against PyTorch's ``convolution`` and
``convolution_backward`` on the same arrays.

Run from the repository root:
    python benchmarks/bench_conv.py [--batch 64] [--in-channels 32] [--out-channels 64]
                                    [--size 13] [--kernel 3] [--stride 1] [--padding 0]
                                    [--rounds 9] [--threads 2] [--per-kernel]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import autograd_lite as ag  # noqa: E402
from autograd_lite import kernels  # noqa: E402
from autograd_lite.ops.conv import conv2d  # noqa: E402
from _timing import PAUSE, print_kernel_paths, print_machine, speed_probe  # noqa: E402



STRIDE, PADDING = 1, 0


def ours(x_np, w_np, b_np, g_np, backward):
    x = ag.Tensor(x_np, requires_grad=backward)
    w = ag.Tensor(w_np, requires_grad=backward)
    b = ag.Tensor(b_np, requires_grad=backward)
    out = conv2d(x, w, b, STRIDE, PADDING)
    if backward:
        out.backward(ag.Tensor(g_np))
    return out


def theirs(x_np, w_np, b_np, g_np, backward):
    x = torch.from_numpy(x_np).requires_grad_(backward)
    w = torch.from_numpy(w_np).requires_grad_(backward)
    b = torch.from_numpy(b_np).requires_grad_(backward)
    out = F.conv2d(x, w, b, STRIDE, PADDING)
    if backward:
        out.backward(torch.from_numpy(g_np))
    return out


def with_backend(name, fn):
    def run(*args):
        previous = kernels.get_backend()
        kernels.set_backend(name)
        try:
            return fn(*args)
        finally:
            kernels.set_backend(previous)
    return run


def median_times(contenders, args, rounds, reps):
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        speed_probe()
        for name, fn in contenders.items():
            fn(*args)
            for _ in range(reps):
                start = time.perf_counter()
                fn(*args)
                times[name].append(time.perf_counter() - start)
            time.sleep(PAUSE)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--in-channels", type=int, default=32)
    parser.add_argument("--out-channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=13)
    parser.add_argument("--kernel", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--padding", type=int, default=0)
    parser.add_argument("--threads", type=int, default=ag.get_num_threads())
    parser.add_argument("--per-kernel", action="store_true")
    args = parser.parse_args()
    global STRIDE, PADDING
    STRIDE, PADDING = args.stride, args.padding
    ag.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    kernels.set_compile_mode("eager")  # time the Numba kernels from the first call
    print_machine()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, args.in_channels, args.size, args.size), dtype=np.float32)
    w = rng.standard_normal((args.out_channels, args.in_channels, args.kernel, args.kernel),
                            dtype=np.float32) * 0.1
    b = rng.standard_normal(args.out_channels, dtype=np.float32)
    out_size = (args.size + 2 * args.padding - args.kernel) // args.stride + 1
    g = rng.standard_normal((args.batch, args.out_channels, out_size, out_size), dtype=np.float32)
    np.testing.assert_allclose(ours(x, w, b, g, False).detach().numpy(), theirs(x, w, b, g, False).detach(),
                               rtol=1e-3, atol=1e-3)
    contenders = {"autograd-lite (numba)": lambda *a: ours(*a),
                  "autograd-lite (numpy)": with_backend("numpy", ours),
                  "pytorch": theirs}
    print(f"# conv2d x {x.shape} weight {w.shape} float32, {args.threads} thread(s), medians of "
          f"{args.rounds} rounds x {args.reps}")
    print(f"{'':<24} {'forward ms':>11} {'ratio':>6} {'fwd+bwd ms':>11} {'ratio':>6}")
    forward = median_times(contenders, (x, w, b, g, False), args.rounds, args.reps)
    both = median_times(contenders, (x, w, b, g, True), args.rounds, args.reps)
    for name in contenders:
        print(f"{name:<24} {forward[name] * 1e3:11.2f} {forward[name] / forward['pytorch']:6.2f} "
              f"{both[name] * 1e3:11.2f} {both[name] / both['pytorch']:6.2f}")
    ratio = both["autograd-lite (numba)"] / both["pytorch"]
    print(f"forward+backward ratio autograd-lite / PyTorch: {ratio:.2f} -- goal <= 1.0: "
          f"{'met' if ratio <= 1.0 else 'not met'}")
    if args.per_kernel:
        per_kernel(x, w, b, g, args.rounds, args.reps)
    print_kernel_paths()


def per_kernel(x, w, b, g, rounds, reps):
    """The array kernels alone, each against PyTorch's ATen call for the same result."""
    stride, padding = (STRIDE, STRIDE), (PADDING, PADDING)
    tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
    aten = torch.ops.aten.convolution_backward
    pairs = {
        "forward (+ bias)": (
            lambda: kernels.conv2d_forward(x, w, stride, padding, b),
            lambda: torch.convolution(tx, tw, tb, stride, padding, (1, 1), False, (0, 0), 1)),
        "input gradient": (
            lambda: kernels.conv2d_input_grad(g, w, x.shape, stride, padding),
            lambda: aten(tg, tx, tw, [w.shape[0]], stride, padding, (1, 1), False, (0, 0), 1,
                         (True, False, False))),
        "weight + bias gradient": (
            lambda: (kernels.conv2d_weight_grad(x, g, w.shape, stride, padding),
                     kernels.conv2d_bias_grad(g)),
            lambda: aten(tg, tx, tw, [w.shape[0]], stride, padding, (1, 1), False, (0, 0), 1,
                         (False, True, True))),
    }
    contenders = {f"{label}|{who}": fn for label, fns in pairs.items()
                  for who, fn in zip(("ours", "pytorch"), fns)}
    times = median_times({k: (lambda f=f: f()) for k, f in contenders.items()}, (), rounds, reps)
    print(f"\n{'kernel alone':<24} {'ours ms':>11} {'pytorch ms':>11} {'ratio':>6}")
    for label in pairs:
        mine, theirs = times[f"{label}|ours"], times[f"{label}|pytorch"]
        print(f"{label:<24} {mine * 1e3:11.2f} {theirs * 1e3:11.2f} {mine / theirs:6.2f}")


if __name__ == "__main__":
    main()
