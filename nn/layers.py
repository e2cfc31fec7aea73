"""Layers with parameters or settings: Linear, Conv2D, MaxPool2D, AvgPool2D, Identity, Flatten,
Dropout.

Default initialisation is PyTorch's: Linear and Conv2D draw weight and bias from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (``kaiming_uniform_(a=sqrt(5))`` for the weight), where fan_in is
in_features, or in_channels * kH * kW.

Linear and Conv2D take keyword-only ``weight_regularizer=`` / ``bias_regularizer=`` (Keras'
``kernel_regularizer=`` is accepted as an alias), e.g.
``nn.Linear(784, 128, kernel_regularizer=nn.regularizers.l1_l2(l1=1e-4, l2=1e-3))``; their penalties
are summed by ``nn.regularization_loss(model)``.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.arguments import check_device
from autograd_lite.ops import LinearFn
from autograd_lite.tensor import Tensor, as_dtype

from . import functional as F
from . import init
from .module import Module, Parameter


def _dtype(dtype):
    dtype = as_dtype(dtype) if dtype is not None else np.dtype(np.float32)
    if dtype.kind != "f":
        raise TypeError(f"layer parameters must be floating point, got dtype {dtype}")
    return dtype


def _positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _pair(value, name, layer, minimum=1):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or
                             v < minimum for v in pair):
        raise ValueError(f"{layer}: {name} must be an int >= {minimum} or a pair of them, got "
                         f"{value!r}")
    return tuple(int(v) for v in pair)


def _attach_regularizers(layer, weight_regularizer, bias_regularizer, kernel_regularizer):
    if kernel_regularizer is not None:
        if weight_regularizer is not None:
            raise TypeError(f"{type(layer).__name__}: pass weight_regularizer or its Keras alias "
                            "kernel_regularizer, not both")
        weight_regularizer = kernel_regularizer
    if weight_regularizer is not None:
        layer.register_regularizer("weight", weight_regularizer)
    if bias_regularizer is not None:
        if layer.bias is None:
            raise ValueError(f"{type(layer).__name__}: bias_regularizer given but bias=False")
        layer.register_regularizer("bias", bias_regularizer)


class Linear(Module):
    """y = x W^T + b. x (..., in_features) -> y (..., out_features); W (out, in), b (out,)."""

    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None,
                 weight_regularizer=None, bias_regularizer=None, kernel_regularizer=None):
        super().__init__()
        check_device(device)
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dtype = _dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype)) if bias else None
        self.reset_parameters()
        _attach_regularizers(self, weight_regularizer, bias_regularizer, kernel_regularizer)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if type(input) is not Tensor:
            input = F._tensor(input, like=self.weight)  # NumPy data takes the layer's dtype
        return LinearFn.apply(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2D(Module):
    """2-D convolution (cross-correlation), NCHW: (N, C_in, H, W) -> (N, C_out, H', W') with
    H' = (H + 2 padding - kH) // stride + 1. weight (C_out, C_in, kH, kW), bias (C_out,).
    ``padding`` may also be ``"valid"`` (0) or ``"same"`` (kernel_size // 2: stride 1, odd kernels)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, *,
                 device=None, dtype=None, weight_regularizer=None, bias_regularizer=None,
                 kernel_regularizer=None):
        super().__init__()
        check_device(device)
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2D")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2D")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = _pair(stride, "stride", "Conv2D")
        if isinstance(padding, str):  # "valid" or "same", resolved once here
            padding = F.same_padding(padding, self.kernel_size, self.stride, "Conv2D")
        self.padding = _pair(padding, "padding", "Conv2D", minimum=0)
        dtype = _dtype(dtype)
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels) + self.kernel_size,
                                         dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype)) if bias else None
        self.reset_parameters()
        _attach_regularizers(self, weight_regularizer, bias_regularizer, kernel_regularizer)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class _Pool2D(Module):
    _function = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        kernel = _pair(kernel_size, "kernel_size", name)
        _pair(self.stride, "stride", name)
        pad = _pair(padding, "padding", name, minimum=0)
        if pad[0] * 2 > kernel[0] or pad[1] * 2 > kernel[1]:
            raise ValueError(f"{name}: padding {padding} should be at most half of kernel_size "
                             f"{kernel_size}")

    def forward(self, input):
        return type(self)._function(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2D(_Pool2D):
    """Maximum over each kH x kW window (stride defaults to the kernel size); padding is -inf."""
    _function = staticmethod(F.max_pool2d)


class AvgPool2D(_Pool2D):
    """Mean over each kH x kW window (stride defaults to the kernel size); zero padding counts in
    the mean (PyTorch's count_include_pad=True)."""
    _function = staticmethod(F.avg_pool2d)


class Identity(Module):
    """Returns its input unchanged (a placeholder layer; extra arguments are ignored, as in
    PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dims start_dim..end_dim: (N, C, H, W) -> (N, C H W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale survivors by
    1/(1-p); the identity in eval(). Masks come from the generator behind ``ag.manual_seed``."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


Conv2d, MaxPool2d, AvgPool2d = Conv2D, MaxPool2D, AvgPool2D
