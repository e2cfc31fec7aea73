"""Convolution layers: ``Conv1d``, ``Conv2D`` (``Conv2d``) and ``ConvTranspose2d``, with PyTorch's
arguments (stride, padding incl. ``"same"``/``"valid"``, dilation, groups, bias), weight layouts,
``state_dict`` keys and ``repr``.

weight layouts: Conv (C_out, C_in / groups, *kernel); ConvTranspose (C_in, C_out / groups, *kernel).
Default initialisation is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))``, i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * kernel area, and the bias from
the same bound. Only ``padding_mode="zeros"`` is supported (other modes raise, naming the argument).
The functional forms and the math are in ``nn.functional_conv``.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.arguments import check_device

from . import functional as F
from . import functional_conv as FC
from . import init
from .layers import _attach_regularizers, _dtype, _positive_int
from .module import Module, Parameter


class _ConvNd(Module):
    """Settings, parameters, initialisation and repr shared by the convolution layers."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        check_device(device)
        name, dims = type(self).__name__, self._dims
        self.in_channels = _positive_int(in_channels, "in_channels", name)
        self.out_channels = _positive_int(out_channels, "out_channels", name)
        self.kernel_size = FC._tuple(kernel_size, dims, "kernel_size", name, 1)
        self.stride = FC._tuple(stride, dims, "stride", name, 1)
        self.dilation = FC._tuple(dilation, dims, "dilation", name, 1)
        self.output_padding = FC._tuple(output_padding, dims, "output_padding", name, 0)
        self.groups = FC._groups(groups, name, self.in_channels, "in_channels")
        FC._groups(groups, name, self.out_channels, "out_channels")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported "
                                      "(only 'zeros'): pad the input yourself")
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or a tuple of ints, got "
                                 f"{padding!r}")
            FC._same_padding(padding, self.kernel_size, self.stride, self.dilation, name)
            self.padding = padding
        else:
            self.padding = FC._tuple(padding, dims, "padding", name, 0)
        dtype = _dtype(dtype)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups)
        else:
            shape = (self.out_channels, self.in_channels // self.groups)
        self.weight = Parameter(np.empty(shape + self.kernel_size, dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        dims = self._dims
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation): (N, C_in, L) -> (N, C_out, L') with
    L' = (L + 2 padding - dilation (k - 1) - 1) // stride + 1. weight (C_out, C_in / groups, k)."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv2D(_ConvNd):
    """2-D convolution (cross-correlation), NCHW: (N, C_in, H, W) -> (N, C_out, H', W') with
    H' = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1. weight (C_out, C_in / groups, kH,
    kW), bias (C_out,). ``padding`` may also be ``"valid"`` (0) or ``"same"`` (output size = input
    size; stride 1). Keyword-only ``weight_regularizer``/``bias_regularizer`` (Keras' alias
    ``kernel_regularizer``) attach penalties summed by ``nn.regularization_loss``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, *,
                 weight_regularizer=None, bias_regularizer=None, kernel_regularizer=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device=device, dtype=dtype)
        _attach_regularizers(self, weight_regularizer, bias_regularizer, kernel_regularizer)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the input-gradient of a convolution; learnt upsampling):
    (N, C_in, H, W) -> (N, C_out, H', W') with
    H' = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1.
    weight (C_in, C_out / groups, kH, kW), bias (C_out,). ``forward(input, output_size=None)``:
    ``output_size`` (the last two entries used) picks the output_padding that reaches it."""

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device=device, dtype=dtype)
        if any(op >= s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                             f"smaller than the stride {self.stride}")

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def _output_padding(self, input, output_size):
        wanted = tuple(int(s) for s in tuple(output_size)[-2:])
        smallest = tuple((n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                         zip(input.shape[-2:], self.stride, self.padding, self.dilation,
                             self.kernel_size))
        extra = tuple(w - m for w, m in zip(wanted, smallest))
        if any(e < 0 or e >= s for e, s in zip(extra, self.stride)):
            largest = tuple(m + s - 1 for m, s in zip(smallest, self.stride))
            raise ValueError(f"ConvTranspose2d: requested output_size {wanted} is not reachable "
                             f"from input size {tuple(input.shape[-2:])}: it must lie between "
                             f"{smallest} and {largest}")
        return extra


Conv2d = Conv2D
