"""Elementwise primitives, forward and backward side by side.

Binary ops broadcast like NumPy; their backward sums each gradient back to its input's shape
(``unbroadcast``). The second operand may be a Python number, which gets no gradient.
"""
from __future__ import annotations

import math

import numpy as np

from ..function import Function
from ..tensor import Tensor

_make = Tensor._make


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _shape(x):
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


def _broadcast(name, a, b):
    try:
        return np.broadcast_shapes(_shape(a), _shape(b))
    except ValueError:
        raise ValueError(f"{name}: shapes {_shape(a)} and {_shape(b)} cannot be broadcast together "
                         "(trailing dimensions must be equal or 1)") from None


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = Sum.apply(grad, axes, False)
    return grad if grad.shape == shape else Reshape.apply(grad, shape)


def _binary(name, fn, a, b):
    try:
        return _make(np.asarray(fn(_data(a), _data(b))))
    except ValueError:
        _broadcast(name, a, b)
        raise


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _binary("add", np.add, a, b)

    @staticmethod
    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        return (unbroadcast(grad, shape_a) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad, shape_b) if ctx.needs_input_grad[1] else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return _binary("sub", np.subtract, a, b)

    @staticmethod
    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        return (unbroadcast(grad, shape_a) if ctx.needs_input_grad[0] else None,
                unbroadcast(-grad, shape_b) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary("mul", np.multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (unbroadcast(grad * b, _shape(a)) if ctx.needs_input_grad[0] else None,
                unbroadcast(grad * a, _shape(b)) if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary("div", np.true_divide, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / b
        grad_b = unbroadcast(-grad_a * a / b, _shape(b)) if ctx.needs_input_grad[1] else None
        return (unbroadcast(grad_a, _shape(a)) if ctx.needs_input_grad[0] else None, grad_b)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return _make(np.negative(a.data))

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b. d/da = b a^(b-1); d/db = a^b log(a) (taken as 0 where a == 0, like PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary("pow", np.power, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            if not isinstance(b, Tensor) and b == 0:
                grad_a = grad * 0.0
            else:
                grad_a = unbroadcast(grad * b * a ** (b - 1), _shape(a))
        if ctx.needs_input_grad[1]:
            if isinstance(a, Tensor):
                safe_log = Where.apply(a.data == 0, 0.0, a).log()
                grad_b = unbroadcast(grad * a ** b * safe_log, _shape(b))
            else:
                grad_b = unbroadcast(grad * a ** b * (math.log(a) if a > 0 else 0.0), _shape(b))
        return grad_a, grad_b


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = _make(np.exp(a.data))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _make(np.log(a.data))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad / a


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.sin(a.data))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * a.cos()


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.cos(a.data))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return -grad * a.sin()


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = _make(np.tanh(a.data))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (1.0 - out * out)


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        out = _make(stable_sigmoid(a.data))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out * (1.0 - out)


class Where(Function):
    """where(condition, a, b): a where the (constant, boolean) condition holds, else b."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.shapes = (_shape(a), _shape(b))
        return _make(np.asarray(np.where(condition, _data(a), _data(b))))

    @staticmethod
    def backward(ctx, grad):
        shape_a, shape_b = ctx.shapes
        zero = np.zeros((), grad.dtype)
        return (None,
                unbroadcast(Where.apply(ctx.condition, grad, zero), shape_a)
                if ctx.needs_input_grad[1] else None,
                unbroadcast(Where.apply(ctx.condition, zero, grad), shape_b)
                if ctx.needs_input_grad[2] else None)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return _make(a.data.astype(dtype))

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.dtype), None


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return _make(a.data.copy())

    @staticmethod
    def backward(ctx, grad):
        return grad


from .reduce import Sum  # noqa: E402
from .shape import Reshape  # noqa: E402
