"""Reduction primitives: sum and max. Mean, var, std, min and logsumexp are composites of these.

``axes`` is None (every axis) or a sorted tuple of non-negative axes (``arguments.reduction_axes`` makes it).
"""
from __future__ import annotations

import numpy as np

from ..function import Function, shape_of
from ..tensor import Tensor
from .onnx_mapping import with_axes

_make = Tensor._make
_add_reduce = np.add.reduce


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdim=True (reduced axes become 1)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """sum over ``axes`` (None: all). Backward: the gradient, broadcast back over the summed axes.
    Integer and bool tensors sum to int64, as in PyTorch."""
    rule = {"en": "d/da = 1\n(grad broadcast back)", "es": "d/da = 1\n(grad difundido de vuelta)"}

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        data = a._data
        if data.dtype.kind == "f":
            out = _add_reduce(data, axis=axes, keepdims=keepdim)
        else:
            out = np.sum(data, axis=axes, keepdims=keepdim, dtype=np.int64)
        return _make(out if out.__class__ is np.ndarray else np.asarray(out))

    @staticmethod
    def backward(ctx, grad):
        a, axes, keepdim = ctx.inputs
        if axes is not None and not keepdim:  # put the summed axes back as size 1
            grad = Reshape.apply(grad, _kept_shape(shape_of(a), axes))
        return Expand.apply(grad, shape_of(a)), None, None

    @staticmethod
    def backward_plain(ctx, grad):
        a, axes, keepdim = ctx.inputs
        shape, data = shape_of(a), grad._data
        if axes is not None and not keepdim:
            data = data.reshape(_kept_shape(shape, axes))
        out = np.empty(shape, data.dtype)  # as Expand.forward: a fresh array the leaf may keep
        out[...] = data
        return _make(out), None, None

    onnx = with_axes("ReduceSum", axes_as_input=True)


class Max(Function):
    """amax over ``axes``. Backward: the gradient goes to the maximal elements, shared evenly among
    ties (PyTorch's rule for ``amax`` and for ``max()`` without a dim)."""
    rule = {"en": "grad goes to the max element(s)", "es": "el grad va a el/los elemento(s) máximo(s)"}

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        if a._data.size == 0 and (axes is None or any(a.shape[axis] == 0 for axis in axes)):
            raise RuntimeError(f"max/min of an empty tensor of shape {a.shape} over "
                               f"{'every dim' if axes is None else f'dims {axes}'}: no element "
                               "to choose from")
        out = np.max(a._data, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(a)
        return _make(np.asarray(out))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        _, axes, _ = ctx.inputs
        kept = _kept_shape(a.shape, axes)
        largest = np.max(a._data, axis=axes, keepdims=True)
        mask = a._data == largest
        weights = mask / mask.sum(axis=axes, keepdims=True).astype(a.dtype)
        if grad._data.shape != kept:
            grad = Reshape.apply(grad, kept)
        return Expand.apply(grad, a.shape) * _make(weights.astype(a.dtype, copy=False)), None, None

    onnx = with_axes("ReduceMax", axes_as_input=False)


from .shape import Expand, Reshape  # noqa: E402
