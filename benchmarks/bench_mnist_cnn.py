"""Training speed of the course CNN (Conv 32 3x3, max-pool, Conv 64 3x3, max-pool, Dense 64,
Dense 10; Adam lr 1e-3, cross-entropy, batch 64, float32): autograd-lite against PyTorch in one run.

Both models start from the same weights (copied by name) and see the same batches: real MNIST test
images when ``--data-dir`` holds them, else synthetic images (said on the first line). The first
training step's losses are checked to agree. Steps (zero_grad, forward, loss, backward, Adam step)
are then timed in interleaved blocks, one framework after the other, so both see the same machine
load; the script prints the median time per step, samples/s, and the ratio autograd-lite / PyTorch
(<= 1.0: at least as fast). Both use the same number of threads (BLAS/Numba and PyTorch; default 1).

Run from the repository root:
    python benchmarks/bench_mnist_cnn.py [--data-dir ../shared/datasets/mnist] [--rounds 7]
                                         [--steps 10] [--threads 1]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from _timing import (StepTimer, batches, first_step_and_warm_up, interleaved,  # noqa: E402
                     limit_threads, print_step_times, training_arguments, training_step)

BATCH, LR = 64, 1e-3


def images_and_labels(data_dir):
    """(images (N, 1, 28, 28) float32 in [0, 1], labels int64, where they came from)."""
    try:
        images, labels = ag.data.load_mnist(data_dir, "t10k")
        source = f"MNIST t10k from {data_dir}"
    except (FileNotFoundError, OSError) as error:
        print(f"note: MNIST not found in {data_dir!r} ({error}); timing on synthetic images")
        rng = np.random.default_rng(0)
        images, labels = rng.integers(0, 256, (2048, 28, 28)), rng.integers(0, 10, 2048)
        source = "synthetic images"
    return (images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64), source


def models():
    """The course CNN in both frameworks, PyTorch's holding a copy of our initial weights."""
    ours = nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(),
                         nn.Linear(64, 10))
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 3),
                            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1600, 64),
                            tnn.ReLU(), tnn.Linear(64, 10))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def main():
    args = training_arguments(__doc__.splitlines()[0], rounds=7, steps=10)
    limit_threads(args.threads)
    images, labels, source = images_and_labels(args.data_dir)
    ag.manual_seed(0)
    ours_model, theirs_model = models()
    ours = StepTimer(training_step(ours_model, optim.Adam(ours_model.parameters(), lr=LR),
                                   nn.CrossEntropyLoss()),
                     batches(images, labels, BATCH, ag.Tensor, ag.Tensor))
    theirs = StepTimer(training_step(theirs_model, torch.optim.Adam(theirs_model.parameters(), lr=LR),
                                     torch.nn.CrossEntropyLoss()),
                       batches(images, labels, BATCH, torch.from_numpy, torch.from_numpy))
    first_step_and_warm_up(ours, theirs, 3)
    timing = interleaved(lambda: ours.run(args.steps), lambda: theirs.run(args.steps), args.rounds)
    print(f"course CNN, batch {BATCH}, Adam lr={LR}, float32, {args.threads} thread(s), {source}; "
          f"{args.rounds} interleaved rounds of {args.steps} steps; medians")
    print_step_times(timing, ours, theirs, BATCH, unit="ms")
    low, high = timing.ratio_range
    print(f"step-time ratio autograd-lite / PyTorch: {timing.ratio:.2f} (per-round "
          f"{low:.2f}..{high:.2f})")


if __name__ == "__main__":
    main()
