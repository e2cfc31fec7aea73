"""Builders for the ``onnx`` methods of the ops (see ``autograd_lite.onnx``).

An op class says how it is written to ONNX beside its forward and backward, usually in one line:

    class Exp(Function):
        ...
        onnx = unary("Exp")

Each builder returns a staticmethod ``(g, node, inputs, outputs)``: ``g`` the graph being written,
``node`` the recorded op (its non-tensor arguments in ``node.inputs``), ``inputs`` one ONNX value name
per forward argument (None for non-tensors), ``outputs`` the names for its outputs.
"""
from __future__ import annotations

import numpy as np


def output_dtype(node):
    """The dtype of the node's first output (alive during an export)."""
    return node.outputs[0]()._data.dtype


def operand(g, node, inputs, position):
    """The ONNX name of argument ``position``: a tensor's name, or a constant in the output dtype."""
    if inputs[position] is not None:
        return inputs[position]
    return g.constant(node.inputs[position], output_dtype(node))


def unary(op_type, **attributes):
    """The op is ONNX's ``op_type`` applied to its first argument."""
    def write(g, node, inputs, outputs):
        g.op(op_type, [inputs[0]], outputs, **attributes)
    return staticmethod(write)


def binary(op_type):
    """The op is ONNX's ``op_type`` of its two arguments (numbers become constants)."""
    def write(g, node, inputs, outputs):
        g.op(op_type, [operand(g, node, inputs, 0), operand(g, node, inputs, 1)], outputs)
    return staticmethod(write)


def with_axes(op_type, axes_as_input):
    """A reduction ``op(a, axes, keepdim)``: axes as an input (ReduceSum) or an attribute."""
    def write(g, node, inputs, outputs):
        _, axes, keepdim = node.inputs
        keepdims = int(bool(keepdim))
        if axes is None:
            g.op(op_type, [inputs[0]], outputs, keepdims=keepdims)
        elif axes_as_input:
            g.op(op_type, [inputs[0], g.constant(np.array(axes, np.int64))], outputs,
                 keepdims=keepdims)
        else:
            g.op(op_type, [inputs[0]], outputs, axes=list(axes), keepdims=keepdims)
    return staticmethod(write)


def along_dim(op_type):
    """``op(a, dim)`` with ``dim`` as ONNX's ``axis`` attribute (softmax, log-softmax)."""
    def write(g, node, inputs, outputs):
        g.op(op_type, [inputs[0]], outputs, axis=int(node.inputs[1]))
    return staticmethod(write)


def basic_index(g, node, inputs, outputs):
    """``a[index]`` for ints, slices, None and Ellipsis (Slice, Squeeze, Unsqueeze), or one integer
    array on the first axis (Gather)."""
    from ..onnx import UnsupportedOperatorError
    source, index = node.inputs
    ndim = len(source.shape)
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
        g.op("Gather", [inputs[0], g.constant(index.astype(np.int64))], outputs, axis=0)
        return
    items = index if isinstance(index, tuple) else (index,)
    if not all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items):
        raise UnsupportedOperatorError(f"export: indexing with {index!r} has no ONNX mapping "
                                       "(ints, slices, None, Ellipsis or one integer array do)")
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    expanded = []
    for item in items:
        expanded.extend([slice(None)] * (ndim - used) if item is Ellipsis else [item])
    expanded += [slice(None)] * (ndim - sum(1 for i in expanded if i is not None))
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis, out_axis = 0, 0
    for item in expanded:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step or 1
            big = np.iinfo(np.int64).max if step > 0 else np.iinfo(np.int64).min
            if (start, stop, step) != (None, None, 1):
                starts.append(start if start is not None else (0 if step > 0 else -1))
                ends.append(stop if stop is not None else big)
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            starts.append(int(item))
            ends.append(int(item) + 1 if int(item) != -1 else np.iinfo(np.int64).max)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    value = inputs[0]
    if axes:
        value = g.op("Slice", [value] + [g.constant(np.array(v, np.int64))
                                         for v in (starts, ends, axes, steps)])[0]
    if squeeze:
        value = g.op("Squeeze", [value, g.constant(np.array(squeeze, np.int64))])[0]
    if unsqueeze:
        value = g.op("Unsqueeze", [value, g.constant(np.array(unsqueeze, np.int64))])[0]
    g.op("Identity", [value], outputs)
