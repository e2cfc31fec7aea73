"""Time to a first training step: import autograd_lite + nn + optim, build the model, one step.

Each measurement is a fresh Python process. Cold: an empty Numba cache folder (``NUMBA_CACHE_DIR``,
a new one for every run), what a newcomer's first run sees; the Numba kernels then compile in a
helper process while NumPy's serve (``autograd_lite/kernels/compiler.py``). Warm: a cache folder
filled beforehand (one CNN step, then waiting for the helper). Models: the course CNN
(Conv 32 - ReLU - pool - Conv 64 - ReLU - pool - Dense 64 - Dense 10, Adam, batch 64) and the MLP
784-128-64-10 (SGD, batch 64). Prints medians (and the range) of ``--runs`` runs of each, and the
CPU. Goals (issue 15): cold CNN <= 5 s, cold MLP <= 1.5 s, warm < 1.5 s.

Run from the repository root:
    python benchmarks/bench_startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

START = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BATCH = 64
GOALS = {("cnn", "cold"): 5.0, ("mlp", "cold"): 1.5, ("cnn", "warm"): 1.5, ("mlp", "warm"): 1.5}


def child(model_name, wait):
    """In the fresh process: import, build, one step; print import and first-step seconds."""
    sys.path.insert(0, ROOT)
    import numpy as np
    import autograd_lite as ag
    import nn
    import optim
    imported = time.perf_counter()
    rng = np.random.default_rng(0)
    if model_name == "cnn":
        model = nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                              nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(1600, 64),
                              nn.ReLU(), nn.Linear(64, 10))
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        inputs = ag.Tensor(rng.random((BATCH, 1, 28, 28), dtype=np.float32))
    else:
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                              nn.Linear(64, 10))
        optimizer = optim.SGD(model.parameters(), lr=0.05)
        inputs = ag.Tensor(rng.random((BATCH, 784), dtype=np.float32))
    optimizer.zero_grad()
    nn.CrossEntropyLoss()(model(inputs), rng.integers(0, 10, BATCH)).backward()
    optimizer.step()
    done = time.perf_counter()
    if wait:
        from autograd_lite import kernels
        kernels.wait()
    print(f"{imported - START:.3f} {done - imported:.3f} {done - START:.3f}")


def measure(model_name, cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env.pop("AUTOGRAD_LITE_COMPILE", None)
    result = subprocess.run([sys.executable, __file__, "--child", model_name], env=env,
                            capture_output=True, text=True, check=True)
    return [float(v) for v in result.stdout.split()[-3:]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--child", choices=["cnn", "mlp"], help=argparse.SUPPRESS)
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.wait)
    sys.path.insert(0, HERE)
    from _timing import print_machine
    print_machine()
    print(f"# fresh processes: import autograd_lite + nn + optim, build, one training step "
          f"(batch {BATCH}); medians [min..max] of {args.runs} runs, seconds")
    print(f"{'':<12} {'import':>7} {'1st step':>9} {'total':>7}  {'range':>13}  goal")
    with tempfile.TemporaryDirectory() as warm:
        env = dict(os.environ, NUMBA_CACHE_DIR=warm)
        subprocess.run([sys.executable, __file__, "--child", "cnn", "--wait"], env=env,
                       capture_output=True, check=True)      # fill the cache
        for temperature in ("cold", "warm"):
            for model_name in ("cnn", "mlp"):
                runs = []
                for _ in range(args.runs):
                    if temperature == "cold":
                        with tempfile.TemporaryDirectory() as empty:
                            runs.append(measure(model_name, empty))
                    else:
                        runs.append(measure(model_name, warm))
                medians = [statistics.median(column) for column in zip(*runs)]
                totals = sorted(run[2] for run in runs)
                goal = GOALS[model_name, temperature]
                print(f"{model_name + ' ' + temperature:<12} {medians[0]:7.2f} {medians[1]:9.2f} "
                      f"{medians[2]:7.2f}  [{totals[0]:5.2f}..{totals[-1]:5.2f}]  <= {goal} "
                      f"{'met' if medians[2] <= goal else 'NOT met'}", flush=True)


if __name__ == "__main__":
    main()
