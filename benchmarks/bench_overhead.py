"""Per-op overhead: a tiny graph, forward + backward, autograd-lite against PyTorch in the same run.

The graph is ``(a*b + a).sum()`` with 4-element float32 tensors: three ops, so the time is almost all
Python/dispatch overhead, not arithmetic. The two frameworks are timed in interleaved rounds (so both
see the same machine load) and the script prints each one's median time per forward+backward and the
ratio autograd-lite / PyTorch (below 1.0: autograd-lite is faster).

A second line times one training step of the MLP 784-128-64-10 at batch 64 (synthetic data), to
show where the engine stands when the arithmetic is not negligible: the same step as
``bench_mlp.py`` and ``bench_scaling.py`` (``_timing.mlp_step_timers``: nn.Sequential, plain SGD
through optim, cross-entropy loss, in both frameworks), wall-clock and process-CPU time. (Until
session 5 this line timed a different step, log_softmax + indexing + mean as the loss and an SGD
update written by hand with Tensor.sub_, with the batch's index array built inside the timed step:
it measured 1.0-1.3x PyTorch where bench_scaling measured 0.77 on the same machine.)

Run from the repository root:
    python benchmarks/bench_overhead.py [--rounds 30] [--repeat 2000] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
from _timing import (interleaved, interleaved_steps, limit_threads, mlp_step_timers,  # noqa: E402
                     print_kernel_paths, print_machine, ratio_line)


def tiny_graph(a, b):
    """The same code runs on autograd-lite's and on PyTorch's tensors."""
    a.grad = b.grad = None
    (a * b + a).sum().backward()


def time_per_call(fn, args, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat


def compare(name, ours, ours_args, theirs, theirs_args, rounds, repeat):
    for _ in range(max(1, repeat // 10)):  # warm-up (allocator, caches, lazy imports)
        ours(*ours_args)
        theirs(*theirs_args)
    timing = interleaved(lambda: time_per_call(ours, ours_args, repeat),
                         lambda: time_per_call(theirs, theirs_args, repeat), rounds)
    low, high = timing.ratio_range
    print(f"{name}: autograd-lite {timing.ours_median * 1e6:8.1f} us   PyTorch "
          f"{timing.theirs_median * 1e6:8.1f} us   ratio {timing.ratio:.2f} (per-round ratios "
          f"{low:.2f}..{high:.2f})")
    return timing.ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved timing rounds")
    parser.add_argument("--repeat", type=int, default=2000, help="tiny-graph calls per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/Numba and PyTorch threads")
    args = parser.parse_args()
    limit_threads(args.threads)
    print_machine()

    a, b = (ag.Tensor(np.arange(1, 5, dtype=np.float32), requires_grad=True),
            ag.Tensor(np.arange(5, 9, dtype=np.float32), requires_grad=True))
    ta, tb = (torch.arange(1, 5, dtype=torch.float32, requires_grad=True),
              torch.arange(5, 9, dtype=torch.float32, requires_grad=True))
    tiny_graph(a, b)
    tiny_graph(ta, tb)
    assert np.allclose(a.grad.detach().numpy(), tb.detach().numpy() + 1) and np.allclose(ta.grad.numpy(), a.grad.detach().numpy())
    print(f"threads: {args.threads}; {args.rounds} interleaved rounds; medians")
    ratio = compare("tiny graph (a*b + a).sum() fwd+bwd", tiny_graph, (a, b), tiny_graph, (ta, tb),
                    args.rounds, args.repeat)
    rng = np.random.default_rng(0)
    data = [(rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)) for _ in range(4)]
    ours, theirs = mlp_step_timers([(ag.Tensor(x), y) for x, y in data],
                                   [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data])
    steps = max(10, args.repeat // 40)
    ours.run(steps)  # warm-up
    theirs.run(steps)
    wall, cpu = interleaved_steps(ours, theirs, max(5, args.rounds // 3), steps)
    print(f"MLP 784-128-64-10 step, batch 64 (nn + optim.SGD + CrossEntropyLoss): autograd-lite "
          f"{wall.ours_median * 1e6:8.1f} us (cpu {cpu.ours_median * 1e6:.1f})   PyTorch "
          f"{wall.theirs_median * 1e6:8.1f} us (cpu {cpu.theirs_median * 1e6:.1f})")
    print(ratio_line("MLP step ratio autograd-lite / PyTorch", wall, cpu))
    print(f"overhead ratio (tiny graph, autograd-lite / PyTorch): {ratio:.2f}"
          f" -- goal <= 0.5 (issue 15; target 0.3): {'met' if ratio <= 0.5 else 'not met'}")
    print_kernel_paths()


if __name__ == "__main__":
    main()
