"""Training speed of the course CNN: autograd-lite (nn, optim, Numba kernels) against PyTorch.

Model (both frameworks, same initial weights, same batches): Conv2D(1, 32, 3) - ReLU - MaxPool(2) -
Conv2D(32, 64, 3) - ReLU - MaxPool(2) - Flatten - Dense(1600, 64) - ReLU - Dense(64, 10), cross-entropy,
Adam(lr=1e-3), batch 64 of 28 x 28 float32 images (real MNIST test images when --data-dir holds them,
else synthetic data, which is said on the first line). A step is zero_grad, forward, loss, backward,
optimizer step. Each line also gives the median minor page faults per step (fresh memory the step
touches: see ``minor_faults``). Steps run in interleaved blocks (one framework, a short pause so its
idle threads stop spinning, then the other) with the same thread count; the script prints medians,
samples/s and the ratio autograd-lite / PyTorch (<= 1.0: at least as fast), and per step the
process's CPU time and context switches (voluntary + involuntary, ``getrusage``: a launch that
wakes sleeping threads costs some). Two-thread figures need an otherwise idle machine: a busy core
makes every parallel region wait.

``--startup`` instead measures, in fresh processes, the time to import autograd_lite, nn and optim
and run the first training step: once with an empty Numba cache (cold) and twice more with that
cache filled (warm); ``bench_startup.py`` does the same for the CNN and the MLP with medians.

``--faults-by-kernel`` runs autograd-lite's step alone and prints, per function (Numba kernels
included), the minor page faults taken in it and not in the functions it called: the first code to
touch fresh memory pays for it, so this shows which arrays arrive unmapped.

``--under-load`` times the step on an idle machine and then beside two busy processes (two
``while True: pass`` loops, as many as this machine's 2 cores), and prints both and their ratio
(goal <= 3: the kernels' threads must not spin-wait for cores that other processes hold).

Run from the repository root:
    python benchmarks/bench_cnn.py [--data-dir ../shared/datasets/mnist] [--rounds 9] [--steps 10]
    python benchmarks/bench_cnn.py --startup
    python benchmarks/bench_cnn.py --under-load [--rounds 5] [--steps 10]
    python benchmarks/bench_cnn.py --faults-by-kernel [--threads 1] [--steps 10]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

START = time.perf_counter()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
BATCH = 64

from _timing import (PAUSE, load_images, print_kernel_paths, print_machine,  # noqa: E402
                     speed_probe, training_step, warm_up_steps)


def our_model():
    import nn
    return nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def torch_model():
    import torch.nn as tnn
    return tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(32, 64, 3),
                          tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(1600, 64),
                          tnn.ReLU(), tnn.Linear(64, 10))


def startup_child():
    """Runs in a fresh process: import, build, one training step; prints the timings."""
    import numpy as np
    import autograd_lite as ag
    import nn
    import optim
    imported = time.perf_counter()
    model = our_model()
    step = training_step(model, optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss())
    rng = np.random.default_rng(0)
    step(ag.Tensor(rng.random((BATCH, 1, 28, 28), dtype=np.float32)), rng.integers(0, 10, BATCH))
    done = time.perf_counter()
    print(f"{imported - START:.3f} {done - imported:.3f} {done - START:.3f}")


def startup():
    print("# import autograd_lite + nn + optim, then the first CNN training step, fresh processes")
    print(f"{'':<30} {'import s':>9} {'1st step s':>11} {'total s':>8}")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty Numba cache)", "warm", "warm"):
            result = subprocess.run([sys.executable, __file__, "--startup-child"], env=env,
                                    capture_output=True, text=True, check=True)
            imported, first, total = (float(v) for v in result.stdout.split()[-3:])
            print(f"{label:<30} {imported:9.2f} {first:11.2f} {total:8.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join("..", "shared", "datasets", "mnist"))
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--startup", action="store_true")
    parser.add_argument("--under-load", action="store_true",
                        help="idle against beside two busy processes")
    parser.add_argument("--faults-by-kernel", action="store_true",
                        help="minor page faults per step, by the function that took them")
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_child:
        return startup_child()
    if args.startup:
        return startup()

    import torch
    import autograd_lite as ag
    import nn
    import optim
    from autograd_lite import kernels
    kernels.set_compile_mode("eager")  # time the Numba kernels from the first step
    print_machine()
    threads = args.threads or ag.get_num_threads()
    ag.set_num_threads(threads)
    torch.set_num_threads(threads)
    images, labels, source = load_images(args.data_dir)
    ours, theirs = our_model(), torch_model()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours_step = training_step(ours, optim.Adam(ours.parameters(), lr=1e-3), nn.CrossEntropyLoss())
    theirs_step = training_step(theirs, torch.optim.Adam(theirs.parameters(), lr=1e-3),
                            torch.nn.CrossEntropyLoss())
    count = len(images) // BATCH
    # both frameworks' batches over the same NumPy memory (not through our tensors' .numpy(): an
    # array it hands out that PyTorch's tensor then keeps alive makes every step of ours
    # fingerprint its input, two CRC-32s of 200 KB; until session 17 the benchmark did that)
    slices = [(images[i * BATCH:(i + 1) * BATCH], labels[i * BATCH:(i + 1) * BATCH])
              for i in range(count)]
    ours_data = [(ag.Tensor(x), y) for x, y in slices]
    theirs_data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in slices]
    first = ours_step(*ours_data[0]).item(), theirs_step(*theirs_data[0]).item()
    assert abs(first[0] - first[1]) < 1e-4, first   # same weights, same batch: same loss
    if args.faults_by_kernel:
        return faults_by_kernel(ours_step, ours_data, args.steps, threads)
    if args.under_load:
        return under_load(ours_step, ours_data, theirs_step, theirs_data, args, threads)
    for i in range(1, 1 + warm_up_steps()):  # untimed (see _timing.warm_up_steps)
        ours_step(*ours_data[i % count])
        theirs_step(*theirs_data[i % count])

    times, faults = {"ours": [], "theirs": []}, {"ours": [], "theirs": []}
    usage = {"ours": [0.0, 0, 0], "theirs": [0.0, 0, 0]}  # CPU s, voluntary, involuntary switches
    last_loss = {}
    position = 1
    for _ in range(args.rounds):
        speed_probe()
        for name, step, data in (("ours", ours_step, ours_data), ("theirs", theirs_step, theirs_data)):
            before = resource.getrusage(resource.RUSAGE_SELF)
            for i in range(position, position + args.steps):
                faulted = minor_faults()
                start = time.perf_counter()
                loss = step(*data[i % count])
                times[name].append(time.perf_counter() - start)
                faults[name].append(minor_faults() - faulted)
            after = resource.getrusage(resource.RUSAGE_SELF)
            usage[name][0] += after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            usage[name][1] += after.ru_nvcsw - before.ru_nvcsw
            usage[name][2] += after.ru_nivcsw - before.ru_nivcsw
            last_loss[name] = loss.item()
            time.sleep(PAUSE)
        position += args.steps
    ours_median, theirs_median = statistics.median(times["ours"]), statistics.median(times["theirs"])
    print(f"# course CNN, batch {BATCH}, Adam, float32, {threads} thread(s), {source}; "
          f"{args.rounds} interleaved rounds of {args.steps} steps; medians")
    for label, name, median in (("autograd-lite", "ours", ours_median),
                                ("PyTorch", "theirs", theirs_median)):
        print(f"  {label:<13} {median * 1e3:7.2f} ms/step {BATCH / median:8,.0f} samples/s "
              f"{statistics.median(faults[name]):7,.0f} minor page faults/step (median)")
    print(f"step-time ratio autograd-lite / PyTorch: {ours_median / theirs_median:.2f} "
          f"-- goal <= 0.7: {'met' if ours_median / theirs_median <= 0.7 else 'not met'}; last losses {last_loss['ours']:.4f} (ours), "
          f"{last_loss['theirs']:.4f} (PyTorch, same initial weights and batches)")
    steps = args.rounds * args.steps
    for label, name in (("autograd-lite", "ours"), ("PyTorch", "theirs")):
        cpu, voluntary, involuntary = usage[name]
        print(f"  {label:<13} per step: CPU {cpu / steps * 1e3:6.2f} ms, context switches "
              f"{voluntary / steps:6.1f} voluntary + {involuntary / steps:5.1f} involuntary")
    print_kernel_paths()


def minor_faults():
    """Minor page faults of this process so far (``getrusage``; 0 where it is not available): a
    step that touches freshly mapped memory pays one per 4 KiB page, which on a virtual machine
    costs more than the page's arithmetic."""
    try:
        import resource
    except ImportError:  # not on Unix
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_by_kernel(step, data, steps, threads):
    """Minor faults per step taken in each function itself (not in its callees), over ``steps``
    steps traced with ``sys.setprofile`` (Numba's dispatchers report their kernels' calls too)."""
    import collections
    taken, stack = collections.Counter(), []   # stack: [faults at entry, faults in callees]

    def profile(frame, event, arg):
        now = minor_faults()
        if event in ("call", "c_call"):
            stack.append([now, 0])
        elif event in ("return", "c_return", "c_exception") and stack:
            start, in_callees = stack.pop()
            code = frame.f_code
            name = (f"{os.path.basename(code.co_filename)}:{code.co_name}" if event == "return"
                    else f"(C) {getattr(arg, '__qualname__', arg)}")
            taken[name] += now - start - in_callees
            if stack:
                stack[-1][1] += now - start
    sys.setprofile(profile)
    for i in range(steps):
        step(*data[i % len(data)])
    sys.setprofile(None)
    print(f"# autograd-lite, course CNN, batch {BATCH}, {threads} thread(s): minor page faults "
          f"per step by the function that took them, {steps} steps (total "
          f"{sum(taken.values()) / steps:,.0f})")
    for name, count in taken.most_common(12):
        if count:
            print(f"{count / steps:9,.1f}  {name}")


def median_step(step, data, rounds, steps):
    """Median seconds per step over ``rounds`` blocks of ``steps`` steps."""
    times = []
    for _ in range(rounds):
        for i in range(steps):
            begin = time.perf_counter()
            step(*data[i % len(data)])
            times.append(time.perf_counter() - begin)
        time.sleep(PAUSE)
    return statistics.median(times)


def under_load(ours_step, ours_data, theirs_step, theirs_data, args, threads):
    """Step times idle, then with two busy processes running, for both frameworks."""
    idle = [median_step(s, d, args.rounds, args.steps)
            for s, d in ((ours_step, ours_data), (theirs_step, theirs_data))]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        loaded = [median_step(s, d, args.rounds, args.steps)
                  for s, d in ((ours_step, ours_data), (theirs_step, theirs_data))]
    finally:
        for process in busy:
            process.terminate()
            process.wait()
    print(f"# course CNN, batch {BATCH}, {threads} thread(s); idle, then beside two busy "
          f"processes; medians of {args.rounds} x {args.steps} steps")
    print(f"{'':<14} {'idle ms':>8} {'loaded ms':>10} {'loaded/idle':>12}")
    for name, quiet, noisy in zip(("autograd-lite", "PyTorch"), idle, loaded):
        print(f"{name:<14} {quiet * 1e3:8.2f} {noisy * 1e3:10.2f} {noisy / quiet:12.2f}")
    ratio = loaded[0] / idle[0]
    print(f"autograd-lite loaded/idle: {ratio:.2f} -- goal <= 3: {'met' if ratio <= 3 else 'not met'}")
    from numba.np.ufunc import parallel
    print(f"# our kernels on {threads} thread(s) of our own; Numba's parallel runtime started: "
          f"{parallel._is_initialized}")
    print_kernel_paths()


if __name__ == "__main__":
    main()
