"""Backward, one node at a time, with the chain rule written out at every step.

``BackwardStepper(loss)`` runs the same algorithm as ``loss.backward()`` (``autodiff.run_backward``):
nodes in reverse topological order, each node's ``backward`` called once with the summed gradient of
its outputs, gradients delivered to its inputs -- but it stops after each node and hands back a
``BackwardStep``: the op, dL/d(output), the gradient sent to each input, one chain-rule line per input
with the numbers, e.g.

    dL/dnet_o = dL/do * sigmoid'(net_o) = [-0.6196, 0.4621, 0.4144] * [0.2357, 0.2486, 0.2427] = ...

and ``step.graph()``, the backprop graph with that op highlighted and every gradient known so far.
Leaves accumulate into ``.grad`` exactly as with ``backward()``; intermediate tensors keep their
``.grad`` too (``retain_grads=False`` turns that off), so ``draw_graph`` afterwards shows them all.

    stepper = ag.BackwardStepper(loss, model=net)
    for step in stepper:
        print(step)                      # the chain-rule lines
    stepper.write_frames("out/steps")    # step_000.png (before backward), step_001.png, ...
    stepper.write_gif("out/backward.gif")
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil

import numpy as np

from ..autodiff import _accumulate_leaf, _root_gradient
from ..graph_walk import topological_order
from ..backward_results import zeros_like_output
from ..sparse_grad import densify
from ..hooks import _apply_hooks
from ..function import no_grad
from ..tensor import Tensor
from .draw import DrawOptions, fit_layout, render_items
from .layout import pad_frames, target_aspect
from .render import BackpropGraph
from .language import text
from .rules import chain_rule_line
from .walk import collect


_NODE_LINE = re.compile(r"^\t+(\w+) (\[.*)$", re.S)


def _node_sizes(graphs):
    """{node key: (width, height)} in inches over ``graphs``: every node statement of every graph
    laid out in one ``dot`` run (no edges: only the sizes of the labels matter, and one run is
    far quicker than one per frame)."""
    combined = BackpropGraph("sizes", graph_attr=dict(graphs[0].graph_attr),
                             node_attr=dict(graphs[0].node_attr))
    keys = {}
    for number, graph in enumerate(graphs):
        for line in graph.body:
            match = _NODE_LINE.match(line)
            if match and match.group(1) not in ("node", "edge", "graph"):
                name = f"f{number}_{match.group(1)}"
                keys[name] = match.group(1)
                combined.body.append(f"\t{name} {match.group(2)}")
    sizes = {}
    layout = json.loads(combined.pipe(format="json", encoding="utf-8"))
    for obj in layout.get("objects", ()):
        if obj.get("name") in keys and "width" in obj:
            key, size = keys[obj["name"]], (float(obj["width"]), float(obj["height"]))
            old = sizes.get(key, (0.0, 0.0))
            sizes[key] = (max(size[0], old[0]), max(size[1], old[1]))
    return sizes


class BackwardStep:
    """One node of backward: ``index`` (1-based), ``op`` (title ``op.title``), ``upstream`` (dL/dy
    arrays, one per output), ``input_grads`` ([(input position, name, gradient array)]) and
    ``lines`` (the chain rule, one line per input that needs a gradient)."""

    def __init__(self, stepper, index, op, upstream, input_grads, lines, snapshot):
        self.stepper, self.index, self.op = stepper, index, op
        self.upstream, self.input_grads, self.lines = upstream, input_grads, lines
        self._snapshot = snapshot

    @property
    def caption(self):
        return [text("step", self.stepper.options.lang, index=self.index, total=self.stepper.total,
                     op=self.op.title)] + self.lines

    def graph(self, caption=True):
        """The backprop graph at the end of this step, the current op highlighted (every step's
        graph has the same layout)."""
        highlight = {self.op.key: "current"}
        for _, item, _ in self.op.inputs:
            if id(item.tensor) in self._snapshot:
                highlight[item.key] = "updated"
        return render_items(self.stepper.items, self.stepper._stable_options(), self._snapshot,
                            highlight, self.caption if caption else None)

    def _raw_graph(self):
        highlight = {self.op.key: "current"}
        return render_items(self.stepper.items, self.stepper.options, self._snapshot, highlight)

    def __str__(self):
        return "\n".join(self.caption)

    def __repr__(self):
        return f"<BackwardStep {self.index}: {self.op.title}, {len(self.lines)} line(s)>"


class BackwardStepper:
    """Iterate over the steps of ``output.backward(gradient)``; see the module docstring.

    Draw options (``direction``, ``collapse_modules``, ``show_values``, ``lang``, ``size``, ...) are
    those of ``draw_graph``; ``rules`` (local derivative rules on op nodes) defaults to True here.
    Every frame is laid out with the same node sizes (the largest each node takes in any frame),
    so nodes stay in place from step to step.

    ``to_html(path)`` writes the interactive walk (one self-contained file), ``to_latex()`` the
    chain rule as a LaTeX document; in Jupyter the stepper shows as the interactive walk.
    """

    def __init__(self, output, gradient=None, model=None, names=None, *, retain_grads=True,
                 retain_graph=False, **draw_options):
        if not isinstance(output, Tensor):
            raise TypeError(f"BackwardStepper: output must be a Tensor, got {type(output).__name__}")
        seed = _root_gradient(output, gradient)
        if output._ctx is None:
            raise ValueError("BackwardStepper: the output is a leaf (no op produced it): there is "
                             "no backward to step through")
        draw_options.setdefault("rules", True)
        self.options = DrawOptions(**draw_options)
        self.items = collect(output, model, names)
        self.output, self.retain_grads, self.retain_graph = output, retain_grads, retain_graph
        self.order = topological_order([output._ctx])
        self.total = len(self.order)
        self.steps = []
        self._pending = {output._ctx: [None] * len(output._ctx.outputs)}
        self._pending[output._ctx][output._out_index] = seed
        self._shown = {id(output): (seed._data, False)}
        self._uses_left = {id(t.tensor): len(t.consumers) for t in self.items.tensors.values()}
        self._initial = dict(self._shown)
        self._owned = set()
        self._held = {}  # id(leaf) -> (leaf, summed gradient) for leaves with hooks
        self._iterator = self._run()
        self._sizes = self._fitted = None

    @property
    def loss_name(self):
        return self.items.loss_name

    def initial_graph(self):
        """The graph before the first step (only dL/dL = 1 known)."""
        return self._initial_graph(self._stable_options())

    def _initial_graph(self, options, caption=True):
        lines = [text("before", options.lang, loss=self.loss_name)] if caption else None
        return render_items(self.items, options, self._initial, {}, lines)

    def _stable_options(self):
        """The draw options with every node's size fixed to the largest it takes in any frame."""
        if self._sizes is None:
            steps = self.run()
            sizes = {}
            raw = [self._initial_graph(self.options, False)] + [step._raw_graph() for step in steps]
            for key, size in _node_sizes(raw).items():
                old = sizes.get(key, (0.0, 0.0))
                sizes[key] = (max(size[0], old[0]), max(size[1], old[1]))
            self._sizes = sizes
            self._fitted = self._fit()
        options = DrawOptions(**{k: v for k, v in vars(self.options).items()})
        options.node_sizes, options.fit = self._sizes, self._fitted
        return options

    def _fit(self):
        """The shared layout of every frame, fitted to the draw options' aspect ratio (16:9 by
        default) or size by ``layout.choose`` (as ``draw_graph`` does): the direction, and for a
        long graph pinned positions that fold it into rows. ``dot`` lays out the last frame (every
        node at its shared size). Returns a ``layout.Fit``, or None (no fitting asked for, or no
        ``dot``)."""
        base = DrawOptions(**vars(self.options))
        base.node_sizes = self._sizes
        snapshot = self.steps[-1]._snapshot if self.steps else self._initial
        fit, _ = fit_layout(self.items, base, snapshot)
        return fit

    def __iter__(self):
        # Not ``yield from self._iterator``: closing an abandoned loop would close the stepper too.
        index = 0
        while True:
            if index == len(self.steps) and next(self._iterator, None) is None:
                return
            yield self.steps[index]
            index += 1

    def __next__(self):
        return next(self._iterator)

    def run(self):
        """Run the remaining steps; return all steps."""
        for _ in self._iterator:
            pass
        return list(self.steps)

    def transcript(self) -> str:
        return "\n\n".join(str(step) for step in self.run())

    def _run(self):
        op_items = {id(op.ctx): op for op in self.items.ops}
        tensor_items = self.items.tensors
        loss = self.loss_name
        for node in self.order:
            grads = self._pending.pop(node, None)
            if grads is None or all(g is None for g in grads):
                continue
            grads = [g if g is not None else zeros_like_output(node, i) for i, g in enumerate(grads)]
            for index, hooks in (node._tensor_hooks or {}).items():  # as backward() runs them
                if hooks:
                    grads[index] = _apply_hooks(hooks, grads[index])
            with no_grad():
                in_grads = node.backward(node, *grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            in_grads = tuple(map(densify, in_grads))  # the steps show dense gradients
            if len(in_grads) != len(node.inputs):
                raise RuntimeError(f"{node.name()}.backward returned {len(in_grads)} gradient(s) but "
                                   f"forward took {len(node.inputs)} argument(s)")
            op = op_items[id(node)]
            arguments = op.arguments
            if self.retain_grads:
                for ref, grad in zip(node.outputs, grads):
                    out = ref()
                    if out is not None and out._ctx is node:
                        out.grad = grad.detach()
            names = [tensor_items[id(v)].name if isinstance(v, Tensor) and id(v) in tensor_items
                     else None for v in arguments]
            names.append(op.outputs[0].name if op.outputs else "y")
            lines, sent = [], []
            for position, (inp, needed, grad) in enumerate(zip(arguments, node.needs_input_grad,
                                                               in_grads)):
                if not needed or grad is None:
                    continue
                if grad._data.shape != inp._data.shape:
                    raise RuntimeError(f"{node.name()}.backward returned a gradient of shape "
                                       f"{grad.shape} for an input of shape {inp.shape}")
                if grad._data.dtype != inp._data.dtype:
                    grad = grad.to(inp.dtype)
                lines.append(self._line(node, op, position, names, grads[0]._data, grad._data, inp,
                                        loss))
                sent.append((position, names[position], grad._data))
                self._deliver(inp, grad)
            if not self.retain_graph:
                node._saved = None
            step = BackwardStep(self, len(self.steps) + 1, op, [g._data for g in grads], sent, lines,
                                dict(self._shown))
            self.steps.append(step)
            yield step
        for leaf, grad in self._held.values():  # hooked leaves: their hooks see the summed gradient
            grad = _apply_hooks(leaf._backward_hooks, grad)
            self._owned.add(id(grad._data))  # a hook may have kept it: the leaf keeps a copy
            _accumulate_leaf(leaf, grad, False, self._owned)
        self._held.clear()

    def _line(self, node, op, position, names, upstream, grad, inp, loss):
        line = chain_rule_line(node, op.title, position, names, upstream, grad, loss,
                               self.options.precision, self.options.lang)
        uses = len(self.items.tensors[id(inp)].consumers) if id(inp) in self.items.tensors else 1
        if uses > 1:
            done = uses - self._uses_left.get(id(inp), uses) + 1
            line = (line.replace(" = ", " += ", 1) + "   "
                    + text("use_of", self.options.lang, done=done, uses=uses))
        return line

    def _deliver(self, inp, grad):
        key = id(inp)
        self._uses_left[key] = self._uses_left.get(key, 1) - 1
        previous = self._shown.get(key)
        total = grad._data if previous is None else previous[0] + grad._data
        self._shown[key] = (total, self._uses_left[key] > 0)
        ctx = inp._ctx
        if ctx is not None:
            slots = self._pending.setdefault(ctx, [None] * len(ctx.outputs))
            index = inp._out_index
            slots[index] = grad if slots[index] is None else slots[index] + grad
        elif inp._backward_hooks:
            held = self._held.get(id(inp))
            self._held[id(inp)] = (inp, grad if held is None else held[1] + grad)
        else:
            _accumulate_leaf(inp, grad, False, self._owned)

    # ----------------------------------------------------------------- frames
    def frames(self, captions=True):
        """The graphs: before backward, then one per step (runs the remaining steps)."""
        options = self._stable_options()
        frames = ([self._initial_graph(options, captions)]
                  + [step.graph(captions) for step in self.run()])
        aspect = target_aspect(options.aspect, None)
        if aspect is not None and options.size is None and shutil.which("dot"):
            pad_frames(frames, aspect)  # one canvas of the slide's shape for every frame
        return frames

    # ----------------------------------------------------------------- HTML and LaTeX
    def to_html(self, path=None, lang=None, seconds_per_frame=1.5) -> str:
        """The interactive walk as one self-contained HTML page (no network access needed):
        the graph with the current node highlighted, the chain-rule lines with numbers, the node's
        value and gradient, Previous/Next/Play buttons and the arrow keys. Writes it to ``path``
        when given; returns the HTML text."""
        from .html import page

        document = page(self, lang or self.options.lang, seconds_per_frame)
        if path is not None:
            if os.path.dirname(str(path)):
                os.makedirs(os.path.dirname(str(path)), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(document)
        return document

    def _repr_html_(self):
        from .html import widget

        return widget(self, self.options.lang)

    def to_latex(self, path=None, lang=None, standalone=True) -> str:
        """The chain-rule steps in LaTeX (``\\frac{\\partial L}{\\partial W^{[2]}}``, course
        notation: ``W2`` is written ``W^{[2]}``), a standalone document unless ``standalone=False``
        (then the body only); written to ``path`` when given."""
        from .latex import document

        source = document(self, lang or self.options.lang, standalone)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(source)
        return source

    def _repr_latex_(self):
        from .latex import document

        return document(self, self.options.lang, standalone=False, display=True)

    def write_frames(self, directory="out/steps", format="png", prefix="step", dpi=96):
        """Write numbered frames ``step_000.<format>`` (before backward), ``step_001`` ... to
        ``directory``; ``format`` is "png", "svg" or "pdf". Returns the list of paths."""
        if format not in ("png", "svg", "pdf"):
            raise ValueError(f"write_frames: format must be 'png', 'svg' or 'pdf', got {format!r}")
        os.makedirs(directory, exist_ok=True)
        paths = []
        for number, graph in enumerate(self.frames()):
            if format == "png":
                graph.attr(dpi=str(dpi))
            path = os.path.join(directory, f"{prefix}_{number:03d}.{format}")
            with open(path, "wb") as handle:
                handle.write(graph.pipe(format=format))
            paths.append(path)
        return paths

    def write_gif(self, path="out/backward.gif", seconds_per_frame=2.0, dpi=72, png_files=None):
        """An animated GIF of the frames (Pillow, which matplotlib installs); returns ``path``.

        ``png_files``: frames already written by ``write_frames(format="png")``, to reuse them
        instead of rendering again."""
        from PIL import Image

        if png_files is not None:
            sources = [open(name, "rb").read() for name in png_files]
        else:
            sources = []
            for graph in self.frames():
                graph.attr(dpi=str(dpi))
                sources.append(graph.pipe(format="png"))
        images = [Image.open(io.BytesIO(data)).convert("RGB") for data in sources]
        width = max(image.width for image in images)
        height = max(image.height for image in images)
        frames = []
        for image in images:  # frames share one layout: pin each to the top left of the canvas
            frame = Image.new("RGB", (width, height), "white")
            frame.paste(image, (0, 0))
            frames.append(frame)
        # One palette for every frame: the 256 commonest exact colours of all frames (the flat
        # fills of the node kinds, the highlight and the text colours cover most pixels), so the
        # light fills of the legend kinds survive exactly and stay distinct; anti-aliased edge
        # pixels go to their nearest palette colour.
        counts = {}
        for frame in frames:
            for count, colour in frame.getcolors(width * height):
                counts[colour] = counts.get(colour, 0) + count
        common = np.array(sorted(counts, key=counts.get, reverse=True)[:256], dtype=np.int64)
        flat_palette = [int(v) for v in common.ravel()] + [0] * (3 * (256 - len(common)))
        canvas = []
        for frame in frames:
            pixels = np.asarray(frame, dtype=np.int64).reshape(-1, 3)
            packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
            packed_codes, inverse = np.unique(packed, return_inverse=True)
            codes = np.stack([packed_codes >> 16, (packed_codes >> 8) & 255, packed_codes & 255], 1)
            distance = ((codes[:, None, :] - common[None, :, :]) ** 2).sum(axis=2)
            index = distance.argmin(axis=1).astype(np.uint8)[np.ravel(inverse)]
            image = Image.fromarray(index.reshape(height, width), "P")
            image.putpalette(flat_palette)
            canvas.append(image)
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        canvas[0].save(path, save_all=True, append_images=canvas[1:],
                       duration=int(seconds_per_frame * 1000), loop=0)
        return path
