"""Teaching tools: backprop graphs drawn with graphviz, and backward run one node at a time.

* ``walk``    -- reads the recorded graph of a tensor into plain items (tensors, ops, modules, names);
* ``rules``   -- friendly op names, each op's local derivative rule, and the chain-rule line with numbers;
* ``labels``  -- number formatting and the HTML-like labels of graph nodes (colours, legend);
* ``draw``    -- ``draw_graph``: the graphviz ``Digraph`` (clusters per module, collapse per module);
* ``render``  -- ``BackpropGraph`` (SVG/PNG/PDF through ``dot``, inline in Jupyter) and ``save_graph``;
* ``stepper`` -- ``BackwardStepper``: backward one node at a time, a highlighted graph and a chain-rule
  line per step, frames as numbered SVG/PNG files and an animated GIF.

The public names are re-exported by ``autograd_lite.graph`` and ``autograd_lite``.
"""
from .draw import draw_graph
from .render import BackpropGraph, DotNotFoundError, save_graph
from .stepper import BackwardStepper, BackwardStep

__all__ = ["draw_graph", "BackpropGraph", "DotNotFoundError", "save_graph", "BackwardStepper",
           "BackwardStep"]
