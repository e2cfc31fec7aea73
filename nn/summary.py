"""``model.summary(input_shape)``: the Keras-style table of layers, output shapes and parameters.

It runs forward passes on zeros of shape (1, *input_shape) and (2, *input_shape) in eval mode and
without recording a graph (so dropout draws no random numbers), collecting each leaf layer's output
shape with a forward hook. The dimensions that follow the batch size are printed as ``None``, as
Keras does (dim 1 of an RNN's ``h_n``, which is (num_layers, N, H)).

Parameter counts follow Keras: a layer's count includes its floating-point buffers (BatchNorm's
running mean and variance, Keras' "moving_mean"/"moving_variance"), and the totals count them as
non-trainable, with frozen parameters (``requires_grad=False``).
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import no_grad
from autograd_lite.tensor import Tensor

_WIDTHS = (29, 26, 12)


def _shapes(output):
    """The shapes in a layer's output: a tuple for a Tensor, a list for a tuple/list of them."""
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shapes(o) for o in output]
    return type(output).__name__


def _shape_text(one, two=None):
    """Keras' text for ``one`` (the shapes at batch size 1): the dims that change with the batch
    size (``two``: the shapes at batch size 2) print as None -- dim 1 of an RNN's h_n, not its dim 0
    -- or, when only one run is known, the first dim."""
    if isinstance(one, list):
        twos = two if isinstance(two, list) and len(two) == len(one) else [None] * len(one)
        return "[" + ", ".join(_shape_text(a, b) for a, b in zip(one, twos)) + "]"
    if not isinstance(one, tuple):
        return one
    if isinstance(two, tuple) and len(two) == len(one):
        dims = tuple(None if a != b else a for a, b in zip(one, two))
    else:
        dims = (None,) + one[1:]
    return str(dims).replace(",)", ")")


def _wrapped(shape_text, width):
    """A long list of output shapes cut after its top-level commas, so the count column stays
    in place (an LSTM's ``[(None, 10, 5), [(2, None, 5), (2, None, 5)]]``)."""
    if len(shape_text) <= width or not shape_text.startswith("["):
        return [shape_text]
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(shape_text):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 1:
            pieces.append(shape_text[start:index + 1])
            start = index + 2
    pieces.append(shape_text[start:])
    return pieces


def _row(cells):
    return "".join(f" {str(cell):<{width - 1}}" for cell, width in zip(cells, _WIDTHS)).rstrip()


def _counted_buffers(module, recurse=True):
    """The buffers Keras would count as non-trainable weights: the floating-point ones saved in the
    state_dict (BatchNorm's running mean and variance; not its integer num_batches_tracked)."""
    found = []
    for owner in (module.modules() if recurse else [module]):
        for name, buffer in owner._buffers.items():
            if buffer is not None and name not in owner._non_persistent_buffers and \
                    buffer._data.dtype.kind == "f":
                found.append(buffer)
    return found


def summary(model, input_shape, dtype=None, print_fn=print, lang=None):
    """Print the table through ``print_fn`` and return it as a string. ``input_shape`` excludes the
    batch dimension (a leading None, as in Keras' ``build((None, 4))``, is dropped). ``lang="es"``
    (or ``ag.teaching.set_language("es")``) prints the headings in Spanish."""
    from autograd_lite.teaching.language import text

    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if input_shape and input_shape[0] is None:  # Keras' build((None, 4)): None is the batch
        input_shape = input_shape[1:]
    if not all(isinstance(size, (int, np.integer)) and size > 0 for size in input_shape):
        raise ValueError(f"summary: input_shape must be positive ints without the batch dimension, "
                         f"e.g. (1, 28, 28), got {input_shape}")
    if dtype is None:
        dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
    leaves = [(name, module) for name, module in model.named_modules()
              if (not module._modules and module is not model)
              or any(True for _ in module.parameters(recurse=False))] or [("", model)]
    runs, handles = ({}, {}), []
    for name, module in leaves:
        def record(module, inputs, output, name=name):
            runs[record.run].setdefault(name, _shapes(output))
        record.run = 0
        handles.append((module.register_forward_hook(record), record))
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros((1,) + input_shape, dtype)))
            for _, record in handles:
                record.run = 1
            try:  # batch size 2 tells which dims are the batch's (None)
                model(Tensor(np.zeros((2,) + input_shape, dtype)))
            except Exception:  # a model written for one batch size: dim 0 is the batch
                runs[1].clear()
    finally:
        for handle, _ in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
    rule = "_" * sum(_WIDTHS)
    lines = [text("summary.model", lang, name=type(model).__name__), rule,
             _row((text("summary.layer", lang), text("summary.shape", lang),
                   text("summary.params", lang))), "=" * sum(_WIDTHS)]
    for index, (name, module) in enumerate(leaves):
        count = sum(p._data.size for p in module.parameters(recurse=False))
        count += sum(b._data.size for b in _counted_buffers(module, recurse=False))
        label = f"{name or type(module).__name__.lower()} ({type(module).__name__})"
        shown = (_shape_text(runs[0][name], runs[1].get(name)) if name in runs[0]
                 else text("summary.not_called", lang))
        pieces = _wrapped(shown, _WIDTHS[1] - 2)
        lines.append(_row((label, pieces[0], f"{count:,}")))
        lines += [_row(("", piece, "")) for piece in pieces[1:]]
        if index < len(leaves) - 1:
            lines.append("")
    trainable = sum(p._data.size for p in model.parameters() if p.requires_grad)
    frozen = sum(p._data.size for p in model.parameters() if not p.requires_grad)
    frozen += sum(b._data.size for b in _counted_buffers(model))
    lines += ["=" * sum(_WIDTHS), text("summary.total", lang, count=f"{trainable + frozen:,}"),
              text("summary.trainable", lang, count=f"{trainable:,}"),
              text("summary.frozen", lang, count=f"{frozen:,}"), rule]
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
    return text
