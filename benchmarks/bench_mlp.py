"""Training speed: an MLP 784-128-64-10 (ReLU, cross-entropy, plain SGD, batch 64, float32),
autograd-lite's nn/optim against PyTorch's torch.nn/torch.optim in the same run.

Both models start from the same weights and see the same batches (real MNIST test images when
``--data-dir`` holds them, else synthetic data, which is said on the first line). Steps are timed
in interleaved rounds (a block of steps of one framework, then of the other), so both see the same
machine load; the script prints each framework's median wall-clock and process-CPU time per
training step (zero_grad, forward, loss, backward, optimizer step), samples/s, and both ratios
autograd-lite / PyTorch (goal on one thread: <= 0.85). Both run with the same number of threads
(BLAS, Numba and PyTorch; default 1). The step is ``_timing.mlp_step_timers``, the one
``bench_overhead.py`` and ``bench_scaling.py`` time too; ``bench_mlp_parts.py`` splits it into
zero_grad, forward, backward and optimizer step, with NumPy written by hand as the floor.

Run from the repository root:
    python benchmarks/bench_mlp.py [--data-dir ../shared/datasets/mnist] [--rounds 15]
                                   [--steps 40] [--threads 1]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
from _timing import (batches, first_step_and_warm_up, interleaved_steps, limit_threads,  # noqa: E402
                     mlp_step_timers, print_kernel_paths, print_machine, print_step_times,
                     load_images, ratio_line, training_arguments)

BATCH, LR, GOAL = 64, 0.05, 0.85


def main():
    args = training_arguments(__doc__.splitlines()[0], rounds=15, steps=40)
    limit_threads(args.threads)
    print_machine()
    images, labels, source = load_images(args.data_dir, synthetic=10000)
    images = images.reshape(len(images), -1)  # (N, 784)
    ours, theirs = mlp_step_timers(batches(images, labels, BATCH, ag.Tensor, lambda y: y),
                                   batches(images, labels, BATCH, torch.from_numpy,
                                           torch.from_numpy), lr=LR)
    first_step_and_warm_up(ours, theirs, args.steps)

    wall, cpu = interleaved_steps(ours, theirs, args.rounds, args.steps)
    print(f"MLP 784-128-64-10, batch {BATCH}, SGD lr={LR}, cross-entropy, float32, "
          f"{args.threads} thread(s), {source}; {args.rounds} interleaved rounds of "
          f"{args.steps} steps; medians")
    print_step_times(wall, ours, theirs, BATCH, unit="us", cpu=cpu)
    print(ratio_line("step-time ratio autograd-lite / PyTorch", wall, cpu)
          + f" -- goal <= {GOAL}: {'met' if max(wall.ratio, cpu.ratio) <= GOAL else 'not met'}")
    print_kernel_paths()


if __name__ == "__main__":
    main()
