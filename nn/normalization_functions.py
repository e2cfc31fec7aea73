"""The normalisation primitive shared by BatchNorm, LayerNorm and GroupNorm, and its helper.

``Normalize.apply(x, axes, eps, stats, weight, bias)`` standardises x over ``axes`` with the biased
variance, then (BatchNorm) scales and shifts each kept channel:

    mean = (1/M) sum_axes x            var = (1/M) sum_axes (x - mean)^2      (M = elements reduced)
    invstd = (var + eps)^(-1/2)        xhat = (x - mean) invstd               y = xhat w + b

The kept dims must be contiguous (BatchNorm keeps dim 1 of (N, C, *), LayerNorm the leading dims,
GroupNorm the (N, G) of its (N, G, rest) view), so x is seen as a 3-D array (A, K, B) reduced over A
and B: the per-channel sums are single ``einsum`` passes. One node instead of the ~10 a composite
records; its backward is the closed form (Ioffe & Szegedy 2015), with g = dL/dy:

    dL/db = sum_axes g      dL/dw = sum_axes g xhat
    dL/dx = w invstd (g - mean_axes(g) - xhat mean_axes(g xhat))

Without recording (an ordinary ``backward()``) it is evaluated on NumPy arrays in a few passes over
the data: BatchNorm's training hot path. With ``create_graph=True`` the same formula is written with
Tensor ops on xhat = Normalize(x) and invstd = ``InvStd``(x) (whose backward is
d invstd/dx = -invstd^3 (x - mean)/M), so second derivatives of BatchNorm/LayerNorm/GroupNorm follow.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.tensor import Tensor

_make = Tensor._make


def _as_3d(shape, axes):
    """(A, K, B): ``shape`` seen as reduced dims A, kept dims K, reduced dims B (``axes`` = A + B)."""
    kept = [d for d in range(len(shape)) if d not in axes]
    if kept and kept != list(range(kept[0], kept[-1] + 1)):
        raise ValueError(f"normalisation over axes {axes} of shape {shape}: the kept dims must be "
                         "contiguous")
    first, last = (kept[0], kept[-1] + 1) if kept else (len(shape), len(shape))
    return (math.prod(shape[:first]), math.prod(shape[first:last]), math.prod(shape[last:]))


def moments(data, axes):
    """(mean (K,), biased variance (K,), centred x as (A, K, B)) of the array ``data`` over ``axes``;
    the centred array is new (the caller may overwrite it)."""
    a, k, b = _as_3d(data.shape, axes)
    view = data.reshape(a, k, b)
    count = a * b
    mean = (np.einsum("akb->k", view) / count).astype(data.dtype, copy=False)
    centred = view - mean[None, :, None]
    var = (np.einsum("akb,akb->k", centred, centred) / count).astype(data.dtype, copy=False)
    return mean, var, centred


def _channel(values, k):
    """A per-channel Tensor/array (K,) as (1, K, 1) for the 3-D view."""
    return values.reshape(1, k, 1)


class Normalize(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over ``axes`` (biased variance); weight and
    bias (per kept channel, K elements) may be None. ``stats`` optionally passes what ``moments``
    returned for the same x."""
    rule = "x̂ = (x - μ)/σ, y = x̂·w + b\ndL/dx = (g·w - mean(g·w) - x̂·mean(g·w·x̂))/σ\ndL/dw = Σ g·x̂,  dL/db = Σ g"
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, x, axes, eps, stats=None, weight=None, bias=None):
        data = x._data
        mean, var, centred = stats if stats is not None else moments(data, axes)
        k = centred.shape[1]
        invstd = (1.0 / np.sqrt(var + eps)).astype(data.dtype, copy=False)
        centred *= invstd[None, :, None]  # ours (made by moments): xhat in place, (A, K, B)
        xhat = centred
        if weight is None and bias is None:
            out = xhat
        else:
            out = xhat * weight._data.reshape(1, k, 1) if weight is not None else xhat.copy()
            if bias is not None:
                out += bias._data.reshape(1, k, 1)
        ctx.axes, ctx.eps, ctx.invstd, ctx.xhat, ctx.k = axes, eps, invstd, xhat, k
        result = _make(out.reshape(data.shape))
        # Without an affine map the output is xhat itself: saved as such, so that an in-place change
        # of the output before backward is refused (by the version check) instead of used.
        ctx.save_for_backward(x, weight, result if out is xhat else None)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, weight, _ = ctx.saved_tensors
        axes, k = ctx.axes, ctx.k
        count = x._data.size // k
        if not is_grad_enabled():
            return Normalize._backward_arrays(ctx, grad._data, x, weight, count)
        g = grad.reshape(ctx.xhat.shape)  # (A, K, B)
        xhat = Normalize.apply(x, axes, ctx.eps, None, None, None).reshape(ctx.xhat.shape)
        invstd = _channel(InvStd.apply(x, axes, ctx.eps, ctx.invstd), k)
        sum_g = g.sum(dim=(0, 2), keepdim=True)
        sum_gx = (g * xhat).sum(dim=(0, 2), keepdim=True)
        scale = invstd if weight is None else invstd * _channel(weight, k)
        grad_x = ((g - sum_g * (1.0 / count) - xhat * (sum_gx * (1.0 / count))) * scale)
        needs = ctx.needs_input_grad
        grad_w = sum_gx.reshape(k) if weight is not None and needs[4] else None
        grad_b = sum_g.reshape(k) if len(needs) > 5 and needs[5] else None
        return grad_x.reshape(x.shape), None, None, None, grad_w, grad_b

    @staticmethod
    def _backward_arrays(ctx, grad, x, weight, count):
        """The backward formula on arrays (first-order backward, nothing recorded)."""
        xhat, k = ctx.xhat, ctx.k
        g = grad.reshape(xhat.shape)
        sum_g = np.einsum("akb->k", g)
        sum_gx = np.einsum("akb,akb->k", g, xhat)
        scale = ctx.invstd if weight is None else ctx.invstd * weight._data
        # dx = scale (g - sum_g/M - xhat sum_gx/M) = g c1 + xhat c2 + c3, per channel
        c2 = (-scale * sum_gx / count).astype(g.dtype, copy=False)
        c3 = (-scale * sum_g / count).astype(g.dtype, copy=False)
        out = g * scale.astype(g.dtype, copy=False)[None, :, None]
        out += xhat * c2[None, :, None]
        out += c3[None, :, None]
        needs = ctx.needs_input_grad
        grad_w = _make(sum_gx.astype(g.dtype)) if weight is not None and needs[4] else None
        grad_b = _make(sum_g.astype(g.dtype)) if len(needs) > 5 and needs[5] else None
        return _make(out.reshape(x.shape)), None, None, None, grad_w, grad_b


    @staticmethod
    def onnx(g, node, inputs, outputs):
        """Mean and biased variance over ``axes`` (ReduceMean), then (x - mean) / sqrt(var + eps);
        the affine map, when the node has one (BatchNorm in training), is not exported."""
        from autograd_lite.onnx import UnsupportedOperatorError
        _, axes, eps, _, weight, bias = node.inputs
        if weight is not None or bias is not None:
            raise UnsupportedOperatorError("export: Normalize with a fused affine map (BatchNorm in "
                                           "training mode) has no ONNX mapping: export in eval mode")
        dtype = node.outputs[0]()._data.dtype
        mean = g.op("ReduceMean", [inputs[0]], axes=list(axes), keepdims=1)[0]
        centred = g.op("Sub", [inputs[0], mean])[0]
        var = g.op("ReduceMean", [g.op("Mul", [centred, centred])[0]], axes=list(axes), keepdims=1)[0]
        std = g.op("Sqrt", [g.op("Add", [var, g.constant(eps, dtype)])[0]])[0]
        g.op("Div", [centred, std], outputs)


class InvStd(Function):
    """invstd = (var(x) + eps)^(-1/2) over ``axes``, one value per kept channel (K,), biased
    variance; ``value`` is that array when the caller already has it.
    d invstd / dx_i = -invstd^3 (x_i - mean) / M."""
    rule = "d invstd/dx = -invstd³·(x - μ)/M"
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, x, axes, eps, value=None):
        if value is None:
            _, var, _ = moments(x._data, axes)
            value = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        out = _make(np.array(value))
        ctx.axes = axes
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, invstd = ctx.saved_tensors
        a, k, b = _as_3d(x.shape, ctx.axes)
        view = x.reshape(a, k, b)
        centred = view - view.sum(dim=(0, 2), keepdim=True) * (1.0 / (a * b))
        slope = _channel(grad * invstd * invstd * invstd, k) * (-1.0 / (a * b))
        return (centred * slope).reshape(x.shape), None, None, None


class FrozenNormalize(Function):
    """BatchNorm in eval mode: y = (x - running_mean) invstd weight + bias per channel (dim 1), with
    invstd = (running_var + eps)^(-1/2); the running statistics are inputs of the node (so graph
    drawings show them) but constants of the derivative:

        dL/dx = g weight invstd      dL/dweight = sum g xhat      dL/dbias = sum g
    """
    rule = {"en": "y = (x - μ_run)·invstd·w + b\ndL/dx = g·w·invstd (running stats constant)",
            "es": "y = (x - μ_run)·invstd·w + b\ndL/dx = g·w·invstd (estadísticas fijas)"}
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, x, running_mean, running_var, weight, bias, eps):
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        invstd = (1.0 / np.sqrt(running_var._data + eps)).astype(x.dtype, copy=False)
        scale = invstd if weight is None else invstd * weight._data
        shift = -running_mean._data * scale
        if bias is not None:
            shift = shift + bias._data
        out = x._data * scale.reshape(shape).astype(x.dtype, copy=False)
        out += shift.reshape(shape).astype(x.dtype, copy=False)
        ctx.shape, ctx.invstd = shape, invstd.reshape(shape)
        ctx.mean = running_mean._data.reshape(shape).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, weight)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, shape = ctx.needs_input_grad, ctx.shape
        axes = (0,) + tuple(range(2, grad.ndim))
        invstd = _make(ctx.invstd)
        scale = invstd if weight is None else weight.reshape(shape) * invstd
        grad_x = grad * scale if needs[0] else None
        grad_w = grad_b = None
        if weight is not None and needs[3]:
            grad_w = (grad * ((x - _make(ctx.mean)) * invstd)).sum(dim=axes)
        if len(needs) > 4 and needs[4]:
            grad_b = grad.sum(dim=axes)
        return grad_x, None, None, grad_w, grad_b, None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        x, mean, var, weight, bias, eps = node.inputs
        channels, dtype = x.shape[1], node.outputs[0]()._data.dtype
        scale = inputs[3] if weight is not None else g.constant(np.ones(channels, dtype))
        shift = inputs[4] if bias is not None else g.constant(np.zeros(channels, dtype))
        g.op("BatchNormalization", [inputs[0], scale, shift, inputs[1], inputs[2]], outputs,
             epsilon=float(eps))
