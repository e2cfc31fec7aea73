"""Training speed: an MLP 784-128-64-10 (ReLU, cross-entropy, plain SGD, batch 64, float32),
autograd-lite's nn/optim against PyTorch's torch.nn/torch.optim in the same run.

Both models start from the same weights and see the same batches (real MNIST test images when
``--data-dir`` holds them, else synthetic data, which is said on the first line). Steps are timed
in interleaved rounds (a block of steps of one framework, then of the other), so both see the same
machine load; the script prints each framework's median time per training step (zero_grad, forward,
loss, backward, optimizer step), samples/s, and the ratio autograd-lite / PyTorch (<= 1.0 means at
least as fast). Both run with the same number of BLAS/PyTorch threads (default 1).

Run from the repository root:
    python benchmarks/bench_mlp.py [--data-dir ../shared/datasets/mnist] [--rounds 15]
                                   [--steps 40] [--threads 1]
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

BATCH, LR = 64, 0.05


def load_data(data_dir):
    """(images (N, 784) float32 in [0, 1], labels int64) and a description of where they came from."""
    try:
        images, labels = ag.data.load_mnist(data_dir, "t10k")
        return (images.reshape(len(images), -1).astype(np.float32) / 255.0,
                labels.astype(np.int64), f"MNIST t10k from {data_dir}")
    except (FileNotFoundError, OSError) as error:
        rng = np.random.default_rng(0)
        print(f"note: MNIST not found in {data_dir!r} ({error}); using synthetic data")
        return (rng.random((10000, 784), dtype=np.float32), rng.integers(0, 10, 10000),
                "synthetic data")


def build_models():
    ours = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                 torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def make_step(model, optimizer, criterion):
    def step(x, y):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def batches(images, labels, wrap_x, wrap_y):
    order = np.arange(len(images))
    out = []
    for start in range(0, len(order) - BATCH + 1, BATCH):
        index = order[start:start + BATCH]
        out.append((wrap_x(images[index]), wrap_y(labels[index])))
    return out


def timed_block(step, data, start, count):
    begin = time.perf_counter()
    for i in range(start, start + count):
        loss = step(*data[i % len(data)])
    return (time.perf_counter() - begin) / count, loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join("..", "shared", "datasets", "mnist"))
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=40, help="training steps per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)

    images, labels, source = load_data(args.data_dir)
    ours, theirs = build_models()
    ours_step = make_step(ours, optim.SGD(ours.parameters(), lr=LR), nn.CrossEntropyLoss())
    theirs_step = make_step(theirs, torch.optim.SGD(theirs.parameters(), lr=LR),
                            torch.nn.CrossEntropyLoss())
    ours_data = batches(images, labels, ag.Tensor, lambda y: y)
    theirs_data = batches(images, labels, torch.from_numpy, torch.from_numpy)

    # same start, same batches: the first losses agree (float32, different summation orders)
    first_ours = ours_step(*ours_data[0]).item()
    first_theirs = theirs_step(*theirs_data[0]).item()
    assert abs(first_ours - first_theirs) < 1e-4, (first_ours, first_theirs)
    timed_block(ours_step, ours_data, 1, args.steps)      # warm-up
    timed_block(theirs_step, theirs_data, 1, args.steps)

    ours_times, theirs_times, position = [], [], 1 + args.steps
    for _ in range(args.rounds):
        t, loss_ours = timed_block(ours_step, ours_data, position, args.steps)
        ours_times.append(t)
        t, loss_theirs = timed_block(theirs_step, theirs_data, position, args.steps)
        theirs_times.append(t)
        position += args.steps
    ours_median, theirs_median = statistics.median(ours_times), statistics.median(theirs_times)
    ratios = sorted(o / t for o, t in zip(ours_times, theirs_times))
    print(f"MLP 784-128-64-10, batch {BATCH}, SGD lr={LR}, cross-entropy, float32, "
          f"{args.threads} thread(s), {source}; {args.rounds} interleaved rounds of "
          f"{args.steps} steps; medians")
    print(f"  autograd-lite {ours_median * 1e6:7.1f} us/step  {BATCH / ours_median:9,.0f} samples/s"
          f"   (loss after {position} steps: {loss_ours.item():.4f})")
    print(f"  PyTorch       {theirs_median * 1e6:7.1f} us/step  {BATCH / theirs_median:9,.0f} samples/s"
          f"   (loss after {position} steps: {loss_theirs.item():.4f})")
    ratio = ours_median / theirs_median
    print(f"step-time ratio autograd-lite / PyTorch: {ratio:.2f} (per-round {ratios[0]:.2f}.."
          f"{ratios[-1]:.2f}) -- goal <= 1.0: {'met' if ratio <= 1.0 else 'not met'}")


if __name__ == "__main__":
    main()
