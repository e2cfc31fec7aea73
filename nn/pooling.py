"""Pooling layers: ``MaxPool2D``/``AvgPool2D`` (``MaxPool2d``/``AvgPool2d``), ``MaxPool1d``,
``AvgPool1d``, ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``, ``AdaptiveAvgPool1d``,
``AdaptiveMaxPool1d``: PyTorch's arguments, defaults and ``repr``. They hold settings only; the work
(and the math) is in ``nn.functional_pool``."""
from __future__ import annotations

import numpy as np

from . import functional as F
from .functional_conv import _tuple
from .module import Module


def _check_pool(layer, kernel_size, stride, padding, dims):
    """Validate early (at construction) what the functional form checks again per call."""
    kernel = _tuple(kernel_size, dims, "kernel_size", layer, 1)
    if stride is not None:
        _tuple(stride, dims, "stride", layer, 1)
    pad = _tuple(padding, dims, "padding", layer, 0)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{layer}: padding {padding} should be at most half of kernel_size "
                         f"{kernel_size}")


class MaxPool2D(Module):
    """Maximum over each kH x kW window (stride defaults to the kernel size; padding is -inf;
    ``dilation`` spaces the window's taps; ``ceil_mode`` keeps a last partial window;
    ``return_indices`` also returns each maximum's flat index in its plane)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _check_pool(type(self).__name__, kernel_size, stride, padding, 2)
        _tuple(dilation, 2, "dilation", type(self).__name__, 1)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2D(Module):
    """Mean over each kH x kW window (stride defaults to the kernel size). The divisor is
    ``divisor_override`` if given, else the window size (zero padding counted,
    ``count_include_pad=True``) or the number of input elements in the window."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        _check_pool(type(self).__name__, kernel_size, stride, padding, 2)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(Module):
    """Maximum over windows of (N, C, L) or (C, L); arguments as ``MaxPool2d``'s, one int each."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _check_pool("MaxPool1d", kernel_size, stride, padding, 1)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    extra_repr = MaxPool2D.extra_repr


class AvgPool1d(Module):
    """Mean over windows of (N, C, L) or (C, L); arguments as ``AvgPool2d``'s, one int each."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        _check_pool("AvgPool1d", kernel_size, stride, padding, 1)
        self.kernel_size = _tuple(kernel_size, 1, "kernel_size", "AvgPool1d", 1)
        self.stride = _tuple(stride if stride is not None else kernel_size, 1, "stride",
                             "AvgPool1d", 1)
        self.padding = _tuple(padding, 1, "padding", "AvgPool1d", 0)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    extra_repr = AvgPool2D.extra_repr


class _AdaptivePool(Module):
    def __init__(self, output_size):
        super().__init__()
        entries = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        if any(s is not None and (isinstance(s, bool) or not isinstance(s, (int, np.integer)) or
                                  s < 1) for s in entries):
            raise ValueError(f"{type(self).__name__}: output_size must be a positive int, a tuple "
                             f"of them, or None entries, got {output_size!r}")
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool):
    """Mean over PyTorch's adaptive windows so that (N, C, H, W) -> (N, C, *output_size) for any
    H, W (e.g. ``AdaptiveAvgPool2d(1)`` is global average pooling); a None entry keeps that size."""

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool):
    """Max over PyTorch's adaptive windows, (N, C, H, W) -> (N, C, *output_size); with
    ``return_indices`` also each maximum's flat index h W + w in its plane."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_AdaptivePool):
    """Mean over adaptive windows of (N, C, L) or (C, L) -> (..., output_size)."""

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max over adaptive windows of (N, C, L) or (C, L) -> (..., output_size)."""

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


MaxPool2d, AvgPool2d = MaxPool2D, AvgPool2D
