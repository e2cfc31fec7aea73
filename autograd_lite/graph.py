"""Backprop graphs for teaching: ``draw_graph``, rendering, and backward one step at a time.

    import autograd_lite as ag
    loss = model(x).sum()
    with ag.graph.retaining_grads():            # keep .grad on intermediate tensors too
        loss.backward()                         # (or ag.retain_grads(True), or t.retain_grad())
    g = ag.draw_graph(loss, model=model, rules=True)
    g.write("graph.svg")                        # or .png / .pdf; g.source is the DOT text

    stepper = ag.BackwardStepper(loss2, model=model)   # a fresh graph: runs backward itself
    for step in stepper:
        print(step)                             # dL/dnet_o = dL/do * sigmoid'(net_o) = [...] ...
    stepper.write_frames("out/steps")           # numbered PNGs; stepper.write_gif("out/b.gif")

The implementation lives in ``autograd_lite.teaching`` (one concern per file).
"""
from contextlib import contextmanager

from .function import _GradMode, retain_grads
from .teaching import (BackpropGraph, BackwardStep, BackwardStepper, DotNotFoundError, draw_graph,
                       draw_network, save_graph)

__all__ = ["draw_graph", "save_graph", "BackpropGraph", "DotNotFoundError", "BackwardStepper",
           "BackwardStep", "retaining_grads", "draw_network"]


@contextmanager
def retaining_grads():
    """Inside, backward keeps ``.grad`` on every intermediate tensor (``ag.retain_grads(True)``),
    so ``draw_graph`` can show every gradient; the previous setting comes back on exit."""
    previous = _GradMode.retain_all
    retain_grads(True)
    try:
        yield
    finally:
        retain_grads(previous)
