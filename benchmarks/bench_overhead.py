"""Per-op overhead: a tiny graph, forward + backward, autograd-lite against PyTorch in the same run.

The graph is ``(a*b + a).sum()`` with 4-element float32 tensors: three ops, so the time is almost all
Python/dispatch overhead, not arithmetic. The two frameworks are timed in interleaved rounds (so both
see the same machine load) and the script prints each one's median time per forward+backward and the
ratio autograd-lite / PyTorch (below 1.0: autograd-lite is faster).

A second line does the same for one training step of a small MLP (784-128-64-10, batch 64, fused
linear + relu + log_softmax + NLL, SGD update written by hand) to show where the engine stands when
the arithmetic is not negligible.

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
from _timing import interleaved, limit_threads, print_kernel_paths, print_machine  # noqa: E402


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


def mlp_setup(batch=64, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(784, 128), (128, 64), (64, 10)]
    weights = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in sizes]
    biases = [np.zeros(o, np.float32) for _, o in sizes]
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    ours = [ag.Tensor(w.copy(), requires_grad=True) for w in weights] + \
           [ag.Tensor(b.copy(), requires_grad=True) for b in biases]
    theirs = [torch.tensor(w, requires_grad=True) for w in weights] + \
             [torch.tensor(b, requires_grad=True) for b in biases]
    return (ours, ag.Tensor(x), ag.Tensor(y)), (theirs, torch.tensor(x), torch.tensor(y))


def mlp_step_ours(params, x, y, lr=0.01):
    w1, w2, w3, b1, b2, b3 = params
    h = ag.linear(x, w1, b1).relu()
    h = ag.linear(h, w2, b2).relu()
    logp = ag.linear(h, w3, b3).log_softmax(-1)
    loss = -logp[np.arange(len(y.detach().numpy())), y.detach().numpy()].mean()
    for p in params:
        p.grad = None
    loss.backward()
    with ag.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=lr)


def mlp_step_torch(params, x, y, lr=0.01):
    w1, w2, w3, b1, b2, b3 = params
    h = torch.nn.functional.linear(x, w1, b1).relu()
    h = torch.nn.functional.linear(h, w2, b2).relu()
    logp = torch.nn.functional.linear(h, w3, b3).log_softmax(-1)
    loss = torch.nn.functional.nll_loss(logp, y)
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(p.grad, alpha=lr)


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
    ours_args, torch_args = mlp_setup()
    compare("MLP 784-128-64-10 step, batch 64  ", mlp_step_ours, ours_args, mlp_step_torch, torch_args,
            max(5, args.rounds // 3), max(20, args.repeat // 40))
    print(f"overhead ratio (tiny graph, autograd-lite / PyTorch): {ratio:.2f}"
          f" -- goal <= 1.0: {'met' if ratio <= 1.0 else 'not met'}")
    print_kernel_paths()


if __name__ == "__main__":
    main()
