"""What the benchmarks share: equal thread counts, a timed training step, interleaved rounds.

Every benchmark times autograd-lite and PyTorch in one process, alternating a block of work of one
framework with a block of the other (so both see the same machine load), and reports the median
time of each and their ratio autograd-lite / PyTorch (below 1.0: autograd-lite is faster).

Imported by the scripts next to it (``python benchmarks/bench_x.py`` puts this folder on sys.path).
"""
from __future__ import annotations

import argparse
import atexit
import os
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np

MNIST_DIR = os.path.join("..", "shared", "datasets", "mnist")  # relative to the repository root
PAUSE = 0.15  # seconds of sleep before each timed block: longer than idle thread pools spin after
#               their last call (OpenBLAS's workers about 0.1 s, PyTorch's about 4 ms), so that
#               one contender's spinning threads do not slow the next one's block


def load_images(data_dir, synthetic=2048):
    """(images (N, 1, 28, 28) float32 in [0, 1], labels int64, where they came from): the MNIST
    test set from ``data_dir``, else ``synthetic`` random images (said on a line of its own)."""
    from autograd_lite.data import load_mnist
    try:
        images, labels = load_mnist(data_dir, "t10k")
        return (images[:, None].astype(np.float32) / 255.0, labels.astype(np.int64),
                f"MNIST t10k from {data_dir}")
    except (FileNotFoundError, OSError) as error:
        print(f"note: MNIST not found in {data_dir!r} ({error}); using synthetic data")
        rng = np.random.default_rng(0)
        return (rng.random((synthetic, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, synthetic), "synthetic data")


def warm_up_steps():
    """Untimed training steps before a benchmark's timed rounds: our kernels time each launch
    shape split across threads and alone over its first 1 + 2 EXPLORE calls
    (``kernels/launch_timing.py``); one more step, so the timed ones run the chosen way."""
    from autograd_lite.kernels import launch_timing
    return 2 + 2 * launch_timing.EXPLORE


def cpu_model():
    """The CPU's model name, family and model numbers (``/proc/cpuinfo``; elsewhere what
    ``platform`` knows) and core count. Virtual machines often show one name for several CPU
    generations ("Intel(R) Xeon(R) Processor" for family 6 models 167 and 207): the numbers tell
    them apart."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first CPU's entry is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']} model {fields['model']})"
    return f"{name}, {os.cpu_count()} logical CPUs"


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
    and times blocks of steps. ``steps_done`` counts every step run; ``loss`` is the last one's;
    ``cpu_seconds`` is the process CPU time per step of the last block (all threads: with other
    jobs on the cores the steadier measure of what a step costs)."""

    def __init__(self, step, batches):
        self.step, self.batches = step, batches
        self.steps_done, self.loss, self.cpu_seconds = 0, None, None

    def run(self, count):
        """Run the next ``count`` steps; return the wall-clock seconds per step."""
        begin, begin_cpu = time.perf_counter(), time.process_time()
        for i in range(self.steps_done, self.steps_done + count):
            loss = self.step(*self.batches[i % len(self.batches)])
        seconds = (time.perf_counter() - begin) / count
        self.cpu_seconds = (time.process_time() - begin_cpu) / count
        self.steps_done += count
        self.loss = float(loss.item())
        return seconds


_probe = {"input": np.linspace(0.0, 3.0, 2048), "readings": []}


def speed_probe():
    """Time a fixed single-threaded loop (NumPy's sin over 2,048 doubles in L1, 40 times; the
    fastest of three tries) and keep the reading. Read before every timed round, it shows whether the core's speed moved during the
    run: a shared VM runs in phases (the same kernel at 36 or 54 GFLOP/s from one minute to the
    next), which a median of interleaved rounds evens out between the frameworks but not between
    runs. At exit the script prints the readings' spread (``_report_probe``)."""
    x = _probe["input"]
    out = np.empty_like(x)
    readings = []
    for _ in range(3):  # the fastest of three: a thread still spinning after a block passes
        begin = time.perf_counter()
        for _ in range(40):
            np.sin(x, out=out)
        readings.append(time.perf_counter() - begin)
    if not _probe["readings"]:
        atexit.register(_report_probe)
    _probe["readings"].append(min(readings))


def _report_probe():
    readings = sorted(_probe["readings"])
    spread = readings[-1] / readings[0]
    verdict = ("steady" if spread < 1.15 else
               "the machine's speed moved during this run: compare its ratios with care")
    print(f"# speed probe over {len(readings)} rounds: median {statistics.median(readings) * 1e6:.0f}"
          f" us, slowest / fastest {spread:.2f} ({verdict})")


def interleaved_steps(ours, theirs, rounds, steps, also=None):
    """``rounds`` interleaved blocks of ``steps`` steps of two ``StepTimer``s (the loss and the
    data are made before, outside the timed blocks), each after a ``PAUSE``: (wall-clock, CPU-time)
    ``Comparison``s.
    ``also``, a third ``StepTimer`` (NumPy by hand), runs a block in each round after them; its
    wall-clock seconds per step are then returned as a third value, a list per round."""
    wall, cpu, third = Comparison([], []), Comparison([], []), []
    timers = [(ours, wall.ours, cpu.ours), (theirs, wall.theirs, cpu.theirs)]
    if also is not None:
        timers.append((also, third, []))
    for _ in range(rounds):
        speed_probe()
        for timer, wall_list, cpu_list in timers:
            time.sleep(PAUSE)
            wall_list.append(timer.run(steps))
            cpu_list.append(timer.cpu_seconds)
    return (wall, cpu) if also is None else (wall, cpu, third)


def mlp_pair(width=128):
    """The benchmarks' MLP 784-width-64-10 (ReLU) as (autograd-lite model, PyTorch model), with
    the same initial weights (PyTorch's default initialisation, copied)."""
    import torch

    import nn
    theirs = torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(),
                                 torch.nn.Linear(width, 64), torch.nn.ReLU(),
                                 torch.nn.Linear(64, 10))
    ours = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 64), nn.ReLU(),
                         nn.Linear(64, 10))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def mlp_training(width=128, lr=0.05):
    """What every MLP benchmark trains, the same in both frameworks: ``mlp_pair(width)``, plain SGD
    (``lr``) through optim (torch.optim) and cross-entropy on class indices, as
    ((model, optimizer, loss_fn) of autograd-lite, the same of PyTorch)."""
    import torch

    import nn
    import optim
    ours_model, theirs_model = mlp_pair(width)
    return ((ours_model, optim.SGD(ours_model.parameters(), lr=lr), nn.CrossEntropyLoss()),
            (theirs_model, torch.optim.SGD(theirs_model.parameters(), lr=lr),
             torch.nn.CrossEntropyLoss()))


def mlp_arrays(model):
    """(weights, biases) of a PyTorch MLP's Linear layers, as NumPy copies (for ``numpy_parts``)."""
    import torch
    layers = [m for m in model if isinstance(m, torch.nn.Linear)]
    return ([m.weight.detach().numpy().copy() for m in layers],
            [m.bias.detach().numpy().copy() for m in layers])


def numpy_parts(weights, biases, lr):
    """The MLP's training step in NumPy, backward by hand (in place where PyTorch's formulas allow
    it): the floor, the same products and elementwise passes with no framework around them.
    Returns the four parts (zero_grad, forward(x, y), backward, step) as functions:

        h1 = relu(x W1^T + b1), h2 = relu(h1 W2^T + b2), z = h2 W3^T + b3
        loss = mean_i (logsumexp(z_i) - z[i, y_i]);   g3 = (softmax(z) - onehot(y)) / N
        gW3 = g3^T h2, gb3 = sum g3;  g2 = (g3 W3) * [h2 > 0];  ... down to gW1 = g1^T x
        p <- p - lr g for every parameter
    """
    held = {}

    def forward(x, y):
        rows = np.arange(len(y))
        h1 = x @ weights[0].T                                   # (N, width)
        h1 += biases[0]
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ weights[1].T                                  # (N, 64)
        h2 += biases[1]
        np.maximum(h2, 0, out=h2)
        z = h2 @ weights[2].T                                   # (N, 10)
        z += biases[2]
        z -= z.max(1, keepdims=True)
        exp = np.exp(z)
        total = exp.sum(1, keepdims=True)
        held.update(x=x, y=y, rows=rows, h1=h1, h2=h2, p=exp / total)
        return (np.log(total[:, 0]) - z[rows, y]).mean()

    def backward():
        g = held["p"]
        g[held["rows"], held["y"]] -= 1
        g *= 1.0 / len(g)
        grads = [None] * 6
        for layer, inputs in ((2, held["h2"]), (1, held["h1"]), (0, held["x"])):
            grads[layer], grads[3 + layer] = g.T @ inputs, g.sum(0)
            if layer:
                g = g @ weights[layer]
                g *= inputs > 0                                 # the ReLU's mask
        held["grads"] = grads

    def step():
        for parameter, grad in zip(weights + biases, held["grads"]):
            grad *= lr
            parameter -= grad

    return (lambda: None), forward, backward, step


def numpy_step(weights, biases, lr):
    """``numpy_parts``' four parts as one step ``step(x, y)`` returning the loss (a NumPy scalar),
    to be timed by a ``StepTimer`` like the frameworks' steps."""
    _, forward, backward, update = numpy_parts(weights, biases, lr)

    def step(x, y):
        loss = forward(x, y)
        backward()
        update()
        return loss

    return step


def mlp_step_timers(ours_batches, theirs_batches, width=128, lr=0.05):
    """(ours, theirs): ``StepTimer``s of ``mlp_training(width, lr)``'s step (zero_grad, forward,
    loss, backward, optimizer step) over the given batches."""
    ours, theirs = mlp_training(width, lr)
    return (StepTimer(training_step(*ours), ours_batches),
            StepTimer(training_step(*theirs), theirs_batches))


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
    seconds per unit), each after a ``PAUSE``, ``rounds`` times."""
    comparison = Comparison([], [])
    for _ in range(rounds):
        speed_probe()
        time.sleep(PAUSE)
        comparison.ours.append(time_ours())
        time.sleep(PAUSE)
        comparison.theirs.append(time_theirs())
    return comparison


def print_step_times(comparison, ours, theirs, batch, unit="us", cpu=None):
    """One line per framework: median wall-clock time per step (in ``unit``, "us" or "ms"),
    samples/s, the median CPU time per step when ``cpu`` (a ``Comparison``) is given, and the loss
    of the last step its ``StepTimer`` ran."""
    scale, decimals = {"us": (1e6, 1), "ms": (1e3, 2)}[unit]
    for index, (name, seconds, timer) in enumerate((("autograd-lite", comparison.ours_median, ours),
                                                    ("PyTorch", comparison.theirs_median, theirs))):
        cpu_part = ""
        if cpu is not None:
            cpu_part = f"  cpu {(cpu.theirs_median if index else cpu.ours_median) * scale:7.{decimals}f} {unit}"
        print(f"  {name:<13} wall {seconds * scale:7.{decimals}f} {unit}/step{cpu_part}  "
              f"{batch / seconds:9,.0f} samples/s   (loss after {timer.steps_done} steps: "
              f"{timer.loss:.4f})")


def ratio_line(name, wall, cpu):
    """'<name>: wall x (per-round a..b), cpu y (a..b)': the ratios autograd-lite / PyTorch."""
    (wall_low, wall_high), (cpu_low, cpu_high) = wall.ratio_range, cpu.ratio_range
    return (f"{name}: wall {wall.ratio:.2f} (per-round {wall_low:.2f}..{wall_high:.2f}), "
            f"cpu {cpu.ratio:.2f} (per-round {cpu_low:.2f}..{cpu_high:.2f})")
