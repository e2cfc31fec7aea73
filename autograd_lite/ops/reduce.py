"""Reduction primitives: sum and max. Mean, var, std, min and logsumexp are composites of these."""
from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor

_make = Tensor._make


def _kept_shape(shape, axes):
    """The shape of a reduction with keepdim=True (reduced axes become 1)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """sum over ``axes`` (None: all). Backward: the gradient, broadcast back over the summed axes."""

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        ctx.shape = a.shape
        ctx.axes = axes
        return _make(np.asarray(np.sum(a.data, axis=axes, keepdims=keepdim)))

    @staticmethod
    def backward(ctx, grad):
        kept = _kept_shape(ctx.shape, ctx.axes)
        if grad.shape != kept:
            grad = grad.reshape(kept)
        return Expand.apply(grad, ctx.shape), None, None


class Max(Function):
    """amax over ``axes``. Backward: the gradient goes to the maximal elements, shared evenly
    among ties (PyTorch's ``amax`` rule)."""

    @staticmethod
    def forward(ctx, a, axes, keepdim):
        if a.data.size == 0:
            raise RuntimeError(f"max/min of an empty tensor of shape {a.shape}")
        out = np.max(a.data, axis=axes, keepdims=keepdim)
        mask = a.data == out.reshape(_kept_shape(a.shape, axes))
        ctx.weights = mask / mask.sum(axis=axes, keepdims=True).astype(a.dtype)
        ctx.shape, ctx.axes = a.shape, axes
        return _make(np.asarray(out))

    @staticmethod
    def backward(ctx, grad):
        kept = _kept_shape(ctx.shape, ctx.axes)
        if grad.shape != kept:
            grad = grad.reshape(kept)
        return Expand.apply(grad, ctx.shape) * _make(ctx.weights), None, None


from .shape import Expand  # noqa: E402
