"""The few `Function`s the layers need beyond the engine's primitives.

* ``Softplus``: (1/beta) log(1 + exp(beta x)) in one node, evaluated with ``logaddexp`` so that
  neither large nor very negative inputs lose precision (a composite ``log(1 + exp(.))`` would).
* ``Erf``: the error function, for the exact GELU x Phi(x) = x (1 + erf(x / sqrt 2)) / 2.
* ``ReLUFn``: max(x, 0) in one node that keeps only a boolean mask (the hot path of every MLP and
  CNN; large tensors go through a parallel kernel), and ``ReLUMask``, its backward.

Backward formulas use differentiable Tensor ops, so second derivatives work.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf as _erf_array  # scipy comes with scikit-learn, a dependency

from autograd_lite import kernels
from autograd_lite.function import Function
from autograd_lite.ops import Sigmoid, Where
from autograd_lite.tensor import Tensor

_make = Tensor._make


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (PyTorch's switch to the
    identity for numerical stability). dy/dx = sigmoid(beta x) (1 above the threshold)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        scaled = x._data * beta
        linear = scaled > threshold
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


class Erf(Function):
    """erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt; d erf / dx = 2/sqrt(pi) exp(-x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _make(np.asarray(_erf_array(x._data)).astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * ((x * x * -1.0).exp() * (2.0 / math.sqrt(math.pi)))


class ReLUFn(Function):
    """y = max(x, 0); dy/dx = 1 where x > 0 else 0 (0 at 0, as in PyTorch; NaN passes through).

    The mask is a constant of the graph, so the backward g * mask (``ReLUMask``) is linear in g and
    its own derivative is the same mask."""
    _fresh_gradients = True  # backward returns arrays it just made: leaves keep them

    @staticmethod
    def forward(ctx, x):
        out, ctx.mask = kernels.relu_forward(x._data)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        return ReLUMask.apply(grad, ctx.mask)


class ReLUMask(Function):
    """z = g where mask else 0 (not g * mask: a NaN gradient where the mask is off gives 0, as in
    PyTorch). Linear in g and self-adjoint: its backward is itself with the same mask."""
    _fresh_gradients = True  # backward returns arrays it just made: leaves keep them

    @staticmethod
    def forward(ctx, grad, mask):
        ctx.mask = mask
        return _make(kernels.mask_select(grad._data, mask))

    @staticmethod
    def backward(ctx, h):
        return ReLUMask.apply(h, ctx.mask), None