"""The normalisation primitive shared by BatchNorm, LayerNorm and GroupNorm, and its helper.

``Normalize.apply(x, axes, eps)`` standardises x over ``axes`` with the biased variance:

    mean = (1/M) sum_axes x            var = (1/M) sum_axes (x - mean)^2      (M = elements reduced)
    invstd = (var + eps)^(-1/2)        xhat = (x - mean) invstd

One node instead of the ~8 a composite would record, and its backward is the closed form (Ioffe &
Szegedy 2015, appendix; written per normalised group):

    dL/dx = invstd (g - mean_axes(g) - xhat mean_axes(g xhat))            (g = dL/dxhat)

The formula is written with Tensor ops on ``xhat`` (this node's saved output, so differentiable
through the same node) and on ``invstd`` given by the small primitive ``InvStd`` (whose backward is
d invstd/dx = -invstd^3 (x - mean)/M): second derivatives of BatchNorm/LayerNorm/GroupNorm follow.
When backward runs without recording (an ordinary ``backward()``) the same formula is evaluated
directly on NumPy arrays, in the fewest passes over the data: that is BatchNorm's training hot path.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.tensor import Tensor

_make = Tensor._make


def moments(data, axes):
    """(mean, biased variance) of the array ``data`` over ``axes``, both with keepdims."""
    count = _count(data.shape, axes)
    mean = data.sum(axis=axes, keepdims=True, dtype=data.dtype) / count
    centred = data - mean
    var = _sum_of_squares(centred, axes) / count
    return mean.astype(data.dtype, copy=False), var.astype(data.dtype, copy=False), centred


def _sum_of_squares(centred, axes):
    squares = np.square(centred)
    return squares.sum(axis=axes, keepdims=True)


def _count(shape, axes):
    count = 1
    for axis in axes:
        count *= shape[axis]
    return count


class Normalize(Function):
    """xhat = (x - mean) / sqrt(var + eps) over ``axes`` (biased variance). ``stats`` optionally
    passes the (mean, var, centred) arrays already computed by ``moments`` for the same x."""
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, x, axes, eps, stats=None):
        data = x._data
        mean, var, centred = stats if stats is not None else moments(data, axes)
        invstd = (1.0 / np.sqrt(var + eps)).astype(data.dtype, copy=False)
        centred *= invstd  # centred is ours: normalise it in place
        out = _make(centred)
        ctx.axes, ctx.eps, ctx.invstd = axes, eps, invstd
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, xhat = ctx.saved_tensors
        axes, count = ctx.axes, _count(xhat.shape, ctx.axes)
        if not is_grad_enabled():  # first-order backward: the formula on arrays, few passes
            g, normalised = grad._data, xhat._data
            mean_g = g.sum(axis=axes, keepdims=True) / count
            mean_gx = (g * normalised).sum(axis=axes, keepdims=True) / count
            out = normalised * mean_gx.astype(g.dtype, copy=False)
            np.subtract(g, out, out=out)
            out -= mean_g.astype(g.dtype, copy=False)
            out *= ctx.invstd
            return _make(out), None, None, None
        invstd = InvStd.apply(x, axes, ctx.eps, ctx.invstd)
        mean_g = grad.sum(dim=axes, keepdim=True) * (1.0 / count)
        mean_gx = (grad * xhat).sum(dim=axes, keepdim=True) * (1.0 / count)
        return (grad - mean_g - xhat * mean_gx) * invstd, None, None, None


class InvStd(Function):
    """invstd = (var(x) + eps)^(-1/2) over ``axes`` (keepdims), biased variance; ``value`` is that
    array when the caller already has it. d invstd / dx_i = -invstd^3 (x_i - mean) / M."""
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, x, axes, eps, value=None):
        if value is None:
            mean, var, _ = moments(x._data, axes)
            value = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        out = _make(np.array(value))
        ctx.axes = axes
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, invstd = ctx.saved_tensors
        axes = ctx.axes
        count = _count(x.shape, axes)
        centred = x - x.sum(dim=axes, keepdim=True) * (1.0 / count)
        return centred * (grad * invstd * invstd * invstd * (-1.0 / count)), None, None, None
