"""The few `Function`s the layers need beyond the engine's primitives.

* ``Softplus``: (1/beta) log(1 + exp(beta x)) in one node, evaluated with ``logaddexp`` so that
  neither large nor very negative inputs lose precision (a composite ``log(1 + exp(.))`` would).
* ``Erf`` (the engine's, ``autograd_lite.ops.mathops``): for the exact GELU
  x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.
(ReLU, LeakyReLU and ELU are engine primitives: ``autograd_lite.ops.activation``.)

Backward formulas use differentiable Tensor ops, so second derivatives work.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import Function
from autograd_lite.ops import ReLU, Sigmoid, Where
from autograd_lite.ops.mathops import Erf  # noqa: F401  (nn.functions.Erf, as before)
from autograd_lite.tensor import Tensor

_make = Tensor._make


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (PyTorch's switch to the
    identity for numerical stability). dy/dx = sigmoid(beta x) (1 above the threshold)."""
    rule = "d/da = σ(a)"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        scaled = x._data * beta
        linear = scaled > threshold
        with np.errstate(invalid="ignore"):  # NaN in, NaN out, without a warning
            out = np.logaddexp(0, scaled) / beta
        out = np.where(linear, x._data, out).astype(x.dtype, copy=False)
        ctx.beta, ctx.linear = beta, linear
        ctx.save_for_backward(x)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        slope = Sigmoid.apply(x * ctx.beta)
        return Where.apply(ctx.linear, grad, grad * slope), None, None

    @staticmethod
    def onnx(g, node, inputs, outputs):  # log(1 + exp(beta x)) / beta (the threshold only matters
        _, beta, _ = node.inputs          # for precision, not for the value)
        if beta == 1:
            g.op("Softplus", [inputs[0]], outputs)
            return
        dtype = node.outputs[0]()._data.dtype
        scaled = g.op("Mul", [inputs[0], g.constant(beta, dtype)])[0]
        g.op("Div", [g.op("Softplus", [scaled])[0], g.constant(beta, dtype)], outputs)


ReLUFn = ReLU  # the engine's primitive (autograd_lite.ops.activation), under its old name
