"""Pooling with PyTorch's full set of options, and adaptive pooling.

``max_pool2d``/``avg_pool2d`` run the Numba pooling primitives (``autograd_lite.ops.conv``) whenever
the options allow (dilation 1, ``ceil_mode`` not changing the output size, zero padding counted,
no ``divisor_override``, no indices asked for). Otherwise they are a composite: pad the input (with
-inf for max, 0 for mean), take the kH kW strided slices

    window[n, c, i, j, (a, b)] = x_pad[n, c, i sH + a dH, j sW + b dW]

stacked on a last axis, and reduce it (max, whose gradient goes to the first maximum as in PyTorch,
or a sum divided by each window's divisor). Output size per axis (PyTorch's rule):

    out = floor_or_ceil((H + 2 p - d (k - 1) - 1) / s) + 1,   minus 1 if ceil_mode made the last
    window start beyond the input and its left padding ((out - 1) s >= H + p).

Adaptive pooling to an output size Out from In uses the windows [floor(i In / Out),
ceil((i + 1) In / Out)). The mean of a rectangle is separable, so ``adaptive_avg_pool2d`` is
A_H x A_W^T with A[i, h] = 1 / |window i| on the window (two matmuls); ``adaptive_max_pool2d`` takes
the max of each window. When In is a multiple of Out both are plain pooling with kernel = stride =
In / Out (the kernels).
"""
from __future__ import annotations

import numpy as np

from autograd_lite.ops import conv as _conv
from autograd_lite.ops.composite import stack
from autograd_lite.tensor import Tensor

from .functional_conv import _tuple, pad_constant

__all__ = ["max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_max_pool1d"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length along one axis."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _settings(fn, input, kernel_size, stride, padding, dilation, ceil_mode):
    x = _tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected input of shape (N, C, H, W) or (C, H, W), got shape {x.shape}")
    kernel = _tuple(kernel_size, 2, "kernel_size", fn, 1)
    stride = kernel if stride is None or stride == [] else _tuple(stride, 2, "stride", fn, 1)
    padding = _tuple(padding, 2, "padding", fn, 0)
    dilation = _tuple(dilation, 2, "dilation", fn, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{fn}: padding {padding} should be at most half of the kernel size {kernel}")
    out = tuple(pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                zip(x.shape[-2:], kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(f"{fn}: input of spatial size {tuple(x.shape[-2:])} is too small for "
                         f"kernel_size {kernel} with padding {padding} and dilation {dilation} "
                         f"(output size {out})")
    return x, kernel, stride, padding, dilation, out


def _windows(x, kernel, stride, padding, dilation, out, fill):
    """(N, C, OH, OW, kH kW): every window's elements on a last axis (padding = ``fill``)."""
    needed = [(o - 1) * s + d * (k - 1) + 1 for o, s, d, k in zip(out, stride, dilation, kernel)]
    after = tuple(max(0, need - n - p) for need, n, p in zip(needed, x.shape[-2:], padding))
    x_pad = pad_constant(x, padding, after, fill)
    taps = []
    for a in range(kernel[0]):
        rows = slice(a * dilation[0], a * dilation[0] + (out[0] - 1) * stride[0] + 1, stride[0])
        for b in range(kernel[1]):
            cols = slice(b * dilation[1], b * dilation[1] + (out[1] - 1) * stride[1] + 1, stride[1])
            taps.append(x_pad[..., rows, cols])
    return stack(taps, dim=-1)


def _plane_indices(shape, kernel, stride, padding, dilation, out):
    """Index h W + w of each window element in its input plane (-1 on padding), (OH, OW, kH kW)."""
    height, width = shape
    plane = np.arange(height * width, dtype=np.float64).reshape(1, height, width)
    return _windows(Tensor(plane), kernel, stride, padding, dilation, out, -1.0)._data[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each window of x (N, C, H, W) or (C, H, W) (padding counts as -inf); stride
    defaults to kernel_size. With ``return_indices`` also the flat index h W + w of each maximum in
    its input plane (int64), as PyTorch's ``max_unpool2d`` expects."""
    x, kernel, stride, padding, dilation, out = _settings("max_pool2d", input, kernel_size, stride,
                                                          padding, dilation, ceil_mode)
    plain = tuple(pool_output_size(n, k, s, p, 1, False) for n, k, s, p in
                  zip(x.shape[-2:], kernel, stride, padding))
    if dilation == (1, 1) and out == plain and not return_indices:
        return _conv.max_pool2d(x, kernel, stride, padding)
    values, positions = _windows(x, kernel, stride, padding, dilation, out, -np.inf).max(dim=-1)
    if not return_indices:
        return values
    planes = _plane_indices(x.shape[-2:], kernel, stride, padding, dilation, out)
    rows, cols = np.indices(out, sparse=True)
    indices = planes[rows, cols, positions._data].astype(np.int64)
    return values, Tensor(indices)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over each window of x (N, C, H, W) or (C, H, W); stride defaults to kernel_size. The
    divisor is ``divisor_override`` if given, else the window's size clipped to the padded input
    (``count_include_pad=True``) or its number of input elements (``False``)."""
    x, kernel, stride, padding, _, out = _settings("avg_pool2d", input, kernel_size, stride,
                                                   padding, 1, ceil_mode)
    if divisor_override is not None and (isinstance(divisor_override, bool) or
                                         not isinstance(divisor_override, (int, np.integer)) or
                                         divisor_override <= 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a positive int, got "
                         f"{divisor_override!r}")
    plain = tuple(pool_output_size(n, k, s, p, 1, False) for n, k, s, p in
                  zip(x.shape[-2:], kernel, stride, padding))
    if (out == plain and divisor_override is None and
            (count_include_pad or padding == (0, 0))):
        return _conv.avg_pool2d(x, kernel, stride, padding)
    sums = _windows(x, kernel, stride, padding, (1, 1), out, 0.0).sum(dim=-1)
    if divisor_override is not None:
        return sums * (1.0 / divisor_override)
    counts = [_window_counts(n, o, k, s, p, count_include_pad) for n, o, k, s, p in
              zip(x.shape[-2:], out, kernel, stride, padding)]
    return sums / Tensor(np.multiply.outer(*counts).astype(x.dtype))


def _window_counts(size, out, kernel, stride, padding, count_include_pad):
    """PyTorch's divisor along one axis: the window clipped to the padded input, or to the input."""
    start = np.arange(out) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """``max_pool2d`` of x (N, C, L) or (C, L) on a height of 1."""
    x = _as_2d(input, "max_pool1d")
    stride = kernel_size if stride is None else stride
    result = max_pool2d(x, (1, _one(kernel_size)), (1, _one(stride)), (0, _one(padding)),
                        (1, _one(dilation)), ceil_mode, return_indices)
    if return_indices:
        return result[0].squeeze(-2), Tensor(result[1]._data.squeeze(-2))
    return result.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """``avg_pool2d`` of x (N, C, L) or (C, L) on a height of 1."""
    x = _as_2d(input, "avg_pool1d")
    stride = kernel_size if stride is None else stride
    return avg_pool2d(x, (1, _one(kernel_size)), (1, _one(stride)), (0, _one(padding)), ceil_mode,
                      count_include_pad).squeeze(-2)


def _one(value):
    return value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value


def _as_2d(input, fn):
    x = _tensor(input)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: expected input of shape (N, C, L) or (C, L), got shape {x.shape}")
    return x.unsqueeze(-2)


# ----------------------------------------------------------------------------- adaptive
def adaptive_windows(size, out):
    """PyTorch's windows [floor(i In / Out), ceil((i + 1) In / Out)) for i < Out."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _adaptive_settings(fn, input, output_size):
    x = _tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected input of shape (N, C, H, W) or (C, H, W), got shape {x.shape}")
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else output_size
    if len(sizes) != 2:
        raise ValueError(f"{fn}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(n if s is None else s for s, n in zip(sizes, x.shape[-2:]))
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"{fn}: output_size entries must be positive ints or None, got "
                         f"{output_size!r}")
    if min(x.shape[-2:]) < 1:
        raise ValueError(f"{fn}: input of shape {x.shape} has an empty spatial dimension")
    return x, tuple(int(s) for s in sizes)


def _averaging_matrix(size, out, dtype):
    matrix = np.zeros((out, size), dtype)
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, OH, OW); an entry None keeps
    that input size."""
    x, out = _adaptive_settings("adaptive_avg_pool2d", input, output_size)
    height, width = x.shape[-2:]
    if height % out[0] == 0 and width % out[1] == 0:
        kernel = (height // out[0], width // out[1])
        return _conv.avg_pool2d(x, kernel, kernel, 0)
    rows = Tensor(_averaging_matrix(height, out[0], x.dtype))      # (OH, H)
    cols = Tensor(_averaging_matrix(width, out[1], x.dtype).T)     # (W, OW)
    return rows @ x @ cols


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows: (N, C, H, W) -> (N, C, OH, OW); with
    ``return_indices`` also the flat index h W + w of each maximum in its plane (int64)."""
    x, out = _adaptive_settings("adaptive_max_pool2d", input, output_size)
    height, width = x.shape[-2:]
    if height % out[0] == 0 and width % out[1] == 0 and not return_indices:
        kernel = (height // out[0], width // out[1])
        return _conv.max_pool2d(x, kernel, kernel, 0)
    values, indices = [], []
    for top, bottom in adaptive_windows(height, out[0]):
        for left, right in adaptive_windows(width, out[1]):
            window = x[..., top:bottom, left:right]
            best, where = window.reshape(*x.shape[:-2], -1).max(dim=-1)
            values.append(best)
            span = right - left
            indices.append((top + where._data // span) * width + left + where._data % span)
    pooled = stack(values, dim=-1).reshape(*x.shape[:-2], *out)
    if not return_indices:
        return pooled
    return pooled, Tensor(np.stack(indices, axis=-1).reshape(pooled.shape).astype(np.int64))


def adaptive_avg_pool1d(input, output_size):
    """Mean over adaptive windows of x (N, C, L) or (C, L)."""
    return adaptive_avg_pool2d(_as_2d(input, "adaptive_avg_pool1d"), (1, _one(output_size))).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of x (N, C, L) or (C, L) (indices along L with return_indices)."""
    result = adaptive_max_pool2d(_as_2d(input, "adaptive_max_pool1d"), (1, _one(output_size)),
                                 return_indices)
    if return_indices:
        return result[0].squeeze(-2), Tensor(result[1]._data.squeeze(-2))
    return result.squeeze(-2)

