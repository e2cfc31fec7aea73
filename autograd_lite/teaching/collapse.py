"""``collapse_modules``: one node per module.

A module's node lists its parameters (in the module's own order, with their shapes and count), its
buffers (BatchNorm's running statistics, used by this forward or not) and the constants it made
itself (an RNN's zero initial states ``h_0``/``c_0``, shown with their stacked shape); the values
passed between modules are edges labelled with their shapes. So an ``nn.LSTM`` over any number of
time steps is one node.
"""
from __future__ import annotations

import re

import numpy as np

from . import labels
from .language import text
from .nodes import _fixed_size, _module_of, op_node, tensor_node


def _folded_into(item, group, first_op):
    """The module a leaf is drawn inside when collapsed, or None: a parameter or buffer used by one
    module only, or a constant that module made itself (an RNN's zero initial state: used by one
    module, but not by its first op, which takes what the module was called with)."""
    owners = {group[c.key] for c in item.consumers}
    if len(owners) != 1 or None in owners:
        return None
    owner = owners.pop()
    if item.kind in ("parameter", "buffer"):
        return owner
    if item.kind == "constant" and (all(c.key != first_op[owner] for c in item.consumers)
                                    or _INITIAL_STATE.match(item.name or "")):
        return owner
    return None


# the per-layer slices of the zero initial states a recurrent layer makes (nn/recurrent.py names
# them): its first op (a whole-sequence node) takes one of them beside the input
_INITIAL_STATE = re.compile(r"^[hc]_0\[\d+\]$")


def collapsed(graph, items, options, grads, backward_ran, highlight):
    """One node per module; tensors inside a module, its parameters and buffers, and the constants
    it made are folded into it."""
    group = {op.key: _module_of(items, op) for op in items.ops}
    first_op = {}
    for op in items.ops:
        if group[op.key] is not None:
            first_op.setdefault(group[op.key], op.key)
    folded, visible = {}, []
    for item in items.tensors.values():
        if item.kind == "output":
            visible.append(item)
        elif item.producer is not None and group[item.producer.key] is not None:
            continue  # a value passed on by a module: drawn as a labelled edge
        elif item.producer is None and _folded_into(item, group, first_op) is not None:
            folded.setdefault(_folded_into(item, group, first_op), []).append(item)
        else:
            visible.append(item)
    visible_keys = {item.key for item in visible}
    modules = {}
    for op in items.ops:
        if group[op.key] is not None:
            modules.setdefault(group[op.key], op.module)
        else:
            op_node(graph, op, options, highlight)
    for item in visible:
        tensor_node(graph, item, options, grads, backward_ran, highlight)
    edges, outputs = {}, {}
    module_keys = {name: f"mod{i}" for i, name in enumerate(modules)}

    def node_of_op(op):
        return module_keys[group[op.key]] if group[op.key] is not None else op.key

    for op in items.ops:
        for _, item, role in op.inputs:
            if item.key in visible_keys:
                source, label = item.key, (role if group[op.key] is None else None)
            elif item.producer is not None:
                source, label = node_of_op(item.producer), labels.describe_shape(item.tensor.shape)
                outputs.setdefault(group[item.producer.key], label)
            else:
                continue  # a folded parameter
            target = node_of_op(op)
            if source != target:
                edges.setdefault((source, target), label)
        for item in op.outputs:
            if item.key in visible_keys:
                edges.setdefault((node_of_op(op), item.key), None)
                if group[op.key] is not None:
                    outputs.setdefault(group[op.key], labels.describe_shape(item.tensor.shape))
    current = {group.get(k) for k, v in highlight.items() if v == "current"}
    labelled = {source for (source, _), label in edges.items() if label}
    for name, module in modules.items():
        style = dict(labels.MODULE_STYLE, **(labels.HIGHLIGHT_STYLE if name in current else {}),
                     **_fixed_size(options, module_keys[name]))
        shown_out = None if module_keys[name] in labelled else outputs.get(name)
        graph.node(module_keys[name], _module_text(name, module, folded.get(name, ()), shown_out,
                                                   options, grads), **style)
    for (source, target), label in edges.items():
        graph.edge(source, target, **({"label": label} if label else {}))
    drawn_ops = {"op"} if any(g is None for g in group.values()) else set()
    buffers = {"buffer"} if any(_buffer_lines(m, folded.get(n, ()), options)
                                for n, m in modules.items()) else set()
    return {item.kind for item in visible} | drawn_ops | buffers


def _local_name(item, name):
    return item.name[len(name) + 1:] if item.name.startswith(name + ".") else item.name


def _buffer_lines(module, folded, options):
    """The module's own buffers (BatchNorm's running statistics, used or not by this forward) and
    any other buffer folded into it."""
    shown = {}
    named = getattr(module, "named_buffers", None)
    for local, buffer in (named(recurse=False) if named is not None else ()):
        if buffer is not None:
            shown[id(buffer)] = (local, buffer)
    for item in folded:
        if item.kind == "buffer":
            shown.setdefault(id(item.tensor), (item.name.rsplit(".", 1)[-1], item.tensor))
    return [text("buffer_line", options.lang, name=local, shape=labels.describe_shape(b.shape))
            for local, b in shown.values()]


def _constant_lines(name, folded, options):
    """Constants made inside the module, slices named ``h_0[0]``, ``h_0[1]`` ... (an RNN's initial
    state, one per layer) shown once with their stacked shape."""
    groups = {}
    for item in folded:
        if item.kind == "constant":
            local = _local_name(item, name)
            base = local.split("[", 1)[0] if local.endswith("]") and not item.auto_named else local
            groups.setdefault(base, []).append(tuple(item.tensor.shape))
    lines = []
    for base, shapes in groups.items():
        shape = (len(shapes),) + shapes[0] if len(shapes) > 1 and len(set(shapes)) == 1 else shapes[0]
        lines.append(text("constant_line", options.lang, name=base,
                          shape=labels.describe_shape(shape)))
    return lines


def _module_text(name, module, folded, output, options, grads):
    order = {}
    if hasattr(module, "named_parameters"):
        order = {id(p): i for i, (_, p) in enumerate(module.named_parameters())}
    params = sorted((item for item in folded if item.kind == "parameter"),
                    key=lambda item: order.get(id(item.tensor), len(order)))
    lines, grad_lines, count = [], [], 0
    for item in params:
        local = _local_name(item, name)
        lines.append(f"{local} {labels.describe_shape(item.tensor.shape)}")
        count += item.tensor._data.size
        grad = None
        if grads is not None and id(item.tensor) in grads:
            grad = grads[id(item.tensor)][0]
        elif grads is None and item.tensor.grad is not None:
            grad = item.tensor.grad._data
        if grad is not None and options.show_grads:
            grad_lines.append(f"|grad {local}| = {float(np.sqrt(np.sum(np.square(grad)))):.4g}")
    if params:
        lines.append(text("parameters", options.lang, count=f"{count:,}"))
    return labels.module_label(name, type(module).__name__, lines,
                               text("out", options.lang, shape=output) if output and options.show_shapes
                               else None, grad_lines, _buffer_lines(module, folded, options),
                               _constant_lines(name, folded, options))
