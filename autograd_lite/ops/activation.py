"""Piecewise primitives: relu, abs, maximum/minimum, clamp, leaky_relu, elu.

Each is one recorded node whose forward is a function of its inputs, so the graph can be replayed
on new inputs, read by the teaching views and exported, instead of a multiplication by a mask
computed from the forward values. Their backward formulas select the gradient with a mask made from
what the node saved: the mask is piecewise constant, so its own derivative is zero and the formulas
stay differentiable for second derivatives.

NaN and infinities follow PyTorch: relu(-inf) = 0, relu(nan) = nan, maximum/minimum propagate NaN,
clamp(nan) = nan with a zero gradient there.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..dtypes import result_type
from ..function import Function
from ..tensor import Tensor
from .broadcasting import _data, unbroadcast
from .elementwise import Where
from .onnx_mapping import binary, operand, unary

_make = Tensor._make


def _where(mask, grad):
    """grad where ``mask`` holds, else 0 (a NaN gradient where the mask is off gives 0)."""
    return Where.apply(mask, grad, np.zeros((), grad.dtype))


class ReLU(Function):
    """y = max(x, 0); dy/dx = 1 where x > 0 else 0 (0 at 0, as in PyTorch; NaN passes through).

    Only a boolean mask is kept; large tensors go through a parallel kernel (``kernels.relu_forward``).
    The backward g * mask (``ReLUMask``) is linear in g and its own derivative is the same mask."""
    rule = "d/da = 1 if a > 0 else 0"

    @staticmethod
    def forward(ctx, x):
        out, ctx.mask = kernels.relu_forward(x._data)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        return ReLUMask.apply(grad, ctx.mask)

    @staticmethod
    def backward_plain(ctx, grad):  # no graph of the gradient: the mask kernel, no ReLUMask node
        return (_make(kernels.mask_select(grad._data, ctx.mask)),)  # a tuple: nothing to normalise

    @staticmethod
    def backward_in_place(ctx, grad):
        """backward_plain on a gradient nobody else holds (``Function.backward_in_place``): masked
        in place, no new array (the course CNN's first ReLU: 5.5 MB a step at batch 64)."""
        data = grad._data
        if not data.flags.writeable:  # (a producer's promise broken: stay correct)
            return ReLU.backward_plain(ctx, grad)
        kernels.mask_select(data, ctx.mask, out=data)
        return (grad,)

    _owned_gradients = True  # its gradient is new, or its own one masked in place

    onnx = unary("Relu")


class ReLUMask(Function):
    """z = g where mask else 0 (not g * mask: a NaN gradient where the mask is off gives 0, as in
    PyTorch). Linear in g and self-adjoint: its backward is itself with the same mask."""
    rule = {"en": "d/dg = mask (a > 0)", "es": "d/dg = máscara (a > 0)"}

    @staticmethod
    def forward(ctx, grad, mask):
        ctx.mask = mask
        return _make(kernels.mask_select(grad._data, mask))

    @staticmethod
    def backward(ctx, h):
        return ReLUMask.apply(h, ctx.mask), None


class Abs(Function):
    """y = |x|; dy/dx = sign(x) (0 at 0, as in PyTorch)."""
    rule = "d/da = sign(a)"

    @staticmethod
    def forward(ctx, x):
        ctx.sign = np.nan_to_num(np.sign(x._data), nan=0.0)  # sign(NaN) taken as 0, as in PyTorch
        return _make(np.abs(x._data))

    @staticmethod
    def backward(ctx, grad):
        return grad * _make(ctx.sign)

    onnx = unary("Abs")


class _Extremum(Function):
    """maximum(a, b) / minimum(a, b), broadcasting; NaN wins. PyTorch's gradient: each operand
    gets the gradient where it is the value taken, and half of it on ties."""
    ufunc = None

    @classmethod
    def forward(cls, ctx, a, b):
        x, y = _data(a), _data(b)
        dtype = result_type(a, b)
        out = np.asarray(cls.ufunc(x, y))
        ctx.operands = (x, y)
        return _make(out if out.dtype == dtype else out.astype(dtype))

    @classmethod
    def backward(cls, ctx, grad):
        x, y = ctx.operands
        ties = x == y
        half = Where.apply(np.broadcast_to(ties, grad.shape), grad * 0.5, grad)
        a_loses, b_loses = (x < y, x > y) if cls.ufunc is np.maximum else (x > y, x < y)
        needs = ctx.needs_input_grad
        return (unbroadcast(_where(np.broadcast_to(~a_loses, grad.shape), half), np.shape(x))
                if needs[0] else None,
                unbroadcast(_where(np.broadcast_to(~b_loses, grad.shape), half), np.shape(y))
                if needs[1] else None)


class Maximum(_Extremum):
    """Elementwise max; NaN wins; ties share the gradient half and half."""
    rule = {"en": "d/da = 1 where a > b, d/db = 1 where b > a\n(ties: ½ each)",
            "es": "d/da = 1 donde a > b, d/db = 1 donde b > a\n(empates: ½ cada uno)"}
    ufunc = np.maximum

    onnx = binary("Max")


class Minimum(_Extremum):
    """Elementwise min; NaN wins; ties share the gradient half and half."""
    rule = {"en": "d/da = 1 where a < b, d/db = 1 where b < a\n(ties: ½ each)",
            "es": "d/da = 1 donde a < b, d/db = 1 donde b < a\n(empates: ½ cada uno)"}
    ufunc = np.minimum

    onnx = binary("Min")


class Clamp(Function):
    """y = min(max(x, low), high), the bounds numbers, Tensors or None. The gradient passes to x
    where low <= x <= high (boundaries included, PyTorch's rule; 0 at NaN), and to a tensor bound
    where it is the value taken."""
    rule = {"en": "d/da = 1 inside [low, high], 0 outside", "es": "d/da = 1 dentro de [low, high], 0 fuera"}

    @staticmethod
    def forward(ctx, x, low, high):
        data, lo, hi = x._data, _data(low), _data(high)
        out = data
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        dtype = result_type(*[v for v in (x, low, high) if v is not None])
        ctx.x = data
        ctx.bounds = (lo, hi)
        return _make(np.asarray(out, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        x, (lo, hi) = ctx.x, ctx.bounds
        inside = np.ones(grad.shape, bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        needs = ctx.needs_input_grad
        grads = [_where(np.broadcast_to(inside, grad.shape), grad) if needs[0] else None, None, None]
        crossed = (lo > hi) if lo is not None and hi is not None else False  # then the result is high
        if needs[1]:  # the lower bound is taken where x is not above it (NaN included, as PyTorch)
            taken = ~(x >= lo) & ~crossed
            grads[1] = unbroadcast(_where(np.broadcast_to(taken, grad.shape), grad), np.shape(lo))
        if needs[2]:
            taken = ~(x <= hi) | crossed
            grads[2] = unbroadcast(_where(np.broadcast_to(taken, grad.shape), grad), np.shape(hi))
        return tuple(grads)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        value = inputs[0]
        for position, op_type in ((1, "Max"), (2, "Min")):
            if node.inputs[position] is not None:
                value = g.op(op_type, [value, operand(g, node, inputs, position)])[0]
        g.op("Identity", [value], outputs)


class LeakyReLU(Function):
    """y = x where x > 0 else slope x; dy/dx = 1 or slope (slope at 0, as in PyTorch)."""
    rule = "d/da = 1 if a > 0 else slope"

    @staticmethod
    def forward(ctx, x, negative_slope):
        ctx.positive = x._data > 0
        out = np.where(ctx.positive, x._data, x._data * negative_slope)
        return _make(out.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        slope = ctx.inputs[1]
        return Where.apply(ctx.positive, grad, grad * slope), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("LeakyRelu", [inputs[0]], outputs, alpha=float(node.inputs[1]))


class ELU(Function):
    """y = x where x > 0 else alpha (exp(x) - 1) (Clevert et al. 2015); dy/dx = 1 or alpha exp(x).
    exp is taken of min(x, 0) only, so the unused branch never overflows."""
    rule = "d/da = 1 if a > 0 else α·exp(a)"

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        data = x._data
        ctx.positive = ~(data <= 0)  # NaN takes the identity branch, as in PyTorch
        negative = np.expm1(np.minimum(data, 0)) * alpha
        return _make(np.where(ctx.positive, data, negative).astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        alpha = ctx.inputs[1]
        slope = Clamp.apply(x, None, 0.0).exp() * alpha
        return Where.apply(ctx.positive, grad, grad * slope), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("Elu", [inputs[0]], outputs, alpha=float(node.inputs[1]))


__all__ = ["ReLU", "ReLUMask", "Abs", "Maximum", "Minimum", "Clamp", "LeakyReLU", "ELU"]
