"""Peak resident memory of training, autograd-lite against PyTorch, each in a fresh process.

Four runs, each in its own fresh Python process (so one framework's allocator and imports do not
count against the other): the course CNN (Adam, batch 64) for ``--cnn-steps`` steps (200), and the
MLP 784-128-64-10 (SGD, batch 1024) for ``--mlp-steps`` steps (200), in autograd-lite and in
PyTorch, float32, synthetic data. Each process reports its resident memory after the imports,
after the first step (autograd-lite loads Numba and its LLVM JIT only when a kernel first runs;
PyTorch sets up its allocator and oneDNN), every ``steps / 10`` steps, and its peak (``VmHWM``).
The script prints the peaks, the growth over what the imports took, the growth after the first
step and the RSS over time (flat: a loop that keeps nothing), and a last fresh process's RSS after
NumPy, after ``import numba`` and once Numba's JIT is up (the runtime baseline of our kernels). autograd-lite's Numba kernels are compiled into a cache
folder first, so that compiling (LLVM) does not count in the peak. Goal (issue 15): peak <= PyTorch's.

Run from the repository root:
    python benchmarks/bench_memory.py [--cnn-steps 200] [--mlp-steps 200]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def resident_mib():
    """(current, peak) resident set size of this process in MiB (Linux ``/proc/self/status``)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmRSS"], values["VmHWM"]


def child(framework, kind, steps):
    """In the fresh process: train, sampling RSS; print one JSON line."""
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    import numpy as np
    samples = {"start": resident_mib()[0]}
    if framework == "torch":
        import torch as lib
        layers, optimizers, wrap = lib.nn, lib.optim, lib.from_numpy
        conv, pool = lib.nn.Conv2d, lib.nn.MaxPool2d
    else:
        import autograd_lite as lib
        import nn as layers
        import optim as optimizers
        wrap, conv, pool = lib.Tensor, layers.Conv2D, layers.MaxPool2D
    samples["imported"] = resident_mib()[0]
    if kind == "cnn":
        batch, shape = 64, (64, 1, 28, 28)
        model = layers.Sequential(conv(1, 32, 3), layers.ReLU(), pool(2), conv(32, 64, 3),
                                  layers.ReLU(), pool(2), layers.Flatten(),
                                  layers.Linear(1600, 64), layers.ReLU(), layers.Linear(64, 10))
        optimizer = optimizers.Adam(model.parameters(), lr=1e-3)
    else:
        batch, shape = 1024, (1024, 784)
        model = layers.Sequential(layers.Linear(784, 128), layers.ReLU(), layers.Linear(128, 64),
                                  layers.ReLU(), layers.Linear(64, 10))
        optimizer = optimizers.SGD(model.parameters(), lr=0.05)
    loss_fn = layers.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    data = [(wrap(rng.random(shape, dtype=np.float32)), wrap(rng.integers(0, 10, batch)))
            for _ in range(4)]
    samples["built"] = resident_mib()[0]
    over_time = []
    for step in range(1, steps + 1):
        inputs, targets = data[step % len(data)]
        optimizer.zero_grad()
        loss_fn(model(inputs), targets).backward()
        optimizer.step()
        if step == 1:
            samples["step1"] = resident_mib()[0]
        if step % max(1, steps // 10) == 0:
            over_time.append([step, round(resident_mib()[0], 1)])
    samples["peak"] = resident_mib()[1]
    samples["over_time"] = over_time
    samples["numba"] = "numba" in sys.modules
    print(json.dumps(samples))


def runtime_baseline():
    """In a fresh process: RSS after NumPy, after ``import numba``, and once Numba's LLVM JIT is up
    (one trivial function compiled, no cache): what autograd-lite's kernels cost before any array."""
    samples = {"start": resident_mib()[0]}
    import numpy  # noqa: F401
    samples["numpy"] = resident_mib()[0]
    import numba
    samples["numba imported"] = resident_mib()[0]
    numba.njit(lambda value: value + 1)(1)
    samples["numba JIT ready"] = resident_mib()[0]
    print(json.dumps(samples))


def run(framework, kind, steps, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, AUTOGRAD_LITE_COMPILE="eager")
    result = subprocess.run([sys.executable, __file__, "--child", framework, kind, str(steps)],
                            env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn-steps", type=int, default=200)
    parser.add_argument("--mlp-steps", type=int, default=200)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        framework, kind, steps = args.child
        if kind == "baseline":
            return runtime_baseline()
        return child(framework, kind, int(steps))
    sys.path.insert(0, HERE)
    from _timing import print_machine
    print_machine()
    print("# resident memory (MiB), each run a fresh process: after the imports, after the first "
          "step (libraries loaded on first use), peak (VmHWM); growth = peak - imports; "
          "after step 1 = peak - first step")
    print(f"{'':<34} {'imports':>8} {'step 1':>8} {'peak':>8} {'growth':>8} {'>step 1':>8}"
          "   RSS over time (step: MiB)")
    with tempfile.TemporaryDirectory() as cache_dir:
        run("ours", "cnn", 2, cache_dir)   # compile the kernels into the cache first
        for kind, steps in (("cnn", args.cnn_steps), ("mlp", args.mlp_steps)):
            peaks = {}
            for framework in ("ours", "torch"):
                result = run(framework, kind, steps, cache_dir)
                peaks[framework] = result["peak"]
                name = ("autograd-lite" if framework == "ours" else "PyTorch") + " " + (
                    f"CNN b64 x{steps}" if kind == "cnn" else f"MLP b1024 x{steps}")
                if framework == "ours" and result["numba"]:
                    name += " (Numba)"
                series = " ".join(f"{s}:{m:.0f}" for s, m in result["over_time"])
                print(f"{name:<34} {result['imported']:8.1f} {result['step1']:8.1f} "
                      f"{result['peak']:8.1f} {result['peak'] - result['imported']:8.1f} "
                      f"{result['peak'] - result['step1']:8.1f}   {series}", flush=True)
            print(f"  peak ratio autograd-lite / PyTorch ({kind.upper()}): "
                  f"{peaks['ours'] / peaks['torch']:.2f} -- goal <= 1.0")
        baseline = run("ours", "baseline", 0, cache_dir)
    print("# runtime baseline (fresh process, MiB): " + ", ".join(
        f"{name} {mib:.1f}" for name, mib in baseline.items()))


if __name__ == "__main__":
    main()
