"""Teaching tools: backprop graphs drawn with graphviz, and backward run one node at a time.

* ``walk``    -- reads the recorded graph of a tensor into plain items (tensors, ops, modules, names);
* ``rules``   -- friendly op names, each op's local derivative rule, and the chain-rule line with numbers;
* ``labels``  -- number formatting and the HTML-like labels of graph nodes (colours, legend);
* ``draw``    -- ``draw_graph``: the graphviz ``Digraph`` (clusters per module, running statistics);
* ``nodes``   -- the tensor and op nodes; ``collapse`` -- one node per module (``collapse_modules``);
* ``layout``  -- fitting a drawing to a slide (16:9 or any aspect/size): the direction, folding a long
  graph into rows or columns, margins to the exact shape; shared by ``draw`` and ``stepper``;
* ``render``  -- ``BackpropGraph`` (SVG/PNG/PDF through ``dot``, inline in Jupyter) and ``save_graph``;
* ``stepper`` -- ``BackwardStepper``: backward one node at a time, a highlighted graph and a chain-rule
  line per step, frames as numbered SVG/PNG files and an animated GIF;
* ``html``    -- the stepper as one self-contained interactive HTML page (and Jupyter widget);
* ``latex``   -- the stepper's chain rule as LaTeX in the course's notation;
* ``check``   -- ``check``: a student's hand-computed numbers against the engine, first slip first;
* ``network`` -- ``draw_network``: a small MLP as the course's neuron diagram;
* ``language``-- English and Spanish for every teaching text (``set_language``, ``lang=``).

The public names are re-exported by ``autograd_lite.graph`` and ``autograd_lite``.
"""
from .check import CheckReport, check
from .draw import draw_graph
from .language import get_language, set_language
from .network import draw_network
from .render import BackpropGraph, DotNotFoundError, save_graph
from .stepper import BackwardStepper, BackwardStep

__all__ = ["draw_graph", "BackpropGraph", "DotNotFoundError", "save_graph", "BackwardStepper",
           "BackwardStep", "check", "CheckReport", "set_language", "get_language", "draw_network"]
