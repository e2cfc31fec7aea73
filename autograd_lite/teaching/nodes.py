"""The nodes of a backprop graph: a tensor (name, shape, value, gradient or why there is none) and
an op (title, arguments, local rule), with the styles of their kinds and the stepper's fixed sizes."""
from __future__ import annotations

from . import labels
from .language import localized, text


def _grad_text(item, options, grads, backward_ran):
    """(grad lines, note) for a tensor node."""
    tensor = item.tensor
    if not options.show_grads or (not tensor.requires_grad and item.kind != "output"):
        return None, None
    if grads is not None:
        entry = grads.get(id(tensor))
        if entry is None:
            return None, text("no_grad_yet", options.lang)
        array, partial = entry
        lines = labels.array_lines(array, options.max_elements, options.precision)
        return (lines + [text("partial", options.lang)] if partial else lines), None
    if tensor.grad is not None:
        return labels.array_lines(tensor.grad._data, options.max_elements, options.precision), None
    if backward_ran and tensor._ctx is not None:
        return None, text("not_retained", options.lang)
    return None, text("no_grad_yet", options.lang)


def tensor_node(graph, item, options, grads, backward_ran, highlight):
    tensor = item.tensor
    shape = labels.describe_shape(tensor.shape, tensor.dtype) if options.show_shapes else None
    values = (labels.array_lines(tensor._data, options.max_elements, options.precision)
              if options.show_values and not item.freed else None)
    if item.freed and options.show_values:
        values = [text("freed1", options.lang), text("freed2", options.lang)]
    grad_lines, note = _grad_text(item, options, grads, backward_ran)
    attrs = dict(labels.KIND_STYLE[item.kind], **_fixed_size(options, item.key))
    if highlight.get(item.key) == "updated":
        attrs.update(color=labels.HIGHLIGHT_STYLE["color"], penwidth="2.5")
    graph.node(item.key, labels.tensor_label(item.name, item.auto_named, shape, values, grad_lines,
                                             note, text("grad", options.lang)), **attrs)


def _fixed_size(options, key):
    attrs = {}
    size = (options.node_sizes or {}).get(key)
    if size is not None:
        attrs.update(fixedsize="true", width=f"{size[0]:.3f}", height=f"{size[1]:.3f}")
    return attrs


def op_node(graph, op, options, highlight):
    details = ([op.note] if op.note else []) + op.details
    attrs = dict(labels.OP_STYLE, **_fixed_size(options, op.key))
    if highlight.get(op.key) == "current":
        attrs.update(labels.HIGHLIGHT_STYLE)
    rule = localized(op.rule, options.lang) if options.rules else None
    graph.node(op.key, labels.op_label(op.title, details, rule), **attrs)


def _module_of(items, op):
    return items.module_names.get(id(op.module)) if op.module is not None else None
