"""im2col on the fly: the pieces the convolution kernels use to feed the GEMM micro-kernel.

With x_pad the zero-padded image (C, Hp, Wp), the im2col matrix is

    cols[(c, a, b), (i, j)] = x_pad[c, i sH + a, j sW + b]      (K = C kH kW rows, P = OH OW columns)

It is never stored: its element is x_pad_flat[shift_offsets[(c, a, b)] + pixel_positions[(i, j)]],
which the micro-kernel reads in place. Its adjoint (col2im) is fused into the input-gradient GEMM
(``conv_input``). NumPy reference: ``reference.windows`` / ``reference.col2im``.
"""
from __future__ import annotations

import numpy as np
from .cache import njit

from .gemm import MR


@njit(cache=True)
def pad_into(x, offset, channels, height, width, pad_h, pad_w, padded):
    """padded[c, pad_h + r, pad_w + s] = x[offset + (c H + r) W + s]; the border stays as it is."""
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    for c in range(channels):
        for r in range(height):
            source = offset + (c * height + r) * width
            target = (c * padded_h + pad_h + r) * padded_w + pad_w
            for s in range(width):  # unsigned indices: no negative-index wrap, so it vectorises
                padded[np.uint64(target + s)] = x[np.uint64(source + s)]


@njit(cache=True)
def shift_offsets(channels, kernel_h, kernel_w, plane, row):
    """offsets[(c, a, b)] = c plane + a row + b: where each im2col row starts in a flat image."""
    offsets = np.empty(channels * kernel_h * kernel_w, dtype=np.int64)
    for c in range(channels):
        for a in range(kernel_h):
            for b in range(kernel_w):
                offsets[(c * kernel_h + a) * kernel_w + b] = c * plane + a * row + b
    return offsets


@njit(cache=True)
def pixel_positions(out_h, out_w, stride_h, stride_w, padded_w):
    """positions[i OW + j] = i sH Wp + j sW: where output pixel (i, j)'s window starts in a flat
    padded channel; padded with the last position to a multiple of MR rows."""
    count = out_h * out_w
    positions = np.empty(-(-count // MR) * MR, dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            positions[i * out_w + j] = i * stride_h * padded_w + j * stride_w
    positions[count:] = positions[count - 1]
    return positions
