"""What the benchmarks share: equal thread counts, a timed training step, interleaved rounds.

Every benchmark times autograd-lite and PyTorch in one process, alternating a block of work of one
framework with a block of the other (so both see the same machine load), and reports the median
time of each and their ratio autograd-lite / PyTorch (below 1.0: autograd-lite is faster).

Imported by the scripts next to it (``python benchmarks/bench_x.py`` puts this folder on sys.path).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass

MNIST_DIR = os.path.join("..", "shared", "datasets", "mnist")  # relative to the repository root


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what ``platform`` knows) and core count."""
    name = None
    try:
        with open("/proc/cpuinfo") as info:
            name = next((line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name")), None)
    except OSError:
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"


def print_machine():
    """First line of every benchmark: where the figures were measured."""
    print(f"# CPU: {cpu_model()}")


def print_kernel_paths():
    """Which implementation served each dispatched op (Numba kernel or NumPy reference), counted
    over the whole run: a figure says which kernels produced it."""
    from autograd_lite import kernels
    used = kernels.paths()
    if not used:
        print("# kernel paths: none dispatched (matrix products on BLAS)")
        return
    parts = [f"{op} " + "/".join(f"{path} {count}" for path, count in counts.items() if count)
             for op, counts in sorted(used.items())]
    print("# kernel paths (calls): " + "; ".join(parts))


def training_arguments(description, rounds, steps):
    """The options every training benchmark takes, parsed (``rounds`` and ``steps``: defaults)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", default=MNIST_DIR, help="MNIST's IDX files (t10k)")
    parser.add_argument("--rounds", type=int, default=rounds, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=steps, help="training steps per round")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS, our kernels' and PyTorch's threads")
    return parser.parse_args()


def limit_threads(count):
    """Give both frameworks ``count`` threads: PyTorch's pool, BLAS (threadpoolctl) and our
    kernels' pool (``ag.set_num_threads``: conv, pooling, ReLU, GEMM)."""
    import torch
    from threadpoolctl import threadpool_limits

    import autograd_lite as ag
    torch.set_num_threads(count)
    threadpool_limits(count)
    ag.set_num_threads(count)


def training_step(model, optimizer, loss_fn):
    """``step(inputs, targets) -> loss``: zero_grad, forward, loss, backward, optimizer step (the
    same code drives an autograd-lite and a PyTorch model)."""
    def step(inputs, targets):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss
    return step


def batches(images, labels, size, wrap_inputs, wrap_targets):
    """Consecutive batches of ``size`` samples (a last partial one dropped), each wrapped as the
    framework's tensors: [(wrap_inputs(images[i:i+size]), wrap_targets(labels[i:i+size])), ...]."""
    return [(wrap_inputs(images[start:start + size]), wrap_targets(labels[start:start + size]))
            for start in range(0, len(images) - size + 1, size)]


class StepTimer:
    """Runs a training step over a fixed list of (inputs, targets) batches, cycling through them,
    and times blocks of steps. ``steps_done`` counts every step run; ``loss`` is the last one's."""

    def __init__(self, step, batches):
        self.step, self.batches = step, batches
        self.steps_done, self.loss = 0, None

    def run(self, count):
        """Run the next ``count`` steps; return the seconds per step."""
        begin = time.perf_counter()
        for i in range(self.steps_done, self.steps_done + count):
            loss = self.step(*self.batches[i % len(self.batches)])
        seconds = (time.perf_counter() - begin) / count
        self.steps_done += count
        self.loss = float(loss.item())
        return seconds


def first_step_and_warm_up(ours, theirs, warm_up_steps):
    """One step of each ``StepTimer`` on the same first batch, from the same weights: the losses
    must agree (float32, different summation orders); then ``warm_up_steps`` untimed steps each
    (Numba compilation, allocators, caches)."""
    ours.run(1)
    theirs.run(1)
    assert abs(ours.loss - theirs.loss) < 1e-4, (ours.loss, theirs.loss)
    ours.run(warm_up_steps)
    theirs.run(warm_up_steps)


@dataclass
class Comparison:
    """Seconds per unit of work (a step, a call) in each round, for each framework."""
    ours: list
    theirs: list

    @property
    def ours_median(self):
        return statistics.median(self.ours)

    @property
    def theirs_median(self):
        return statistics.median(self.theirs)

    @property
    def ratio(self):
        """median autograd-lite / median PyTorch."""
        return self.ours_median / self.theirs_median

    @property
    def ratio_range(self):
        """(lowest, highest) ratio of the two blocks timed in the same round."""
        ratios = sorted(o / t for o, t in zip(self.ours, self.theirs))
        return ratios[0], ratios[-1]


def interleaved(time_ours, time_theirs, rounds):
    """Call ``time_ours()`` then ``time_theirs()`` (each times one block of work and returns its
    seconds per unit) ``rounds`` times."""
    comparison = Comparison([], [])
    for _ in range(rounds):
        comparison.ours.append(time_ours())
        comparison.theirs.append(time_theirs())
    return comparison


def print_step_times(comparison, ours, theirs, batch, unit="us"):
    """One line per framework: median time per step (in ``unit``, "us" or "ms"), samples/s, and
    the loss of the last step its ``StepTimer`` ran."""
    scale, decimals = {"us": (1e6, 1), "ms": (1e3, 2)}[unit]
    for name, seconds, timer in (("autograd-lite", comparison.ours_median, ours),
                                 ("PyTorch", comparison.theirs_median, theirs)):
        print(f"  {name:<13} {seconds * scale:7.{decimals}f} {unit}/step  "
              f"{batch / seconds:9,.0f} samples/s   (loss after {timer.steps_done} steps: "
              f"{timer.loss:.4f})")
