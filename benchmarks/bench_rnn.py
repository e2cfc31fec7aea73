"""LSTM speed and memory against PyTorch: an LSTM (input 32, hidden 128, 2 layers, batch 32,
50 steps, float32) forward + backward, and the peak memory of backprop through 100 time steps.

Speed: both LSTMs start from the same weights (ours copied from PyTorch's), see the same input and
are timed in interleaved rounds (a block of forward+backward passes of one framework, then of the
other); the script prints each median, the ratio autograd-lite / PyTorch with its per-round range,
and the CPU model. Memory: each framework runs one forward+backward through ``--memory-steps``
steps in a fresh subprocess, which reports how far its peak resident memory (``ru_maxrss``) rose
above the resident memory just before the pass (for autograd-lite also the peak of NumPy's
allocations seen by ``tracemalloc``), next to the size of the activations a step must keep.

Run from the repository root:
    python benchmarks/bench_rnn.py [--rounds 15] [--repeat 5] [--threads 1] [--memory-steps 100]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from _timing import cpu_model  # noqa: E402

INPUT, HIDDEN, LAYERS, BATCH, STEPS = 32, 128, 2, 32, 50


def build(steps, seed=0):
    """(our LSTM, PyTorch's LSTM with the same weights, input (steps, BATCH, INPUT) float32)."""
    import torch
    import autograd_lite as ag
    import nn
    torch.manual_seed(seed)
    theirs = torch.nn.LSTM(INPUT, HIDDEN, num_layers=LAYERS)
    ours = nn.LSTM(INPUT, HIDDEN, num_layers=LAYERS)
    ours.load_state_dict({k: ag.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(seed).standard_normal((steps, BATCH, INPUT)).astype(np.float32)
    return ours, theirs, x


def our_pass(model, x):
    import autograd_lite as ag
    model.zero_grad()
    output, (h, c) = model(ag.tensor(x, requires_grad=True))
    loss = (output * output).mean() + h.sum() * 0.1
    loss.backward()
    return float(loss.item())


def torch_pass(model, x):
    import torch
    model.zero_grad()
    output, (h, c) = model(torch.from_numpy(x).requires_grad_())
    loss = (output * output).mean() + h.sum() * 0.1
    loss.backward()
    return float(loss.item())


def time_speed(args):
    import torch
    from _timing import Comparison, interleaved, limit_threads
    limit_threads(args.threads)
    ours, theirs, x = build(STEPS)
    loss_ours, loss_theirs = our_pass(ours, x), torch_pass(theirs, x)
    assert abs(loss_ours - loss_theirs) < 1e-4 * max(1.0, abs(loss_theirs)), (loss_ours, loss_theirs)
    gap = np.abs(ours.weight_hh_l0.grad.numpy() - theirs.weight_hh_l0.grad.numpy()).max()
    assert gap < 1e-5, gap
    for _ in range(2):  # warm up: Numba kernels, allocator caches
        our_pass(ours, x)
        torch_pass(theirs, x)

    cpu = {"ours": [], "torch": []}  # process CPU time: less sensitive to other jobs (1 thread)

    def block(run, model, name):
        def timed():
            begin, begin_cpu = time.perf_counter(), time.process_time()
            for _ in range(args.repeat):
                run(model, x)
            cpu[name].append((time.process_time() - begin_cpu) / args.repeat)
            return (time.perf_counter() - begin) / args.repeat
        return timed

    timing = interleaved(block(our_pass, ours, "ours"), block(torch_pass, theirs, "torch"),
                         args.rounds)
    low, high = timing.ratio_range
    print(f"LSTM input {INPUT}, hidden {HIDDEN}, {LAYERS} layers, batch {BATCH}, {STEPS} steps, "
          f"float32, forward+backward; {args.threads} thread(s) (torch {torch.get_num_threads()}); "
          f"{args.rounds} interleaved rounds of {args.repeat} passes; medians")
    print(f"  autograd-lite {timing.ours_median * 1e3:8.2f} ms/pass")
    print(f"  PyTorch       {timing.theirs_median * 1e3:8.2f} ms/pass")
    print(f"time ratio autograd-lite / PyTorch: {timing.ratio:.2f} (per-round {low:.2f}..{high:.2f})"
          f" -- goal <= 1.5: {'met' if timing.ratio <= 1.5 else 'not met'}")
    cpu_timing = Comparison(cpu["ours"], cpu["torch"])
    low, high = cpu_timing.ratio_range
    print(f"CPU-time ratio (process time, {cpu_timing.ours_median * 1e3:.1f} ms against "
          f"{cpu_timing.theirs_median * 1e3:.1f} ms): {cpu_timing.ratio:.2f} (per-round "
          f"{low:.2f}..{high:.2f})")


def _resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_child(framework, steps):
    """Runs in a fresh process: one forward+backward through ``steps`` steps; prints JSON."""
    import tracemalloc
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(1)
    threadpool_limits(1)
    ours, theirs, x = build(steps)
    short = x[:2]
    (our_pass(ours, short) if framework == "ours" else torch_pass(theirs, short))  # load kernels
    before = _resident_bytes()
    if framework == "ours":
        tracemalloc.start()
        our_pass(ours, x)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        torch_pass(theirs, x)
        traced = None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"rss_rise": peak - before, "traced_peak": traced}))


def measure_memory(steps):
    results = {}
    for framework in ("ours", "torch"):
        run = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", framework,
                              "--memory-steps", str(steps)], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"memory subprocess for {framework} failed:\n{run.stderr}")
        results[framework] = json.loads(run.stdout.strip().splitlines()[-1])
    mib = 1 / 2 ** 20
    per_step = LAYERS * BATCH * HIDDEN * 4  # float32 bytes of one (BATCH, HIDDEN) array per layer
    print(f"peak memory of one forward+backward through {steps} steps (fresh subprocess each, "
          f"rise of peak RSS above the RSS before the pass):")
    print(f"  autograd-lite {results['ours']['rss_rise'] * mib:7.1f} MiB   (NumPy allocations "
          f"traced: peak {results['ours']['traced_peak'] * mib:.1f} MiB)")
    print(f"  PyTorch       {results['torch']['rss_rise'] * mib:7.1f} MiB")
    print(f"  for scale: what each step keeps for backward, per (batch, hidden) array over both "
          f"layers, is {per_step * steps * mib:.2f} MiB per {steps} steps; an LSTM step keeps 7 "
          f"of them (4 gates, c, tanh c, h), i.e. {7 * per_step * steps * mib:.1f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--repeat", type=int, default=5, help="forward+backward passes per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/Numba and PyTorch threads")
    parser.add_argument("--memory-steps", type=int, default=100, help="steps of the memory run")
    parser.add_argument("--memory-child", choices=("ours", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.memory_steps)
        return
    print(f"CPU: {cpu_model()}")
    time_speed(args)
    measure_memory(args.memory_steps)


if __name__ == "__main__":
    main()
