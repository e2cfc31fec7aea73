"""Convolutions beyond the plain 2-D one: ``conv1d``, ``conv2d`` with ``dilation``/``groups``/
``padding="same"``, and ``conv_transpose2d``. Each is a composite of the primitives in
``autograd_lite.ops.conv`` (``Conv2d``, ``ConvTranspose2d``), so gradients of any order come from
theirs:

* ``conv1d`` is ``conv2d`` on a height of 1: x (N, C, L) -> (N, C, 1, L), w (O, C, k) -> (O, C, 1, k).
* ``dilation`` d spreads the kernel taps d apart: it is the convolution with the dilated kernel
  w_d[o, c, d a, d b] = w[o, c, a, b] (zeros between the taps), of size d (k - 1) + 1. The kernels do
  d^2 times the work of an undilated kernel of the same reach (cheap for the small d of real models).
* ``groups`` g splits the input channels and the filters into g independent convolutions whose
  outputs are concatenated along the channels (a depthwise convolution is g = C_in).
* ``padding="same"`` pads d (k - 1) in total per axis, the extra odd unit on the bottom/right as
  PyTorch does; ``"valid"`` is no padding.
* ``conv_transpose2d`` (weight (C_in, C_out / g, kH, kW)) is the input-gradient of a convolution:
  output size (H - 1) s - 2 p + d (k - 1) + output_padding + 1.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.ops import conv as _conv
from autograd_lite.ops.composite import cat
from autograd_lite.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "dilate_kernel", "pad_constant"]


def _tuple(value, n, arg, fn, minimum):
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                               for v in values):
        raise TypeError(f"{fn}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    if min(values) < minimum:
        raise ValueError(f"{fn}: {arg} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _as_tensor(x, like):
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x), dtype=like.dtype)


def pad_constant(x, before, after, value=0.0):
    """x (..., H, W) with before = (top, left) and after = (bottom, right) rows/columns of
    ``value`` (a composite of ``cat``: the gradient is the un-padded slice)."""
    for axis, low, high in ((-2, before[0], after[0]), (-1, before[1], after[1])):
        parts = []
        for amount in (low, high):
            shape = list(x.shape)
            shape[axis] = amount
            parts.append(Tensor(np.full(shape, value, x.dtype)) if amount else None)
        if parts[0] is not None or parts[1] is not None:
            x = cat([p for p in (parts[0], x, parts[1]) if p is not None], dim=x.ndim + axis)
    return x


def dilate_kernel(weight, dilation):
    """w (A, B, kH, kW) -> (A, B, dH (kH - 1) + 1, dW (kW - 1) + 1) with w[..., a, b] at
    (dH a, dW b) and zeros between: the kernel whose plain convolution is the dilated one."""
    for axis, d in ((2, dilation[0]), (3, dilation[1])):
        if d == 1 or weight.shape[axis] == 1:
            continue
        shape = list(weight.shape)
        taps = shape[axis]
        spread = weight.unsqueeze(axis + 1)                        # (..., k, 1, ...)
        zeros = list(spread.shape)
        zeros[axis + 1] = d - 1
        spread = cat([spread, Tensor(np.zeros(zeros, weight.dtype))], dim=axis + 1)  # (.., k, d, ..)
        shape[axis] = taps * d
        spread = spread.reshape(*shape)
        index = [slice(None)] * 4
        index[axis] = slice(0, d * (taps - 1) + 1)
        weight = spread[tuple(index)]
    return weight


def _same_padding(padding, kernel, stride, dilation, fn):
    """(before, after) pads per spatial axis for "same"/"valid"/ints."""
    if isinstance(padding, str):
        if padding == "valid":
            zero = (0,) * len(kernel)
            return zero, zero
        if padding != "same":
            what = "a pair" if len(kernel) == 2 else "a tuple"
            raise ValueError(f"{fn}: padding must be an int, {what}, 'valid' or 'same', got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride}), as in PyTorch")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        before = tuple(t // 2 for t in total)
        return before, tuple(t - b for t, b in zip(total, before))
    padding = _tuple(padding, len(kernel), "padding", fn, 0)
    return padding, padding


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, NCHW: input (N, C_in, H, W) or (C_in, H, W), weight
    (C_out, C_in / groups, kH, kW), bias (C_out,). ``padding`` is an int, a pair, ``"valid"`` or
    ``"same"``; output size (H + 2 p - d (k - 1) - 1) // s + 1."""
    fn = "conv2d"
    if not isinstance(weight, Tensor):
        weight = Tensor(np.asarray(weight))
    input = _as_tensor(input, weight)
    if weight.ndim != 4:
        raise ValueError(f"{fn}: weight must have shape (C_out, C_in / groups, kH, kW), got shape "
                         f"{weight.shape}")
    stride = _tuple(stride, 2, "stride", fn, 1)
    dilation = _tuple(dilation, 2, "dilation", fn, 1)
    groups = _groups(groups, fn, weight.shape[0], "out_channels (weight.shape[0])")
    if input.ndim in (3, 4) and input.shape[-3] != weight.shape[1] * groups:
        raise ValueError(f"{fn}: input of shape {input.shape} has {input.shape[-3]} channels but "
                         f"the weight of shape {weight.shape} with groups={groups} expects "
                         f"{weight.shape[1] * groups}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{fn}: bias must have shape ({weight.shape[0]},) (one per output "
                         f"channel), got shape {bias.shape}")
    before, after = _same_padding(padding, weight.shape[2:], stride, dilation, fn)
    if before != after:  # "same" with an even total: the extra row/column goes bottom/right
        extra = tuple(a - b for a, b in zip(after, before))
        input = pad_constant(input, (0, 0), extra)
    weight = dilate_kernel(weight, dilation)
    if groups == 1:
        return _conv.conv2d(input, weight, bias, stride, before)
    inputs_per_group, filters_per_group = weight.shape[1], weight.shape[0] // groups
    outputs = []
    for g in range(groups):
        filters = slice(g * filters_per_group, (g + 1) * filters_per_group)
        channels = slice(g * inputs_per_group, (g + 1) * inputs_per_group)
        outputs.append(_conv.conv2d(input[..., channels, :, :], weight[filters],
                                    None if bias is None else bias[filters], stride, before))
    return cat(outputs, dim=-3)


def _operands(fn, input, weight, weight_layout, input_layouts):
    """(input, weight) as Tensors of the dims ``weight_layout`` and ``input_layouts`` describe
    (``"(N, C, L) or (C, L)"``: batched or not), or an error that names the expected layout."""
    if not isinstance(weight, Tensor):
        weight = Tensor(np.asarray(weight))
    input = _as_tensor(input, weight)
    if weight.ndim != weight_layout.count(",") + 1:
        raise ValueError(f"{fn}: weight must have shape {weight_layout}, got shape {weight.shape}")
    batched = input_layouts.split(" or ")[0].count(",") + 1
    if input.ndim not in (batched - 1, batched):
        raise ValueError(f"{fn}: expected input of shape {input_layouts}, got shape {input.shape}")
    return input, weight


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k);
    the 2-D convolution on a height of 1."""
    fn = "conv1d"
    input, weight = _operands(fn, input, weight, "(C_out, C_in / groups, k)", "(N, C, L) or (C, L)")
    (stride,), (dilation,) = _tuple(stride, 1, "stride", fn, 1), _tuple(dilation, 1, "dilation", fn, 1)
    if not isinstance(padding, str):
        padding = (0,) + _tuple(padding, 1, "padding", fn, 0)
    return conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, stride), padding,
                  (1, dilation), groups).squeeze(-2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the gradient of ``conv2d`` w.r.t. its input, used to upsample):
    input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out / groups, kH, kW), bias (C_out,).
    Output size (H - 1) s - 2 p + d (k - 1) + output_padding + 1; output_padding < stride adds
    rows/columns on the bottom/right that only the bias reaches."""
    fn = "conv_transpose2d"
    input, weight = _operands(fn, input, weight, "(C_in, C_out / groups, kH, kW)",
                              "(N, C, H, W) or (C, H, W)")
    if input.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be a float tensor, got dtype {input.dtype}")
    stride = _tuple(stride, 2, "stride", fn, 1)
    padding = _tuple(padding, 2, "padding", fn, 0)
    output_padding = _tuple(output_padding, 2, "output_padding", fn, 0)
    dilation = _tuple(dilation, 2, "dilation", fn, 1)
    groups = _groups(groups, fn, weight.shape[0], "in_channels (weight.shape[0])")
    if input.shape[-3] != weight.shape[0]:
        raise ValueError(f"{fn}: input of shape {input.shape} has {input.shape[-3]} channels but "
                         f"the weight of shape {weight.shape} expects {weight.shape[0]}")
    if any(op >= s for op, s in zip(output_padding, stride)):
        raise ValueError(f"{fn}: output_padding {output_padding} must be smaller than the stride "
                         f"{stride}")
    out_channels = weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{fn}: bias must have shape ({out_channels},), got shape {bias.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{fn}: input is {input.dtype} but {name} is {t.dtype}: use one float "
                            "dtype")
    weight = dilate_kernel(weight, dilation)
    size = tuple((n - 1) * s - 2 * p + k + op for n, s, p, k, op in
                 zip(input.shape[-2:], stride, padding, weight.shape[2:], output_padding))
    if min(size) <= 0:
        raise ValueError(f"{fn}: input of spatial size {tuple(input.shape[-2:])} gives an empty "
                         f"output {size} with padding {padding}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if groups == 1:
        out = _conv.ConvTranspose2d.apply(input, weight, bias, stride, padding, size)
    else:
        per_group, outputs_per_group = weight.shape[0] // groups, weight.shape[1]
        outputs = []
        for g in range(groups):
            channels = slice(g * per_group, (g + 1) * per_group)
            outs = slice(g * outputs_per_group, (g + 1) * outputs_per_group)
            outputs.append(_conv.ConvTranspose2d.apply(
                input[:, channels], weight[channels], None if bias is None else bias[outs], stride,
                padding, size))
        out = cat(outputs, dim=1)
    return out.squeeze(0) if unbatched else out


def _groups(groups, fn, channels, what):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    if channels % groups:
        raise ValueError(f"{fn}: {what} = {channels} is not divisible by groups={groups}")
    return int(groups)
