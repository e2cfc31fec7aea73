"""Weight initialisation, in place and without recording a graph (PyTorch's ``torch.nn.init``).

fan_in = in_features (times the kernel area for convolutions), fan_out = out_features (times the
kernel area). The schemes:

* Xavier/Glorot (Glorot & Bengio 2010): keeps activation variance for tanh/sigmoid networks,
  std = gain * sqrt(2 / (fan_in + fan_out)); uniform bound = sqrt(3) * std.
* Kaiming/He (He et al. 2015): keeps it for ReLU networks, std = gain / sqrt(fan), fan = fan_in
  (mode='fan_in') or fan_out; uniform bound = sqrt(3) * std; gain = sqrt(2 / (1 + a^2)) for
  leaky_relu with slope ``a`` (a=0: ReLU).

Every function draws from the generator behind ``ag.manual_seed``, writes into ``tensor._data`` and
returns the tensor. ``glorot_*`` and ``he_*`` are Keras-style aliases.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.random import generator
from autograd_lite.tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "glorot_uniform_", "glorot_normal_", "he_uniform_", "he_normal_"]

_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for
    relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope defaults to 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out cannot be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {tensor.shape})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor, values):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init functions take a Tensor, got {type(tensor).__name__}")
    tensor._data[...] = values
    tensor._version += 1
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with U(a, b)."""
    if a > b:
        raise ValueError(f"uniform_: a={a} must not exceed b={b}")
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def eye_(tensor):
    """The identity matrix (ones on the main diagonal of a 2-D tensor, zeros elsewhere)."""
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0):
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"kaiming init: tensor of shape {tensor.shape} has a zero {mode}")
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-bound, bound), bound = gain * sqrt(3 / fan). PyTorch's Linear and Conv use a=sqrt(5),
    which gives bound = 1 / sqrt(fan_in)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2), std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


glorot_uniform_, glorot_normal_ = xavier_uniform_, xavier_normal_


def he_uniform_(tensor, mode="fan_in"):
    """Keras' he_uniform: kaiming_uniform_ for ReLU."""
    return kaiming_uniform_(tensor, 0.0, mode, "relu")


def he_normal_(tensor, mode="fan_in"):
    """He normal for ReLU (a plain normal; Keras truncates its he_normal at 2 std)."""
    return kaiming_normal_(tensor, 0.0, mode, "relu")
