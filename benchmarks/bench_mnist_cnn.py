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

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402

BATCH, LR = 64, 1e-3


def images_and_labels(data_dir):
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
    ours = nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(),
                         nn.Linear(64, 10))
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 3),
                            tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1600, 64),
                            tnn.ReLU(), tnn.Linear(64, 10))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def trainer(model, optimizer, loss_fn):
    def step(inputs, targets):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss
    return step


def seconds_per_step(step, batches, first, count):
    begin = time.perf_counter()
    for i in range(first, first + count):
        loss = step(*batches[i % len(batches)])
    return (time.perf_counter() - begin) / count, float(loss.item())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join("..", "shared", "datasets", "mnist"))
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/Numba and PyTorch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    try:
        import numba
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass

    images, labels, source = images_and_labels(args.data_dir)
    ag.manual_seed(0)
    ours, theirs = models()
    ours_step = trainer(ours, optim.Adam(ours.parameters(), lr=LR), nn.CrossEntropyLoss())
    theirs_step = trainer(theirs, torch.optim.Adam(theirs.parameters(), lr=LR), torch.nn.CrossEntropyLoss())
    starts = range(0, len(images) - BATCH + 1, BATCH)
    ours_batches = [(ag.Tensor(images[s:s + BATCH]), ag.Tensor(labels[s:s + BATCH])) for s in starts]
    theirs_batches = [(torch.from_numpy(images[s:s + BATCH]), torch.from_numpy(labels[s:s + BATCH]))
                      for s in starts]

    first_ours, first_theirs = ours_step(*ours_batches[0]).item(), theirs_step(*theirs_batches[0]).item()
    assert abs(first_ours - first_theirs) < 1e-4, (first_ours, first_theirs)
    seconds_per_step(ours_step, ours_batches, 1, 3)      # warm-up (Numba compilation, allocators)
    seconds_per_step(theirs_step, theirs_batches, 1, 3)
    ours_times, theirs_times, position = [], [], 4
    for _ in range(args.rounds):
        t, ours_loss = seconds_per_step(ours_step, ours_batches, position, args.steps)
        ours_times.append(t)
        t, theirs_loss = seconds_per_step(theirs_step, theirs_batches, position, args.steps)
        theirs_times.append(t)
        position += args.steps
    ours_median, theirs_median = statistics.median(ours_times), statistics.median(theirs_times)
    ratios = sorted(o / t for o, t in zip(ours_times, theirs_times))
    print(f"course CNN, batch {BATCH}, Adam lr={LR}, float32, {args.threads} thread(s), {source}; "
          f"{args.rounds} interleaved rounds of {args.steps} steps; medians")
    print(f"  autograd-lite {ours_median * 1e3:7.2f} ms/step {BATCH / ours_median:8,.0f} samples/s"
          f"   (loss after {position} steps: {ours_loss:.4f})")
    print(f"  PyTorch       {theirs_median * 1e3:7.2f} ms/step {BATCH / theirs_median:8,.0f} samples/s"
          f"   (loss after {position} steps: {theirs_loss:.4f})")
    print(f"step-time ratio autograd-lite / PyTorch: {ours_median / theirs_median:.2f} (per-round "
          f"{ratios[0]:.2f}..{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
