"""Normalisation layers (PyTorch's names, arguments, defaults, buffers and ``state_dict`` keys):
``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``, and their functional forms
``batch_norm``, ``layer_norm``, ``group_norm`` (re-exported by ``nn.functional``).

All three standardise with the biased variance and then apply a learnable per-feature affine map,
y = xhat * weight + bias (weight starts at 1, bias at 0):

* BatchNorm (Ioffe & Szegedy 2015) normalises each channel over the batch and spatial dims. In
  training it uses the batch statistics and updates the buffers
  ``running_mean <- (1 - momentum) running_mean + momentum mean`` and the same for
  ``running_var`` with the *unbiased* batch variance (``momentum=None``: a cumulative average,
  factor 1 / num_batches_tracked); in eval it normalises with the running statistics.
* LayerNorm (Ba et al. 2016) normalises each sample over its last ``len(normalized_shape)`` dims.
* GroupNorm (Wu & He 2018) normalises each sample over groups of channels (and spatial dims).
"""
from __future__ import annotations

import numbers

import numpy as np

from autograd_lite.tensor import Tensor, as_dtype

from .module import Module, Parameter
from .normalization_functions import FrozenNormalize, Normalize, moments


def _as_input(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    return input


def _affine(out, weight, bias, shape):
    """out * weight + bias with weight/bias reshaped to ``shape`` (broadcast over out)."""
    if weight is not None:
        out = out * (weight.reshape(shape) if weight.shape != shape else weight)
    if bias is not None:
        out = out + (bias.reshape(shape) if bias.shape != shape else bias)
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation of input (N, C, *) per channel C. With ``training`` the batch statistics
    are used and the running buffers (when given) updated in place; otherwise the running
    statistics normalise (as in PyTorch, both must then be given)."""
    input = _as_input(input, "batch_norm")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *), got shape {input.shape}")
    channels = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))
    shape = (1, channels) + (1,) * (input.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
        return FrozenNormalize.apply(input, running_mean, running_var, weight, bias, eps)
    count = input._data.size // channels
    if count <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{tuple(input.shape)}")
    stats = moments(input._data, axes)
    mean, var = stats[0], stats[1]  # per channel, (C,)
    if running_mean is not None:
        data = running_mean._data
        data *= 1.0 - momentum
        data += momentum * mean
        running_mean._version += 1
    if running_var is not None:
        data = running_var._data
        data *= 1.0 - momentum
        data += momentum * var * (count / (count - 1))  # the unbiased estimate
        running_var._version += 1
    return Normalize.apply(input, axes, eps, stats, weight, bias)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each sample over its last ``len(normalized_shape)`` dims (which must equal
    ``normalized_shape``), then y = xhat * weight + bias (weight, bias of shape normalized_shape)."""
    input = _as_input(input, "layer_norm")
    normalized_shape = _shape_tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise ValueError(f"layer_norm: given normalized_shape={list(normalized_shape)}, expected "
                         f"input with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                         f"input of size {list(input.shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    out = Normalize.apply(input, axes, eps, None, None, None)
    return _affine(out, weight, bias, normalized_shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of input (N, C, *) into ``num_groups`` groups, normalise each sample's
    group over its channels and spatial positions, then a per-channel affine map."""
    input = _as_input(input, "group_norm")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(f"group_norm: input of shape {input.shape} must be (N, C, *) with C "
                         f"divisible by num_groups={num_groups}")
    n, channels = input.shape[0], input.shape[1]
    grouped = input.reshape(n, num_groups, -1)  # (N, G, C/G * spatial)
    out = Normalize.apply(grouped, (2,), eps, None, None, None).reshape(input.shape)
    return _affine(out, weight, bias, (1, channels) + (1,) * (input.ndim - 2))


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(size) for size in normalized_shape)


def _float_dtype(dtype):
    dtype = np.dtype(np.float32) if dtype is None else as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"normalisation layers need a floating-point dtype, got {dtype}")
    return dtype


class _BatchNorm(Module):
    """The shared body of BatchNorm1d/2d: buffers ``running_mean`` (zeros), ``running_var`` (ones)
    and ``num_batches_tracked`` (int64), parameters ``weight`` (ones) and ``bias`` (zeros)."""
    _input_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        dtype = _float_dtype(dtype)
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.num_features, dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            self.bias._data[...] = 0

    def forward(self, input):
        if input.ndim not in self._input_dims:
            dims = " or ".join(f"{d}D" for d in self._input_dims)
            raise ValueError(f"expected {dims} input (got {input.ndim}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input of shape "
                             f"{input.shape} has {input.shape[1]} channels in dim 1")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch_stats = self.training or self.running_mean is None  # as PyTorch decides
        keep = not self.training or self.track_running_stats  # buffers to read or to update
        return batch_norm(input, self.running_mean if keep else None,
                          self.running_var if keep else None, self.weight, self.bias,
                          use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C."""
    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C."""
    _input_dims = (4,)


class LayerNorm(Module):
    """Normalise over the last dims (``normalized_shape``); ``weight`` (ones) and ``bias`` (zeros)
    of that shape when ``elementwise_affine`` (``bias=False`` drops the bias)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.normalized_shape, dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise groups of channels: ``num_channels`` split into ``num_groups``; per-channel
    ``weight`` (ones) and ``bias`` (zeros) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        dtype = _float_dtype(dtype)
        self.num_groups, self.num_channels, self.eps, self.affine = (
            int(num_groups), int(num_channels), eps, affine)
        if affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.num_channels, dtype))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
