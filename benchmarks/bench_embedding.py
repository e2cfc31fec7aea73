"""Embedding: do the backward and the training step depend on the table size? autograd-lite
against PyTorch.

The work: a batch of 32 x 20 token indices looked up in an ``nn.Embedding`` table of ``dim``=128
float32 columns, for tables of 1,000, 50,000 and 500,000 rows. Cases:

* ``fresh``: the backward of a fixed output gradient (the forward untimed), ``.grad`` None before
  each one (what ``zero_grad()`` does). autograd-lite keeps the rows used as the table's ``.grad``
  (a ``RowSparseGradTensor``, ``autograd_lite/sparse_grad.py``), made dense only if read;
  PyTorch's dense embedding backward makes a zero table and adds the rows into it;
* ``existing``: the same backward into an existing ``.grad`` (gradient accumulation, or
  ``zero_grad(set_to_none=False)``): autograd-lite scatter-adds the rows in place; PyTorch makes a
  dense table gradient and adds it;
* ``sgd``, ``momentum``, ``adam``: a whole training step, timed: ``zero_grad()``, forward,
  backward of the fixed gradient, ``step()`` of SGD (lr only), SGD with momentum 0.9, Adam. SGD
  without momentum updates only the rows used (in PyTorch too its dense update changes only
  those); momentum and Adam update every row, in both frameworks.

The two frameworks run interleaved, with the same threads. For each case and table the script
prints the median time per call of each, their ratio autograd-lite / PyTorch with the range of the
per-round ratios, the CPU time and minor page faults per call of each (less load-dependent: a
page first touched costs one fault; NumPy asks for 2 MB pages for large arrays), and at the end of
each case the largest/smallest table time of each framework (1.0: independent of the table size).
Both frameworks' results are checked against each other first.

Run from the repository root:
    python benchmarks/bench_embedding.py [--rows 1000 50000 500000] [--dim 128] [--rounds 7]
        [--repeat 5] [--step-repeat 2] [--threads 1] [--cases fresh existing sgd momentum adam]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from _timing import cpu_model, interleaved, limit_threads  # noqa: E402

BATCH, TOKENS = 32, 20
CASES = {"fresh": "backward, .grad None before each (zero_grad())",
         "existing": "backward into an existing .grad (accumulation)",
         "sgd": "training step, SGD(lr=0.1)",
         "momentum": "training step, SGD(lr=0.1, momentum=0.9)",
         "adam": "training step, Adam(lr=1e-3)"}
OPTIMIZERS = {"sgd": ("SGD", {"lr": 0.1}), "momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
              "adam": ("Adam", {"lr": 1e-3})}


class Meter:
    """Times ``work(prepare())`` ``repeat`` times per block, only ``work`` timed; keeps the CPU
    seconds and minor page faults per call of every block."""

    def __init__(self, prepare, work, repeat):
        self.prepare, self.work, self.repeat = prepare, work, repeat
        self.cpu, self.faults = [], []

    def __call__(self):
        seconds = cpu = faults = 0.0
        for _ in range(self.repeat):
            argument = self.prepare()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            begin, begin_cpu = time.perf_counter(), time.process_time()
            self.work(argument)
            seconds += time.perf_counter() - begin
            cpu += time.process_time() - begin_cpu
            faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        self.cpu.append(cpu / self.repeat)
        self.faults.append(faults / self.repeat)
        return seconds / self.repeat


def frameworks(rows, dim, rng):
    """(autograd-lite, PyTorch) tables with the same weights, indices and output gradient."""
    indices = rng.integers(0, rows, (BATCH, TOKENS))
    grad = rng.standard_normal((BATCH, TOKENS, dim)).astype(np.float32)
    ours, theirs = nn.Embedding(rows, dim), torch.nn.Embedding(rows, dim)
    theirs.weight.data = torch.from_numpy(ours.weight.detach().numpy().copy())
    return ((ag, ours, ag.Tensor(indices), ag.Tensor(grad)),
            (torch, theirs, torch.from_numpy(indices), torch.from_numpy(grad)))


def meters(case, rows, dim, repeat, step_repeat, rng):
    """One Meter per framework for ``case``; checks that the frameworks agree first."""
    made = []
    for lib, layer, indices, grad in frameworks(rows, dim, rng):
        if case in ("fresh", "existing"):
            def prepare(layer=layer, indices=indices):
                if case == "fresh":
                    layer.weight.grad = None
                return layer(indices)

            made.append(Meter(prepare, lambda out, grad=grad: out.backward(grad), repeat))
        else:
            name, options = OPTIMIZERS[case]
            optimizer = getattr(optim if lib is ag else torch.optim, name)(layer.parameters(),
                                                                            **options)

            def step(_, layer=layer, indices=indices, grad=grad, optimizer=optimizer):
                optimizer.zero_grad()
                layer(indices).backward(grad)
                optimizer.step()

            made.append(Meter(lambda: None, step, step_repeat))
        made[-1]()  # warm up (and, below, compare)
        made[-1].cpu.clear()
        made[-1].faults.clear()
        made[-1].layer = layer
    ours, theirs = (meter.layer.weight for meter in made)
    compared = (ours.grad, theirs.grad) if case in ("fresh", "existing") else (ours, theirs)
    error = np.abs(compared[0].detach().numpy() - compared[1].detach().numpy()).max()
    assert error < 1e-3, f"{case}: autograd-lite and PyTorch differ by {error}"
    return made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=(1_000, 50_000, 500_000))
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="backward calls per timed block")
    parser.add_argument("--step-repeat", type=int, default=2, help="training steps per block")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="+", choices=tuple(CASES), default=tuple(CASES))
    args = parser.parse_args()
    limit_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"CPU: {cpu_model()}; threads: {args.threads}; NumPy {np.__version__}, "
          f"PyTorch {torch.__version__}")
    print(f"Embedding, batch {BATCH} x {TOKENS} tokens, dim {args.dim}, float32; {args.rounds} "
          f"rounds, medians per call (CPU time and minor page faults: autograd-lite / PyTorch):")
    for case in args.cases:
        print(f" {CASES[case]}:")
        medians = {}
        for rows in args.rows:
            ours, theirs = meters(case, rows, args.dim, args.repeat, args.step_repeat, rng)
            comparison = interleaved(ours, theirs, args.rounds)
            medians[rows] = comparison
            low, high = comparison.ratio_range
            cpu_ours, cpu_theirs = np.median(ours.cpu), np.median(theirs.cpu)
            print(f"  {rows:>7,} rows: autograd-lite {comparison.ours_median * 1e3:8.2f} ms   "
                  f"PyTorch {comparison.theirs_median * 1e3:8.2f} ms   ratio "
                  f"{comparison.ratio:.3g} (per-round {low:.3g}-{high:.3g});  CPU "
                  f"{cpu_ours * 1e3:.2f} / {cpu_theirs * 1e3:.2f} ms (ratio "
                  f"{cpu_ours / cpu_theirs:.3g});  page faults {np.median(ours.faults):,.0f} / "
                  f"{np.median(theirs.faults):,.0f}")
            del ours, theirs
        small, large = medians[min(args.rows)], medians[max(args.rows)]
        print(f"  largest/smallest table: autograd-lite "
              f"{large.ours_median / small.ours_median:.2f}x, PyTorch "
              f"{large.theirs_median / small.theirs_median:.2f}x (1.0: independent of the table "
              "size)")


if __name__ == "__main__":
    main()
