"""The trigonometric and hyperbolic functions beyond sin, cos and tanh (``elementwise``), each a
primitive with its derivative beside it; integers and bools are computed in the default float dtype
(``dtypes.floating``), as in PyTorch.

    tan:  d/da = 1 + tan(a)^2          atan: d/da = 1 / (1 + a^2)
    asin: d/da = 1 / sqrt(1 - a^2)     acos: d/da = -1 / sqrt(1 - a^2)
    sinh: d/da = cosh(a)               cosh: d/da = sinh(a)
"""
from __future__ import annotations

import numpy as np

from ..dtypes import floating
from ..function import Function
from ..tensor import Tensor

_make = Tensor._make


class Tan(Function):
    """tan(a); d/da = 1 + tan(a)^2 (from the saved output)."""
    rule = "d/da = 1 + tan²(a)"

    @staticmethod
    def forward(ctx, a):
        out = _make(np.asarray(np.tan(floating(a._data))))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (out * out + 1.0)


class Atan(Function):
    """atan(a); d/da = 1 / (1 + a^2)."""
    rule = "d/da = 1/(1 + a²)"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.asarray(np.arctan(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad / (a * a + 1.0)


class Asin(Function):
    """asin(a) (NaN outside [-1, 1]); d/da = 1 / sqrt(1 - a^2)."""
    rule = "d/da = 1/√(1 - a²)"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return _make(np.asarray(np.arcsin(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * (1.0 - a * a).rsqrt()


class Acos(Function):
    """acos(a) (NaN outside [-1, 1]); d/da = -1 / sqrt(1 - a^2)."""
    rule = "d/da = -1/√(1 - a²)"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(invalid="ignore"):
            return _make(np.asarray(np.arccos(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return -grad * (1.0 - a * a).rsqrt()


class Sinh(Function):
    """sinh(a); d/da = cosh(a)."""
    rule = "d/da = cosh a"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.asarray(np.sinh(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * Cosh.apply(a)


class Cosh(Function):
    """cosh(a); d/da = sinh(a)."""
    rule = "d/da = sinh a"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.asarray(np.cosh(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * Sinh.apply(a)
