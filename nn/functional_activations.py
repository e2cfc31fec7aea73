"""More of PyTorch's activations, each a composite of the engine's ops (their gradients follow):

    relu6(x)       = min(max(x, 0), 6)                hardtanh(x) = min(max(x, min_val), max_val)
    (the last two pass the gradient strictly between the bounds, as PyTorch: relu6'(0) = 0)
    logsigmoid(x)  = log sigmoid(x) = -softplus(-x)   softsign(x) = x / (1 + |x|)
    hardsigmoid(x) = relu6(x + 3) / 6                 hardswish(x) = x relu6(x + 3) / 6
    mish(x)        = x tanh(softplus(x))              tanhshrink(x) = x - tanh(x)

Those PyTorch has no integer version of refuse integer tensors, as PyTorch does.
"""
from __future__ import annotations

from autograd_lite.ops import Tanh
from autograd_lite.ops.composite import where

from .functional_inputs import _floating, _tensor
from .functions import Softplus


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    input = _tensor(input)
    if input._data.dtype.kind in "iu" and float(min_val).is_integer() and float(max_val).is_integer():
        min_val, max_val = int(min_val), int(max_val)  # (integers stay integers, as in PyTorch)
    clamped = input.clamp(min_val, max_val)
    if not clamped.requires_grad:
        return clamped
    # the gradient passes strictly inside (min_val, max_val), as PyTorch's hardtanh (clamp's
    # passes at the bounds too): relu6'(0) is 0
    data = input._data
    return where((data > min_val) & (data < max_val), input, clamped.detach())


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input):
    return -Softplus.apply(-_floating(input, "logsigmoid"), 1.0, 20.0)


def softsign(input):
    input = _tensor(input)
    return input / (input.abs() + 1)


def hardsigmoid(input, inplace=False):
    return relu6(_floating(input, "hardsigmoid") + 3.0) * (1.0 / 6.0)


def hardswish(input, inplace=False):
    input = _floating(input, "hardswish")
    return input * relu6(input + 3.0) * (1.0 / 6.0)


def mish(input, inplace=False):
    input = _floating(input, "mish")
    return input * Tanh.apply(Softplus.apply(input, 1.0, 20.0))


def tanhshrink(input):
    input = _tensor(input)
    return input - Tanh.apply(input)
