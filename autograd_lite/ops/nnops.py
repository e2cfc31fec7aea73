"""Numerically stable softmax and log-softmax primitives."""
from __future__ import annotations

import numpy as np

from ..dtypes import require_floating
from ..function import Function
from ..tensor import Tensor
from .onnx_mapping import along_dim

_make = Tensor._make


def log_softmax_array(x, axis):
    """x - logsumexp(x): the max is subtracted first, so logits of size 1e4 do not overflow."""
    shifted = x - x.max(axis=axis, keepdims=True, initial=-np.inf)  # (-inf: an empty tensor's)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """s = exp(x - max) / sum(exp(x - max)); backward: s * (g - sum(g * s))."""
    rule = "dL/dx = s·(g - Σ g·s)"

    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        require_floating(x, "softmax")
        shifted = np.exp(x - x.max(axis=dim, keepdims=True, initial=-np.inf))
        out = _make(shifted / shifted.sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return out * (grad - (grad * out).sum(ctx.dim, keepdim=True)), None

    onnx = along_dim("Softmax")


class LogSoftmax(Function):
    """y = x - logsumexp(x); backward: g - softmax(x) * sum(g)."""
    rule = "dL/dx = g - softmax(x)·Σ g"

    @staticmethod
    def forward(ctx, a, dim):
        require_floating(a._data, "log_softmax")
        out = _make(log_softmax_array(a._data, dim))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad - out.exp() * grad.sum(ctx.dim, keepdim=True), None

    onnx = along_dim("LogSoftmax")


