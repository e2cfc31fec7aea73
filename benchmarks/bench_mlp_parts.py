"""Where an MLP training step goes: zero_grad, forward (model + loss), backward and optimizer step,
timed apart for autograd-lite, PyTorch and NumPy with the backward written by hand (the floor: the
same products and elementwise passes with no framework around them).

The model, data and update are those of ``bench_mlp.py`` (``_timing.mlp_training``: MLP
784-128-64-10, batch 64, float32, plain SGD lr=0.05, cross-entropy; synthetic data, 4 batches
cycled), all three starting from the same weights. The three contenders run in interleaved blocks
of ``--steps`` steps; each part is timed with the wall clock and with process CPU time, and the
script prints their medians over ``--rounds`` rounds, the ratios autograd-lite / PyTorch and
NumPy / PyTorch, and the minor page faults per step (fresh memory the step asks the OS for).

Run from the repository root:
    python benchmarks/bench_mlp_parts.py [--rounds 15] [--steps 40] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
from _timing import (limit_threads, mlp_arrays, mlp_training, numpy_parts, print_machine,  # noqa: E402
                     speed_probe)

BATCH, LR = 64, 0.05
PARTS = ("zero_grad", "forward", "backward", "step")


def framework_parts(model, optimizer, loss_fn):
    """The four parts of ``_timing.training_step`` as separate calls."""
    held = {}

    def forward(inputs, targets):
        held["loss"] = loss_fn(model(inputs), targets)

    return optimizer.zero_grad, forward, lambda: held["loss"].backward(), optimizer.step


def timed_block(parts, batches, steps, record):
    """Run ``steps`` steps part by part; append each part's wall/CPU seconds and faults per step."""
    totals = {part: [0.0, 0.0, 0] for part in PARTS}
    clock, cpu_clock, usage = time.perf_counter, time.process_time, resource.getrusage
    for i in range(steps):
        inputs, targets = batches[i % len(batches)]
        for part, call, args in zip(PARTS, parts, ((), (inputs, targets), (), ())):
            faults, wall, cpu = usage(resource.RUSAGE_SELF).ru_minflt, clock(), cpu_clock()
            call(*args)
            total = totals[part]
            total[0] += clock() - wall
            total[1] += cpu_clock() - cpu
            total[2] += usage(resource.RUSAGE_SELF).ru_minflt - faults
    for part, (wall, cpu, faults) in totals.items():
        record[part].append((wall / steps, cpu / steps, faults / steps))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=40, help="steps per block")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    args = parser.parse_args()
    limit_threads(args.threads)
    print_machine()
    rng = np.random.default_rng(0)
    data = [(rng.random((BATCH, 784), dtype=np.float32), rng.integers(0, 10, BATCH))
            for _ in range(4)]
    ours, theirs = mlp_training(lr=LR)
    weights, biases = mlp_arrays(theirs[0])
    contenders = {"autograd-lite": (framework_parts(*ours), [(ag.Tensor(x), y) for x, y in data]),
                  "PyTorch": (framework_parts(*theirs),
                              [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]),
                  "NumPy by hand": (numpy_parts(weights, biases, LR), data)}
    records = {name: {part: [] for part in PARTS} for name in contenders}
    for name, (parts, batches) in contenders.items():  # warm-up
        timed_block(parts, batches, args.steps, {part: [] for part in PARTS})
    for _ in range(args.rounds):
        speed_probe()
        for name, (parts, batches) in contenders.items():
            timed_block(parts, batches, args.steps, records[name])

    def median(name, part, index):
        parts = PARTS if part == "total" else (part,)
        per_round = [sum(records[name][p][r][index] for p in parts) for r in range(args.rounds)]
        return statistics.median(per_round)

    print(f"MLP 784-128-64-10, batch {BATCH}, SGD lr={LR}, cross-entropy, float32, "
          f"{args.threads} thread(s); {args.rounds} interleaved rounds of {args.steps} steps; "
          "medians in us per step, wall / cpu")
    names = list(contenders)
    print(f"{'part':<10}" + "".join(f"{name:>22}" for name in names)
          + f"{'ours/torch cpu':>16}{'numpy/torch cpu':>17}")
    for part in PARTS + ("total",):
        cells = "".join(f"{median(n, part, 0) * 1e6:11.1f} /{median(n, part, 1) * 1e6:8.1f}"
                        for n in names)
        torch_cpu = median("PyTorch", part, 1)
        print(f"{part:<10}{cells}{median(names[0], part, 1) / torch_cpu:16.2f}"
              f"{median(names[2], part, 1) / torch_cpu:17.2f}")
    for index, clock in ((0, "wall"), (1, "cpu")):
        ratios = sorted(sum(records[names[0]][p][r][index] for p in PARTS)
                        / sum(records["PyTorch"][p][r][index] for p in PARTS)
                        for r in range(args.rounds))
        print(f"step ratio autograd-lite / PyTorch ({clock}): "
              f"{median(names[0], 'total', index) / median('PyTorch', 'total', index):.2f} "
              f"(per-round {ratios[0]:.2f}..{ratios[-1]:.2f}); NumPy by hand / PyTorch: "
              f"{median(names[2], 'total', index) / median('PyTorch', 'total', index):.2f}")
    print("minor page faults per step: " + "; ".join(
        f"{n} {median(n, 'total', 2):.1f}" for n in names))


if __name__ == "__main__":
    main()
