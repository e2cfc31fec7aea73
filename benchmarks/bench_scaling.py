"""How step time grows with batch size and width: autograd-lite against PyTorch in the same run.

Training steps (zero_grad, forward, cross-entropy, backward, optimizer step; float32, the same
initial weights in both frameworks; real MNIST test images when ``--data-dir`` holds them, as in
``bench_mlp`` and ``bench_cnn``, else synthetic data, which the first line says) of
* the MLP 784-128-64-10 (SGD) at batch 1, 8, 64, 256, 1024,
* the course CNN (Conv 32 - ReLU - pool - Conv 64 - ReLU - pool - Dense 64 - Dense 10, Adam) at the
  same batch sizes,
* the MLP 784-W-64-10 at batch 64 for widths W = 128, 256, 512, 1024, 2048.
Each configuration runs in interleaved rounds (a block of ours, a block of PyTorch's, and for the
MLPs a block of the same step in NumPy with the backward written by hand, ``_timing.numpy_parts``:
the same products on NumPy's BLAS with no framework around them); the script prints medians of
wall-clock time and of process CPU time (all threads; with other jobs on the cores the steadier
measure of what a step costs), samples/s, the ratios autograd-lite / PyTorch and NumPy by hand /
PyTorch (where the products dominate the step, that ratio is what this machine's BLAS allows
against PyTorch's: a goal below it cannot be met by running the same products) as a table, and
writes
``scaling.png`` (step time and samples/s against batch size, log axes) and ``scaling.csv`` to
``--out``. Goals (issue 15): from batch 8 up the ratios of ``bench_mlp``/``bench_cnn`` (MLP <= 0.85
on one thread, CNN <= 0.7); at batch 1 no worse than 1.0.

Run from the repository root:
    python benchmarks/bench_scaling.py [--out scaling] [--threads 1] [--rounds 5]
                                       [--data-dir ../shared/datasets/mnist]

(Until session 12 the data were always synthetic. Then the process had freed no large block before
the CNN rows, glibc kept handing the step's freed memory back to the OS, and PyTorch's CNN step took
3,500-4,600 minor page faults, ours 31-1,470: PyTorch's step took 13.5 ms at batch 64 on 2 threads
against about 10 in ``bench_cnn``, which loads MNIST first, so those CNN ratios flattered us;
measured on the Intel Xeon "Intel(R) Xeon(R) Processor", Sapphire Rapids class, 2 vCPUs.)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from _timing import (MNIST_DIR, StepTimer, interleaved_steps, limit_threads,  # noqa: E402
                     load_images, mlp_arrays, mlp_training, numpy_step, print_kernel_paths,
                     print_machine, training_step, warm_up_steps)

BATCHES = (1, 8, 64, 256, 1024)
WIDTHS = (128, 256, 512, 1024, 2048)


def cnn(framework):
    layers = framework.nn if framework is torch else nn
    conv = layers.Conv2d if framework is torch else nn.Conv2D
    pool = layers.MaxPool2d if framework is torch else nn.MaxPool2D
    return layers.Sequential(conv(1, 32, 3), layers.ReLU(), pool(2), conv(32, 64, 3),
                             layers.ReLU(), pool(2), layers.Flatten(), layers.Linear(1600, 64),
                             layers.ReLU(), layers.Linear(64, 10))


def compare(kind, batch, width, rounds, images, labels):
    """(ours, theirs, ours_cpu, theirs_cpu, by_hand): median wall-clock and process-CPU seconds per
    step, and for the MLP NumPy by hand's median wall-clock seconds (None for the CNN). The MLP
    step is ``_timing.mlp_step_timers``' (the one bench_mlp.py times); 4 batches of ``images``
    (N, 1, 28, 28), taken in turn from the start and wrapping around."""
    shape = (batch, 784) if kind == "mlp" else (batch, 1, 28, 28)
    rows = [np.arange(i * batch, (i + 1) * batch) % len(images) for i in range(4)]
    data = [(np.ascontiguousarray(images[r].reshape(shape)), labels[r]) for r in rows]
    ours_data = [(ag.Tensor(x), y) for x, y in data]
    theirs_data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
    by_hand = None
    if kind == "mlp":
        ours_parts, theirs_parts = mlp_training(width=width, lr=0.05)  # as mlp_step_timers
        ours = StepTimer(training_step(*ours_parts), ours_data)
        theirs = StepTimer(training_step(*theirs_parts), theirs_data)
        by_hand = StepTimer(numpy_step(*mlp_arrays(theirs_parts[0]), lr=0.05), data)
    else:
        theirs_model, ours_model = cnn(torch), cnn(ag)
        ours_model.load_state_dict({k: v.detach().numpy()
                                    for k, v in theirs_model.state_dict().items()})
        ours = StepTimer(training_step(ours_model, optim.Adam(ours_model.parameters(), lr=1e-3),
                                       nn.CrossEntropyLoss()), ours_data)
        theirs = StepTimer(training_step(theirs_model,
                                         torch.optim.Adam(theirs_model.parameters(), lr=1e-3),
                                         torch.nn.CrossEntropyLoss()), theirs_data)
    steps = max(2, min(50, 4096 // (batch * (1 if kind == "mlp" else 16))))
    for timer in (ours, theirs) if by_hand is None else (ours, theirs, by_hand):
        timer.run(max(steps, warm_up_steps()))  # warm-up: a block of each, or more
    if by_hand is None:
        wall, cpu = interleaved_steps(ours, theirs, rounds, steps)
        by_hand_median = None
    else:
        wall, cpu, by_hand_seconds = interleaved_steps(ours, theirs, rounds, steps, also=by_hand)
        by_hand_median = statistics.median(by_hand_seconds)
    return wall.ours_median, wall.theirs_median, cpu.ours_median, cpu.theirs_median, by_hand_median


def plot(rows, out, clock):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (time_axes, rate_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, style in (("mlp", "-"), ("cnn", "--")):
        chosen = [r for r in rows if r[0] == kind and (kind == "cnn" or r[2] == 128)]
        batches = [r[1] for r in chosen]
        for index, (name, color) in enumerate((("autograd-lite", "C0"), ("PyTorch", "C1"))):
            seconds = [r[3 + index + (2 if clock == "cpu" else 0)] for r in chosen]
            label = f"{kind.upper()} {name}"
            time_axes.plot(batches, [s * 1e3 for s in seconds], style, color=color, marker="o",
                           label=label)
            rate_axes.plot(batches, [b / s for b, s in zip(batches, seconds)], style, color=color,
                           marker="o", label=label)
    for axes, ylabel in ((time_axes, f"ms per training step ({clock} time)"),
                         (rate_axes, f"samples / s ({clock} time)")):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("batch size")
        axes.set_ylabel(ylabel)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("autograd-lite vs PyTorch: training step against batch size")
    figure.tight_layout()
    path = os.path.join(out, "scaling.png")
    figure.savefig(path, dpi=110)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="scaling", help="folder for scaling.png and scaling.csv")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--widths", type=int, nargs="*", default=list(WIDTHS))
    parser.add_argument("--data-dir", default=MNIST_DIR, help="MNIST's IDX files (t10k)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="what the plot shows: wall-clock or process CPU time per step (on a "
                             "loaded machine CPU time is the steadier measure of what a step costs)")
    args = parser.parse_args()
    from autograd_lite import kernels
    kernels.set_compile_mode("eager")
    limit_threads(args.threads)
    print_machine()
    images, labels, source = load_images(args.data_dir)
    print(f"# {args.threads} thread(s), medians of {args.rounds} interleaved rounds; {source}")
    print(f"{'model':<18} {'batch':>6} {'ours ms':>9} {'torch ms':>9} {'ours smp/s':>11} "
          f"{'ratio':>6} {'ours cpu ms':>12} {'torch cpu ms':>13} {'cpu ratio':>10} "
          f"{'numpy ms':>9} {'numpy ratio':>12}")
    rows = []
    configurations = ([("mlp", b, 128) for b in args.batches] +
                      [("cnn", b, 0) for b in args.batches] +
                      [("mlp", 64, w) for w in args.widths if w != 128])
    for kind, batch, width in configurations:
        ours, theirs, ours_cpu, theirs_cpu, by_hand = compare(kind, batch, width, args.rounds,
                                                              images, labels)
        rows.append((kind, batch, width, ours, theirs, ours_cpu, theirs_cpu, by_hand))
        name = f"MLP 784-{width}-64-10" if kind == "mlp" else "course CNN"
        hand_cells = (f"{'-':>9} {'-':>12}" if by_hand is None else
                       f"{by_hand * 1e3:9.3f} {by_hand / theirs:12.2f}")
        print(f"{name:<18} {batch:6d} {ours * 1e3:9.3f} {theirs * 1e3:9.3f} {batch / ours:11,.0f} "
              f"{ours / theirs:6.2f} {ours_cpu * 1e3:12.3f} {theirs_cpu * 1e3:13.3f} "
              f"{ours_cpu / theirs_cpu:10.2f} {hand_cells}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scaling.csv"), "w") as table:
        table.write("model,batch,width,ours_s,pytorch_s,ratio,ours_cpu_s,pytorch_cpu_s,cpu_ratio,"
                    "numpy_s,numpy_ratio\n")
        for kind, batch, width, ours, theirs, ours_cpu, theirs_cpu, by_hand in rows:
            hand_cells = "," if by_hand is None else f"{by_hand:.6g},{by_hand / theirs:.4f}"
            table.write(f"{kind},{batch},{width},{ours:.6g},{theirs:.6g},{ours / theirs:.4f},"
                        f"{ours_cpu:.6g},{theirs_cpu:.6g},{ours_cpu / theirs_cpu:.4f},"
                        f"{hand_cells}\n")
    print(f"# plot: {plot(rows, args.out, args.clock)}")
    print_kernel_paths()


if __name__ == "__main__":
    main()
