"""Elementwise primitives, forward and backward side by side.

Binary ops broadcast like NumPy and promote dtypes like PyTorch (``broadcasting._binary``); their
backward sums each gradient back to its input's shape (``broadcasting.unbroadcast``). Either operand may be a
Python number, which gets no gradient.
"""
from __future__ import annotations

import numpy as np

from ..dtypes import floating
from ..function import Function
from ..tensor import Tensor
from .broadcasting import _binary, _data, _promoted, _shape, unbroadcast, unbroadcast_plain_to
from .onnx_mapping import binary, operand, unary

_make = Tensor._make


class Add(Function):
    """a + b; d/da = 1, d/db = 1 (each summed back to its input's shape)."""
    rule = "d/da = 1, d/db = 1"

    @staticmethod
    def forward(ctx, a, b):
        return _binary("add", np.add, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        needs = ctx.needs_input_grad
        return (unbroadcast(grad, _shape(a)) if needs[0] else None,
                unbroadcast(grad, _shape(b)) if needs[1] else None)

    @staticmethod
    def backward_plain(ctx, grad):
        a, b = ctx.inputs
        needs = ctx.needs_input_grad
        return (unbroadcast_plain_to(grad, a) if needs[0] else None,
                unbroadcast_plain_to(grad, b) if needs[1] else None)

    onnx = binary("Add")


class Sub(Function):
    """a - b; d/da = 1, d/db = -1."""
    rule = "d/da = 1, d/db = -1"

    @staticmethod
    def forward(ctx, a, b):
        return _binary("sub", np.subtract, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        needs = ctx.needs_input_grad
        return (unbroadcast(grad, _shape(a)) if needs[0] else None,
                unbroadcast(-grad, _shape(b)) if needs[1] else None)

    @staticmethod
    def backward_plain(ctx, grad):
        a, b = ctx.inputs
        needs = ctx.needs_input_grad
        return (unbroadcast_plain_to(grad, a) if needs[0] else None,
                unbroadcast_plain_to(_make(np.negative(grad._data)), b) if needs[1] else None)

    onnx = binary("Sub")


class Mul(Function):
    """a * b; d/da = b, d/db = a."""
    rule = "d/da = b, d/db = a"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary("mul", np.multiply, a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (unbroadcast(grad * b, _shape(a)) if needs[0] else None,
                unbroadcast(grad * a, _shape(b)) if needs[1] else None)

    @staticmethod
    def backward_plain(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (unbroadcast_plain_to(_binary("mul", np.multiply, grad, b), a) if needs[0] else None,
                unbroadcast_plain_to(_binary("mul", np.multiply, grad, a), b) if needs[1] else None)

    onnx = binary("Mul")


class Div(Function):
    """a / b (true division: integers give float32); d/da = 1/b, d/db = -a/b^2."""
    rule = "d/da = 1/b, d/db = -a/b²"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _binary("div", np.true_divide, a, b, true_divide=True)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / b
        grad_b = unbroadcast(-grad_a * a / b, _shape(b)) if ctx.needs_input_grad[1] else None
        return (unbroadcast(grad_a, _shape(a)) if ctx.needs_input_grad[0] else None, grad_b)

    @staticmethod
    def backward_plain(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = _binary("div", np.true_divide, grad, b, true_divide=True)
        grad_b = None
        if ctx.needs_input_grad[1]:
            minus_grad_a_times_a = _binary("mul", np.multiply, _make(np.negative(grad_a._data)), a)
            grad_b = unbroadcast_plain_to(
                _binary("div", np.true_divide, minus_grad_a_times_a, b, true_divide=True), b)
        return (unbroadcast_plain_to(grad_a, a) if ctx.needs_input_grad[0] else None, grad_b)

    onnx = binary("Div")


class Neg(Function):
    """-a; d/da = -1."""
    rule = "d/da = -1"

    @staticmethod
    def forward(ctx, a):
        return _make(np.negative(a._data))

    @staticmethod
    def backward(ctx, grad):
        return -grad

    @staticmethod
    def backward_plain(ctx, grad):
        return _make(np.negative(grad._data))

    onnx = unary("Neg")


class Pow(Function):
    """a ** b.

    d/da = b a^(b-1), taken as 0 where b == 0 (so 0 ** 0 has gradient 0, like PyTorch);
    d/db = a^b log(a), taken as 0 where a == 0 and b >= 0 (PyTorch's rule; log(0) would give NaN).
    """
    rule = "d/da = b·a^(b-1), d/db = a^b·ln a"

    @staticmethod
    def forward(ctx, a, b):
        out = _binary("pow", np.power, a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            if not isinstance(b, Tensor):
                grad_a = grad * 0.0 if b == 0 else grad * (b * a ** (b - 1))
            else:
                exponent_is_zero = b._data == 0
                if exponent_is_zero.any():  # substitute 1 there: no 0 * inf, even in 2nd derivatives
                    safe_b = Where.apply(exponent_is_zero, 1.0, b)
                    grad_a = grad * Where.apply(exponent_is_zero, 0.0, safe_b * a ** (safe_b - 1))
                else:
                    grad_a = grad * (b * a ** (b - 1))
            grad_a = unbroadcast(grad_a, _shape(a))
        if ctx.needs_input_grad[1]:
            base = a if isinstance(a, Tensor) else _make(np.asarray(a, dtype=b.dtype))
            skip = (base._data == 0) & (b._data >= 0)
            log_base = (Where.apply(skip, 1.0, base) if skip.any() else base).log()
            grad_b = unbroadcast(grad * out * log_base, _shape(b))
        return grad_a, grad_b

    onnx = binary("Pow")


class Exp(Function):
    """exp(a); d/da = exp(a) (the output, saved)."""
    rule = "d/da = exp(a)"

    @staticmethod
    def forward(ctx, a):
        out = _make(np.exp(floating(a._data)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out

    @staticmethod
    def backward_plain(ctx, grad):
        out, = ctx.saved_tensors
        return _binary("mul", np.multiply, grad, out)

    onnx = unary("Exp")


class Log(Function):
    """log(a); d/da = 1/a."""
    rule = "d/da = 1/a"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _make(np.asarray(np.log(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad / a

    @staticmethod
    def backward_plain(ctx, grad):
        a, = ctx.saved_tensors
        return _binary("div", np.true_divide, grad, a, true_divide=True)

    onnx = unary("Log")


class Sin(Function):
    """sin(a); d/da = cos(a)."""
    rule = "d/da = cos a"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.asarray(np.sin(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad * a.cos()

    onnx = unary("Sin")


class Cos(Function):
    """cos(a); d/da = -sin(a)."""
    rule = "d/da = -sin a"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _make(np.asarray(np.cos(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return -grad * a.sin()

    onnx = unary("Cos")


class Tanh(Function):
    """tanh(a); d/da = 1 - tanh(a)^2 (from the saved output)."""
    rule = "d/da = 1 - tanh²(a)"

    @staticmethod
    def forward(ctx, a):
        out = _make(np.asarray(np.tanh(floating(a._data))))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (1.0 - out * out)

    @staticmethod
    def backward_plain(ctx, grad):
        out, = ctx.saved_tensors
        one_minus_square = _binary("sub", np.subtract, 1.0, _binary("mul", np.multiply, out, out))
        return _binary("mul", np.multiply, grad, one_minus_square)

    onnx = unary("Tanh")


def stable_sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp is only taken of -|x|."""
    e = np.exp(-np.abs(x))
    return np.asarray(np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """s = 1 / (1 + exp(-a)); d/da = s (1 - s)."""
    rule = "d/da = σ(a)·(1 - σ(a))"

    @staticmethod
    def forward(ctx, a):
        out = _make(stable_sigmoid(floating(a._data)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out * (1.0 - out)

    @staticmethod
    def backward_plain(ctx, grad):
        out, = ctx.saved_tensors
        return _binary("mul", np.multiply, _binary("mul", np.multiply, grad, out),
                       _binary("sub", np.subtract, 1.0, out))

    onnx = unary("Sigmoid")


class Where(Function):
    """where(condition, a, b): a where the (constant, boolean) condition holds, else b. The gradient
    goes to a where the condition holds and to b elsewhere."""
    rule = {"en": "grad routed to a where the condition holds, else to b",
            "es": "el grad va a a donde se cumple la condición, si no a b"}

    @staticmethod
    def forward(ctx, condition, a, b):
        x, y = _data(a), _data(b)
        return _make(_promoted(np.where(condition, x, y), a, b, x, y))

    @staticmethod
    def backward(ctx, grad):
        condition, a, b = ctx.inputs
        zero = np.zeros((), grad.dtype)
        return (None,
                unbroadcast(Where.apply(condition, grad, zero), _shape(a))
                if ctx.needs_input_grad[1] else None,
                unbroadcast(Where.apply(condition, zero, grad), _shape(b))
                if ctx.needs_input_grad[2] else None)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        condition = g.constant(np.asarray(node.inputs[0], bool))
        g.op("Where", [condition, operand(g, node, inputs, 1), operand(g, node, inputs, 2)], outputs)


class Cast(Function):
    """a.astype(dtype); the gradient is cast back to a's dtype."""
    rule = {"en": "grad cast back to the input dtype", "es": "grad convertido al dtype de la entrada"}

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return _make(a._data.astype(dtype))

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.dtype), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        to = g.helper.np_dtype_to_tensor_dtype(np.dtype(node.inputs[1]))
        g.op("Cast", [inputs[0]], outputs, to=to)


class Clone(Function):
    """A copy of a; d/da = 1."""
    rule = "d/da = 1"

    @staticmethod
    def forward(ctx, a):
        return _make(a._data.copy())

    @staticmethod
    def backward(ctx, grad):
        return grad

    onnx = unary("Identity")
