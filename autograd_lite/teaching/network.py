"""``draw_network``: a small MLP drawn as the course draws it -- one circle per neuron in a column
per layer, a bias unit per layer, edges labelled with their weight (and gradient), each neuron with
its net input, activation and delta.

    ag.draw_network(model)                               # weights only
    ag.draw_network(model, x)                            # + net input and activation of sample 0
    ag.draw_network(model, x, target=y, loss_fn=loss)    # + dL/dW on the edges, delta on neurons

The model's ``nn.Linear`` layers are taken in the order they were registered; the modules between
two of them (``ReLU``, ``Sigmoid``, ...) make the activation. Values come from running ``x`` through
the model (forward hooks on its layers); gradients from ``ag.grad`` on ``loss_fn(model(x), target)``,
so no ``.grad`` is touched (without ``target``, a parameter's ``.grad`` is shown when it has one).
The course's delta is ``δ = -dL/dnet`` (its update ``W += lr·δ·aᵀ``). Layers wider than
``max_units`` show their first units and a note with the count left out.
"""
from __future__ import annotations

from html import escape

import numpy as np

from ..autodiff import grad as engine_grad
from ..function import no_grad
from ..tensor import Tensor
from .labels import format_number
from .language import check_language, text

LAYER_FILL = {"input": "#D6EAF8", "hidden": "#FFF5D6", "output": "#D5F5E3"}
POSITIVE, NEGATIVE, GRAD = "#1F618D", "#B03A2E", "#C0392B"


def _layers(model):
    """[(linear module, [activation modules after it])] in registration order."""
    if not hasattr(model, "named_modules"):
        raise TypeError(f"draw_network: model must be an nn.Module, got {type(model).__name__}")
    layers = []
    for _, module in model.named_modules():
        if module._modules:
            continue
        if type(module).__name__ == "Linear":
            layers.append((module, []))
        elif layers and not any(True for _ in module.parameters(recurse=False)):
            layers[-1][1].append(module)
    if not layers:
        raise ValueError(f"draw_network: {type(model).__name__} has no nn.Linear layer to draw")
    return layers


def _forward(model, layers, x, target, loss_fn):
    """(nets, activations, delta per layer, weight and bias gradients) for sample 0."""
    records = {}
    handles = []
    for index, (linear, activations) in enumerate(layers):
        handles.append(linear.register_forward_hook(
            lambda m, i, o, index=index: records.__setitem__(("net", index), o)))
        if activations:
            handles.append(activations[-1].register_forward_hook(
                lambda m, i, o, index=index: records.__setitem__(("act", index), o)))
    try:
        if target is None:
            with no_grad():
                model(x)
        else:
            output = model(x)
            loss = loss_fn(output, target)
    finally:
        for handle in handles:
            handle.remove()
    nets = [records[("net", i)] for i in range(len(layers))]
    acts = [records.get(("act", i), nets[i]) for i in range(len(layers))]
    deltas = w_grads = b_grads = None
    if target is not None:
        params = [p for linear, _ in layers for p in (linear.weight, linear.bias) if p is not None]
        grads = engine_grad(loss, nets + params, allow_unused=True)
        deltas = [-g._data if g is not None else None for g in grads[:len(nets)]]
        rest = list(grads[len(nets):])
        w_grads, b_grads = [], []
        for linear, _ in layers:
            w_grads.append(rest.pop(0))
            b_grads.append(rest.pop(0) if linear.bias is not None else None)
        w_grads = [g._data if g is not None else None for g in w_grads]
        b_grads = [g._data if g is not None else None for g in b_grads]
    first = (lambda t: t._data[0] if t._data.ndim > 1 else t._data)
    return ([first(n) for n in nets], [first(a) for a in acts],
            [d[0] if d is not None and d.ndim > 1 else d for d in deltas] if deltas else None,
            w_grads, b_grads)


class NetworkDiagram:
    """A drawn network (a matplotlib figure, 16:9 by default): ``write(path)`` saves SVG, PNG or PDF
    by the suffix; Jupyter shows it inline (SVG)."""

    def __init__(self, figure):
        self.figure = figure

    def write(self, path, dpi=120):
        import os

        if os.path.dirname(str(path)):
            os.makedirs(os.path.dirname(str(path)), exist_ok=True)
        self.figure.savefig(path, dpi=dpi, facecolor="white")
        return path

    def _repr_svg_(self):
        import io

        buffer = io.StringIO()
        self.figure.savefig(buffer, format="svg", facecolor="white")
        return buffer.getvalue()


def draw_network(model, x=None, *, target=None, loss_fn=None, max_units=16, precision=3,
                 input_names=None, output_names=None, title=None, lang=None, show_bias=True,
                 figsize=(16, 9), max_labels=60) -> NetworkDiagram:
    """Draw the MLP ``model`` as a neuron diagram (see the module docstring).

    Args:
        x: inputs (one sample, or a batch: values shown for sample 0, gradients summed over the
            batch as the engine does). target, loss_fn: with both, gradients and deltas are shown.
        max_units: widest layer drawn in full. precision: significant digits of the numbers.
        input_names / output_names: labels of the input and output units (e.g. feature names).
        figsize: inches (default 16:9, a slide). lang: "en" or "es". max_labels: a layer with
            more edges than this draws them without weight labels (a note says so).
    Returns a ``NetworkDiagram`` (``.write("net.svg" | ".png" | ".pdf")``; inline in Jupyter).
    """
    import matplotlib

    from matplotlib.figure import Figure

    lang = check_language(lang)
    layers = _layers(model)
    if (target is None) != (loss_fn is None):
        raise ValueError("draw_network: give both target= and loss_fn= (or neither)")
    if target is not None and x is None:
        raise ValueError("draw_network: target= needs the inputs x")
    nets = acts = deltas = w_grads = b_grads = None
    if x is not None:
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64))
        nets, acts, deltas, w_grads, b_grads = _forward(model, layers, x, target, loss_fn)
    if w_grads is None:
        w_grads = [l.weight.grad._data if l.weight.grad is not None else None for l, _ in layers]
        b_grads = [l.bias.grad._data if l.bias is not None and l.bias.grad is not None else None
                   for l, _ in layers]
    sizes = [layers[0][0].weight.shape[1]] + [l.weight.shape[0] for l, _ in layers]
    shown = [min(n, max_units) for n in sizes]
    x0 = None if x is None else (x._data[0] if x._data.ndim > 1 else x._data)

    figure = Figure(figsize=figsize)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 16)
    ax.set_ylim(0, 9)
    ax.axis("off")
    truncated = any(a < b for a, b in zip(shown, sizes))
    rows = max(shown) + (1 if show_bias else 0) + (1 if truncated else 0)
    step = min(7.0 / max(rows, 1), 1.9)
    radius = min(0.42 * step, 0.75)
    font = max(6.0, min(12.0, 26 * radius))
    columns = len(sizes)
    xs = [1.4 + c * (13.2 / max(columns - 1, 1)) for c in range(columns)]
    pos = {}
    for column, count in enumerate(sizes):
        more = 1 if shown[column] < count else 0
        total = shown[column] + more + (1 if show_bias and column < columns - 1 else 0)
        top = 4.3 + step * (total - 1) / 2
        for unit in range(shown[column]):
            pos[(column, unit)] = (xs[column], top - unit * step)
        if show_bias and column < columns - 1:
            pos[(column, "bias")] = (xs[column], top - (shown[column] + more) * step)
    # edges first (under the neurons), labels staggered along them so they do not pile up
    for index, (linear, _) in enumerate(layers):
        weight = linear.weight._data
        bias = linear.bias._data if linear.bias is not None else None
        sources = [(u, weight[:, u] if u != "bias" else bias,
                    w_grads[index][:, u] if u != "bias" and w_grads[index] is not None else
                    (b_grads[index] if u == "bias" else None))
                   for u in list(range(shown[index])) + (["bias"] if show_bias and bias is not None
                                                        else [])]
        for out in range(shown[index + 1]):
            t = 0.3 + 0.4 * (out / max(shown[index + 1] - 1, 1))
            labelled = len(sources) * shown[index + 1] <= max_labels
            for unit, values, grads in sources:
                value = float(values[out])
                grad = None if grads is None else float(grads[out])
                (x1, y1), (x2, y2) = pos[(index, unit)], pos[(index + 1, out)]
                colour = POSITIVE if value >= 0 else NEGATIVE
                ax.plot([x1, x2], [y1, y2], color=colour, alpha=0.55,
                        linewidth=0.6 + min(abs(value), 5.0) * 0.7,
                        linestyle="--" if unit == "bias" else "-", zorder=1)
                if not labelled:
                    continue
                label = format_number(value, precision)
                if grad is not None:
                    label += f" ({format_number(grad, precision)})"
                lx, ly = x1 + t * (x2 - x1), y1 + t * (y2 - y1)
                angle = float(np.degrees(np.arctan2((y2 - y1) * 16 / 16, (x2 - x1))))
                ax.text(lx, ly, label, fontsize=font * 0.72, color=colour, ha="center",
                        va="center", rotation=angle, rotation_mode="anchor", family="monospace",
                        bbox={"boxstyle": "round,pad=0.12", "facecolor": "white",
                              "edgecolor": "none", "alpha": 0.85}, zorder=2)
    from matplotlib.patches import Circle

    for column, count in enumerate(sizes):
        last = column == columns - 1
        kind = "input" if column == 0 else "output" if last else "hidden"
        heading = (text("net.input", lang) if column == 0 else text("net.output", lang) if last
                   else text("net.hidden", lang, index=column))
        if column > 0:
            heading += " (" + (", ".join(type(m).__name__ for m in layers[column - 1][1])
                               or "identity") + ")"
        ax.text(xs[column], 8.45, heading, ha="center", va="center", fontsize=14, color="#34495E",
                fontweight="bold")
        names = input_names if column == 0 else output_names if last else None
        for unit in range(shown[column]):
            cx, cy = pos[(column, unit)]
            ax.add_patch(Circle((cx, cy), radius, facecolor=LAYER_FILL[kind], edgecolor="#2E4053",
                                linewidth=1.6, zorder=3))
            name = names[unit] if names is not None and unit < len(names) else (
                f"x{unit + 1}" if column == 0 else f"{'o' if last else 'h'}{unit + 1}")
            lines = [(name, "#17202A", "bold")]
            if column == 0 and x0 is not None:
                lines.append((format_number(float(x0[unit]), precision), "#17202A", "normal"))
            elif column > 0 and nets is not None:
                lines.append((f"net {format_number(float(nets[column - 1][unit]), precision)}",
                              "#17202A", "normal"))
                lines.append((f"a {format_number(float(acts[column - 1][unit]), precision)}",
                              "#17202A", "normal"))
                if deltas is not None and deltas[column - 1] is not None:
                    lines.append((f"δ {format_number(float(deltas[column - 1][unit]), precision)}",
                                  GRAD, "bold"))
            gap = radius * 0.42
            for number, (words, colour, weight_) in enumerate(lines):
                ax.text(cx, cy + gap * ((len(lines) - 1) / 2 - number), words, ha="center",
                        va="center", fontsize=font * (1.0 if number == 0 else 0.85), color=colour,
                        fontweight=weight_, family="sans-serif" if number == 0 else "monospace",
                        zorder=4)
        if shown[column] < count:
            cx, cy = pos[(column, shown[column] - 1)]
            ax.text(cx, cy - step, text("net.more", lang, count=count - shown[column]),
                    ha="center", va="center", fontsize=11, color="#707B7C", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9})
        if (column, "bias") in pos:
            cx, cy = pos[(column, "bias")]
            ax.add_patch(Circle((cx, cy), radius * 0.6, facecolor="#F2F3F4", edgecolor="#99A3A4",
                                linestyle="--", linewidth=1.4, zorder=3))
            ax.text(cx, cy, "+1", ha="center", va="center", fontsize=font, color="#566573",
                    zorder=4)
            ax.text(cx, cy - radius * 0.6 - 0.18, text("net.bias", lang), ha="center", va="top",
                    fontsize=font * 0.8, color="#566573")
    notes = [text("net.legend", lang)]
    if max(
            (shown[i] + 1) * shown[i + 1] for i in range(columns - 1)) > max_labels:
        notes.append(text("net.unlabelled", lang, count=max_labels))
    if x is not None and x._data.ndim > 1 and x._data.shape[0] > 1:
        notes.append(f"x: sample 1 of {x._data.shape[0]}" if lang == "en"
                     else f"x: muestra 1 de {x._data.shape[0]}")
    ax.text(8, 0.25, "   ·   ".join(notes), ha="center", va="bottom", fontsize=12, color="#566573")
    if title:
        ax.text(8, 8.9, title, ha="center", va="top", fontsize=16, fontweight="bold")
    return NetworkDiagram(figure)
