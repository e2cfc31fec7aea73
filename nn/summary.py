"""``model.summary(input_shape)``: the Keras-style table of layers, output shapes and parameters.

It runs one forward pass on zeros of shape (1, *input_shape) in eval mode and without recording a
graph (so dropout draws no random numbers), collecting each leaf layer's output shape with a
forward hook. The batch dimension is printed as ``None``, as Keras does.

Parameter counts follow Keras: a layer's count includes its floating-point buffers (BatchNorm's
running mean and variance, Keras' "moving_mean"/"moving_variance"), and the totals count them as
non-trainable, with frozen parameters (``requires_grad=False``).
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import no_grad
from autograd_lite.tensor import Tensor

_WIDTHS = (29, 26, 12)


def _shape_text(output):
    if isinstance(output, Tensor):
        return str((None,) + tuple(output.shape[1:])).replace(",)", ")")
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in output) + "]"
    return type(output).__name__


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
    shapes, handles = {}, []
    for name, module in leaves:
        def record(module, inputs, output, name=name):
            shapes.setdefault(name, _shape_text(output))
        handles.append(module.register_forward_hook(record))
    modes = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with no_grad():
            model(Tensor(np.zeros((1,) + input_shape, dtype)))
    finally:
        for handle in handles:
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
        lines.append(_row((label, shapes.get(name, text("summary.not_called", lang)), f"{count:,}")))
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
