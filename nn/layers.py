"""Layers with parameters or settings: Linear, Identity, Flatten, Unflatten, Dropout, Dropout1d,
Dropout2d, ConstantPad2d, ZeroPad2d (convolutions are in ``convolution``, pooling in ``pooling``, lazy layers in ``lazy``).

Default initialisation is PyTorch's: Linear draws weight and bias from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (``kaiming_uniform_(a=sqrt(5))`` for the weight), fan_in =
in_features.

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


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: Unflatten(1, (C, H, W)) turns (N, C H W) into
    (N, C, H, W), undoing Flatten. One entry may be -1 (inferred)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"Unflatten: dim must be an int, got {dim!r}")
        sizes = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or
                            (s < 1 and s != -1) for s in sizes) or sizes.count(-1) > 1:
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of positive ints (one "
                            f"may be -1), got {unflattened_size!r}")
        self.dim, self.unflattened_size = int(dim), unflattened_size

    def forward(self, input):
        shape = input.shape
        if not -len(shape) <= self.dim < len(shape):
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for input of shape {shape}")
        dim = self.dim % len(shape)
        sizes = tuple(self.unflattened_size)
        known = int(np.prod([s for s in sizes if s != -1]))
        if (-1 in sizes and shape[dim] % known) or (-1 not in sizes and known != shape[dim]):
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not multiply to the size "
                             f"{shape[dim]} of dim {self.dim} of input of shape {shape}")
        return input.reshape(*shape[:dim], *sizes, *shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability p and scale survivors by
    1/(1-p); the identity in eval(). Masks come from the generator behind ``ag.manual_seed``."""

    _function = staticmethod(F.dropout)

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = float(p), inplace

    def forward(self, input):
        return type(self)._function(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Channel-wise dropout of (N, C, H, W): whole channels are zeroed with probability p and the
    rest scaled by 1/(1-p) in training; the identity in eval(). A 3-D input is taken as (N, C, L),
    with PyTorch's warning."""

    _function = staticmethod(F.dropout2d)


class Dropout1d(Dropout):
    """Channel-wise dropout of (N, C, L) or unbatched (C, L)."""

    _function = staticmethod(F.dropout1d)


class ConstantPad2d(Module):
    """Pads the last two dims with ``value``: ``padding`` an int (all four sides) or
    (left, right, top, bottom) (``nn.functional.pad``)."""

    def __init__(self, padding, value):
        super().__init__()
        self.padding = (padding,) * 4 if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 4:
            raise ValueError(f"{type(self).__name__}: padding must be an int or 4 sizes (left, "
                             f"right, top, bottom), got {padding}")
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last two dims with zeros (``ConstantPad2d`` with value 0)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
