"""``draw_graph``: the backprop graph of a tensor as a graphviz ``Digraph``.

One node per tensor (name, shape and dtype, value, gradient) and one per op (friendly name, plain
arguments, and in teaching mode the local derivative rule); edges run forward, from the inputs of an
op to the op and from the op to its outputs. Kinds of tensors have their own colours, explained by a
legend. ``cluster_modules`` boxes the nodes recorded inside each module; ``collapse_modules`` draws one
node per module instead (``collapse.py``: its parameters and buffers listed inside, the values passed
between modules on the edges with their shapes), which keeps a CNN or an LSTM legible. A module in
training mode that updates running statistics (BatchNorm) gets them drawn as buffer nodes with a
dashed "updates" edge. The picture is fitted to a 16:9 slide, or the ``aspect``/``size`` asked for,
by ``layout.py`` (direction, folding, margins), which the stepper's frames share.

Gradients of intermediate tensors are only kept when backward ran with ``ag.retain_grads(True)`` (or
``t.retain_grad()``) -- the graph says "grad not retained" otherwise; ``BackwardStepper`` keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import graphviz
import numpy as np

from . import labels, layout
from .collapse import collapsed
from .language import check_language, text
from .nodes import _fixed_size, _module_of, op_node, tensor_node
from .render import BackpropGraph
from .walk import TensorItem, collect

DIRECTIONS = ("LR", "TB", "RL", "BT")
AUTO_LEGIBLE = 0.4  # below this size on the slide, draw_graph prints fewer values in full


@dataclass
class DrawOptions:
    direction: str | None = None    # None: chosen to fit ``aspect`` (left-to-right when it fits)
    show_values: bool = True
    show_grads: bool = True
    show_shapes: bool = True
    cluster_modules: bool = False
    collapse_modules: bool = False
    rules: bool = False
    legend: bool = True
    max_elements: int = 36
    precision: int = 4
    title: str | None = None
    lang: str | None = None
    size: object = None             # (width, height) inches or "w,h": fit inside it
    aspect: float | None = layout.SLIDE_ASPECT
    node_sizes: dict | None = None  # node key -> (width, height) inches: frames share one layout
    fit: layout.Fit | None = None   # the layout chosen for the aspect ratio (folded: pinned)

    def __post_init__(self):
        self.lang = check_language(self.lang)
        if self.direction is not None:
            self.direction = str(self.direction).upper()
            if self.direction not in DIRECTIONS:
                raise ValueError(f"draw_graph: direction={self.direction!r} is not one of "
                                 f"{DIRECTIONS} (or None: chosen to fit the aspect ratio)")
        layout.target_aspect(self.aspect, self.size)  # checks both
        if not isinstance(self.max_elements, (int, np.integer)) or self.max_elements < 0:
            raise ValueError(f"draw_graph: max_elements must be an int >= 0, got {self.max_elements!r}")
        if not isinstance(self.precision, (int, np.integer)) or not 0 <= self.precision <= 12:
            raise ValueError(f"draw_graph: precision must be an int in [0, 12], got {self.precision!r}")


def draw_graph(output, model=None, names=None, *, direction=None, show_values=True,
               show_grads=True, show_shapes=True, cluster_modules=False, collapse_modules=False,
               rules=False, legend=True, max_elements=None, precision=4, title=None, lang=None,
               size=None, aspect=layout.SLIDE_ASPECT) -> BackpropGraph:
    """Draw the graph that produced ``output`` (a Tensor, or a list of them).

    Args:
        model: an ``nn.Module``; its ``named_parameters()``/``named_modules()`` name parameters
            (``fc1.weight``) and module clusters.
        names: extra names, ``{"net_h": tensor, ...}`` (or ``{tensor: "net_h"}``); ``t.name`` works too.
        direction: ``"LR"`` (inputs left, loss right), ``"TB"``, ``"RL"`` or ``"BT"``; by default
            (None) left-to-right or top-to-bottom, whichever fits ``aspect`` better.
        show_values / show_grads / show_shapes: what tensor nodes print. Values with at most
            ``max_elements`` elements are printed in full (``precision`` decimals), larger ones as
            mean/std/min/max. By default 36, or fewer (12, then 4) when the graph would otherwise
            be drawn below ``AUTO_LEGIBLE`` of its size on the slide.
        cluster_modules: box the nodes of each module. collapse_modules: one node per module.
        rules: teaching mode -- op nodes show their local derivative rule (``Mul: d/da = b``).
        legend: add the legend cluster. title: a caption at the top.
        lang: "en" or "es" for every text of the drawing (default: ``ag.teaching.set_language``).
        aspect: the picture's width / height, 16/9 (a slide) by default: the direction is chosen,
            and a long graph folded into rows (or columns), so the graph is drawn largest in that
            shape, and white margins make the picture exactly that shape. None: no fitting.
        size: ``(width, height)`` in inches (or graphviz's ``"w,h"``): fit that shape, and scale
            the picture down to fit inside it (it overrides ``aspect``).

    Fitting needs graphviz's ``dot`` program (without it the graph is drawn left to right, as is).
    Returns a ``BackpropGraph`` (a ``graphviz.Digraph``): ``.source`` is the DOT text; save with
    ``.write("graph.svg")`` or ``ag.save_graph``; Jupyter shows it inline.
    """
    options = DrawOptions(direction, show_values, show_grads, show_shapes, cluster_modules,
                          collapse_modules, rules, legend, 36 if max_elements is None else
                          max_elements, precision, title, lang, size, aspect)
    items = collect(output, model, names)
    fit, layouts = fit_layout(items, options)
    for fewer in (12, 4):  # too small on the slide: print fewer values in full, as a teacher would
        if max_elements is not None or fit is None or fit.scale >= AUTO_LEGIBLE:
            break
        smaller = replace(options, max_elements=fewer)
        smaller_fit, smaller_layouts = fit_layout(items, smaller)
        if smaller_fit.scale > fit.scale:
            options, fit, layouts = smaller, smaller_fit, smaller_layouts
    if fit is None:
        return render_items(items, replace(options, direction=options.direction or "LR"))
    graph = render_items(items, replace(options, fit=fit))
    final = layouts[fit.direction] if fit.positions is None else layout.layout_of(graph)
    layout.pad_to_aspect(graph, final, layout.target_aspect(options.aspect, options.size),
                         options.size)
    return graph


def fit_layout(items, options, grads=None):
    """``(layout.Fit, {direction: dot layout})`` for drawing ``items`` in the options' aspect
    ratio (or size), or ``(None, {})`` when no fitting is asked for or ``dot`` is missing."""
    aspect = layout.target_aspect(options.aspect, options.size)
    if aspect is None:
        return None, {}
    directions = [options.direction] if options.direction else ["LR", "TB"]
    try:
        layouts = {direction: layout.layout_of(render_items(
            items, replace(options, direction=direction, size=None, fit=None), grads))
            for direction in directions}
    except graphviz.ExecutableNotFound:
        return None, {}
    return layout.choose(layouts, aspect, foldable=not options.cluster_modules), layouts


def render_items(items, options, grads=None, highlight=None, caption=None) -> BackpropGraph:
    """Build the Digraph of collected ``items``.

    ``grads`` (used by the stepper) replaces ``.grad``: {id(tensor): (array, partial?)}; tensors
    missing from it have "no grad yet". ``highlight`` maps node keys to "current" or "updated".
    """
    direction = (options.fit.direction if options.fit else options.direction) or "LR"
    graph = BackpropGraph("backprop", graph_attr={
        "rankdir": direction, "fontname": "DejaVu Sans", "nodesep": "0.25",
        "ranksep": "0.35", "newrank": "true", "bgcolor": "white"},
        node_attr={"fontname": "DejaVu Sans", "shape": "box", "margin": "0.08,0.04"},
        edge_attr={"color": "#566573", "arrowsize": "0.7", "fontname": "DejaVu Sans",
                   "fontsize": "9", "fontcolor": labels.MUTED_COLOUR})
    if options.size:
        graph.attr(size="{:g},{:g}".format(*layout.parse_size(options.size)))
    top = [labels.title_row(options.title)] if options.title else []
    if caption or top:
        rows = top + (labels._rows(caption, size=12) if caption else [])
        graph.attr(label=labels.table(rows), labelloc="b" if caption else "t", labeljust="l")
    highlight = highlight or {}
    backward_ran = grads is not None or any(
        t.tensor.grad is not None for t in items.tensors.values() if t.tensor._ctx is None)
    if options.collapse_modules:
        kinds = collapsed(graph, items, options, grads, backward_ran, highlight)
    else:
        kinds = _full(graph, items, options, grads, backward_ran, highlight)
    if options.legend:
        _legend(graph, kinds, options, modules=options.collapse_modules and bool(items.module_names))
    if options.fit is not None and options.fit.positions:
        layout.pin(graph, options.fit)
    return graph


def _full(graph, items, options, grads, backward_ran, highlight):
    placement = {}  # node key -> cluster (module display name) or None
    for op in items.ops:
        placement[op.key] = _module_of(items, op) if options.cluster_modules else None
    for item in items.tensors.values():
        cluster = None
        if options.cluster_modules:
            if item.producer is not None:
                cluster = placement[item.producer.key]
            elif item.owner is not None and all(c.module is item.owner for c in item.consumers):
                cluster = items.module_names.get(id(item.owner))
        placement[item.key] = cluster

    def emit(target, key):
        if key.startswith("op"):
            op_node(target, ops_by_key[key], options, highlight)
        else:
            tensor_node(target, tensors_by_key[key], options, grads, backward_ran, highlight)

    ops_by_key = {op.key: op for op in items.ops}
    tensors_by_key = {item.key: item for item in items.tensors.values()}
    updated = _updated_buffers(items)
    for item, op_key in updated:
        tensors_by_key[item.key] = item
        placement[item.key] = placement[op_key]
    _emit_clustered(graph, placement, items, emit)
    buffer_colour = labels.KIND_STYLE["buffer"]["color"]
    for item, op_key in updated:
        graph.edge(op_key, item.key, label=text("updates", options.lang), style="dashed",
                   color=buffer_colour, fontcolor=buffer_colour)
    current_edges = {k for k, v in highlight.items() if v == "current"}
    for op in items.ops:
        hot = op.key in current_edges
        for _, item, role in op.inputs:
            attrs = {"label": role} if role else {}
            if hot and item.tensor.requires_grad:  # constants get no gradient arrow
                attrs.update(color=labels.HIGHLIGHT_STYLE["color"], penwidth="2", dir="back")
            graph.edge(item.key, op.key, **attrs)
        for item in op.outputs:
            graph.edge(op.key, item.key, **({"color": labels.HIGHLIGHT_STYLE["color"],
                                              "penwidth": "2", "dir": "back"} if hot else {}))
    return ({item.kind for item in items.tensors.values()} | ({"op"} if items.ops else set())
            | ({"buffer"} if updated else set()))


def _updated_buffers(items):
    """[(TensorItem, op key)] for the running statistics that modules in training mode updated
    in this forward (BatchNorm's running mean and variance): no op takes them as an input, so
    they are drawn beside the module's first op with a dashed "updates" edge."""
    found, seen = [], set()
    in_graph = {id(item.tensor) for item in items.tensors.values()}
    for op in items.ops:
        module = op.module
        if module is None or id(module) in seen:
            continue
        seen.add(id(module))
        if not (getattr(module, "track_running_stats", False) and getattr(module, "training", False)
                and hasattr(module, "named_buffers")):
            continue
        name = items.module_names.get(id(module), type(module).__name__)
        for local, buffer in module.named_buffers(recurse=False):
            if buffer is None or id(buffer) in in_graph or buffer._data.dtype.kind != "f":
                continue
            found.append((TensorItem(f"b{len(found)}", buffer, f"{name}.{local}", False, "buffer"),
                          op.key))
    return found


def _emit_clustered(graph, placement, items, emit):
    """Emit nodes, nesting module clusters by qualified name (``features`` holds ``features.0``)."""
    members = {}
    for key, cluster in placement.items():
        members.setdefault(cluster, []).append(key)
    children = {}
    for cluster in [c for c in members if c is not None]:
        child = cluster
        while True:
            parent = items.module_parents.get(child)
            children.setdefault(parent, [])
            if child not in children[parent]:
                children[parent].append(child)
            if parent is None:
                break
            child = parent
    types = {items.module_names[id(op.module)]: type(op.module).__name__
             for op in items.ops if op.module is not None}

    cluster_keys = {}

    def emit_cluster(target, cluster):
        for key in members.get(cluster, ()):
            emit(target, key)
        for child in children.get(cluster, ()):
            key = cluster_keys.setdefault(child, f"cluster_m{len(cluster_keys)}")
            with target.subgraph(name=key) as sub:
                kind = types.get(child)
                sub.attr(label=f"{child} : {kind}" if kind and kind not in child else child,
                         style="rounded,dashed", color="#BA4A00", fontcolor="#873600",
                         fontsize="12", labeljust="l")
                emit_cluster(sub, child)
    emit_cluster(graph, None)


def _legend(graph, kinds, options, modules=False):
    """One table node explaining the colours of the kinds of nodes drawn (``kinds`` may hold "op")."""
    lang = options.lang
    entries = [(text("kind." + k, lang), labels.KIND_STYLE[k]) for k in labels.KIND_STYLE if k in kinds]
    if "op" in kinds:
        entries.append((text("kind.op", lang), labels.OP_STYLE))
    if modules:
        entries.append((text("kind.module", lang), labels.MODULE_STYLE))
    graph.node("legend", labels.legend_label(entries, options.show_grads, text("legend", lang),
                                             text("legend.grad", lang)), shape="plaintext", margin="0",
               **_fixed_size(options, "legend"))
