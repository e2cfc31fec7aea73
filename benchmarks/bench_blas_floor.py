"""The BLAS floor under the MLP step: NumPy's matrix products against PyTorch's, and what they leave.

The MLP 784-W-64-10 training step (``_timing.mlp_training``, batch B) makes eight matrix products:
per Linear layer the forward ``x @ W.T`` (the weight stored (out, in), as PyTorch stores it), the
weight gradient ``g.T @ x`` and, except for the first layer, the input gradient ``g @ W``; and its
SGD step passes once over every parameter and its gradient (p <- p - lr g). Any framework whose
products are NumPy's spends at least those eight products and that one pass on a step, so

    floor (NumPy's BLAS)    = (NumPy's eight products + the update) / PyTorch's whole step
    floor (PyTorch's BLAS)  = (PyTorch's eight products + the update) / PyTorch's whole step

are the lowest step-time ratios against PyTorch that a framework could reach with each BLAS, with
no other cost at all (no bias, ReLU, loss, nor gradient of them; no Python). Where a floor is above
the MLP goal of 0.85 (issue 15), no engine on that BLAS can meet it. The script times, in
interleaved rounds (``_timing``), the eight products with NumPy (the calls our ``Linear`` makes),
the same eight with PyTorch (``torch.mm`` on the same arrays), the update of the six parameters
(one pass each: BLAS's axpy, ``kernels.axpy``, and PyTorch's ``p.add_(g, alpha=-lr)``, which
splits large ones across its threads; the faster of the two counts), and PyTorch's whole training
step, for the widths of ``bench_scaling`` at batch 64 and the batches of ``bench_scaling`` at
width 128, at ``--threads``.

Run from the repository root:
    python benchmarks/bench_blas_floor.py [--threads 1] [--rounds 9]
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

from autograd_lite import kernels  # noqa: E402

from _timing import (PAUSE, StepTimer, limit_threads, mlp_training, print_machine,  # noqa: E402
                     speed_probe, training_step, warm_up_steps)

GOAL = 0.85
BLOCK = 0.05  # seconds a timed block lasts, about: a block's first step after the pause runs slow
CONFIGS = [(64, width) for width in (128, 256, 512, 1024, 2048)] + \
          [(batch, 128) for batch in (8, 256, 1024)]


def products(batch, width, rng):
    """The eight products of the step as (a, b) operand pairs, laid out as our Linear passes them
    to ``np.matmul`` (transposes are views of C-contiguous arrays)."""
    sizes = [(784, width), (width, 64), (64, 10)]
    pairs = []
    for layer, (fan_in, fan_out) in enumerate(sizes):
        x = rng.standard_normal((batch, fan_in), dtype=np.float32)
        weight = rng.standard_normal((fan_out, fan_in), dtype=np.float32)
        grad = rng.standard_normal((batch, fan_out), dtype=np.float32)
        pairs += [(x, weight.T), (grad.T, x)]  # forward, weight gradient
        if layer > 0:
            pairs.append((grad, weight))  # input gradient (the first layer's input needs none)
    return pairs


def update_pairs(width, rng):
    """(gradient, parameter) of the six parameters of the MLP 784-width-64-10."""
    shapes = [(width, 784), (width,), (64, width), (64,), (10, 64), (10,)]
    return [(rng.standard_normal(shape, dtype=np.float32),
             rng.standard_normal(shape, dtype=np.float32)) for shape in shapes]


def axpy_update(gradient, parameter):
    kernels.axpy(-1e-6, gradient, parameter)


def torch_update(gradient, parameter):
    parameter.add_(gradient, alpha=-1e-6)


def block(pairs, multiply, repeat):
    """Seconds per pass over the operand pairs (``multiply(a, b)`` each), ``repeat`` passes."""
    begin = time.perf_counter()
    for _ in range(repeat):
        for a, b in pairs:
            multiply(a, b)
    return (time.perf_counter() - begin) / repeat


def measure(batch, width, rounds, rng):
    pairs = products(batch, width, rng)
    torch_pairs = [(torch.from_numpy(a.T).T if not a.flags.c_contiguous else torch.from_numpy(a),
                    torch.from_numpy(b.T).T if not b.flags.c_contiguous else torch.from_numpy(b))
                   for a, b in pairs]
    for (a, b), (ta, tb) in zip(pairs, torch_pairs):  # the same products
        assert np.allclose(np.matmul(a, b), torch.mm(ta, tb).numpy(), rtol=1e-3, atol=1e-2)
    _, theirs = mlp_training(width, lr=0.05)
    x = torch.from_numpy(rng.random((batch, 784), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch))
    step = StepTimer(training_step(*theirs), [(x, y)])
    updates = update_pairs(width, rng)
    torch_updates = [(torch.from_numpy(g), torch.from_numpy(p.copy())) for g, p in updates]
    step.run(warm_up_steps())  # (first calls: allocations, lazy initialisation)
    passes = max(10, int(BLOCK / block(pairs, np.matmul, 10)))
    steps = max(10, int(BLOCK / step.run(10)))
    numpy_times, torch_times, axpy_times, add_times, step_times = [], [], [], [], []
    for _ in range(rounds):
        speed_probe()
        time.sleep(PAUSE)
        numpy_times.append(block(pairs, np.matmul, passes))
        time.sleep(PAUSE)
        torch_times.append(block(torch_pairs, torch.mm, passes))
        time.sleep(PAUSE)
        axpy_times.append(block(updates, axpy_update, passes))
        time.sleep(PAUSE)
        add_times.append(block(torch_updates, torch_update, passes))
        time.sleep(PAUSE)
        step_times.append(step.run(steps))
    numpy_time, torch_time, axpy_time, add_time, step_time = (
        statistics.median(t) for t in (numpy_times, torch_times, axpy_times, add_times, step_times))
    return numpy_time, torch_time, min(axpy_time, add_time), step_time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved timing rounds")
    args = parser.parse_args()
    limit_threads(args.threads)
    print_machine()
    print(f"# MLP 784-W-64-10 step's eight products and SGD update, float32, {args.threads} "
          f"thread(s), medians of {args.rounds} interleaved rounds; floors: (products + update) / "
          "PyTorch's whole step")
    print(f"{'batch':>5} {'width':>5} {'numpy us':>9} {'torch us':>9} {'numpy/torch':>11} "
          f"{'update us':>9} {'torch step us':>13} {'floor numpy':>11} {'floor torch':>11}")
    rng = np.random.default_rng(0)
    for batch, width in CONFIGS:
        ours, theirs, update_time, step = measure(batch, width, args.rounds, rng)
        floor = (ours + update_time) / step
        print(f"{batch:5d} {width:5d} {ours * 1e6:9.1f} {theirs * 1e6:9.1f} {ours / theirs:11.2f} "
              f"{update_time * 1e6:9.1f} {step * 1e6:13.1f} {floor:11.2f} "
              f"{(theirs + update_time) / step:11.2f}"
              + ("" if floor <= GOAL else f"   floor above the goal {GOAL}"), flush=True)


if __name__ == "__main__":
    main()
