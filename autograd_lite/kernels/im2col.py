"""im2col on the fly: the pieces the convolution kernels use to feed the GEMM micro-kernel.

With x_pad the zero-padded image (C, Hp, Wp), the im2col matrix is

    cols[(c, a, b), (i, j)] = x_pad[c, i sH + a, j sW + b]      (K = C kH kW rows, P = OH OW columns)

It is never stored whole: ``pack_im2col`` and ``pack_im2col_transposed`` copy one GEMM panel of it
(or of its transpose) in the micro-kernel's packed layout, ``col2im_add`` is its adjoint (scatter-add
back into the padded image), and with stride 1 ``shift_offsets`` tells where each row starts in the
flat padded image (the rows are then read in place). NumPy reference: ``reference.windows`` /
``reference.col2im``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .simd import lanes_of


@njit(cache=True)
def pad_into(x, offset, channels, height, width, pad_h, pad_w, padded):
    """padded[c, pad_h + r, pad_w + s] = x[offset + (c H + r) W + s]; the border stays as it is."""
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    for c in range(channels):
        for r in range(height):
            source = offset + (c * height + r) * width
            target = (c * padded_h + pad_h + r) * padded_w + pad_w
            for s in range(width):
                padded[target + s] = x[source + s]


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
def pack_im2col(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w,
                k0, depth, packed):
    """packed[jb][k][lane] = cols[k0 + k, jb NR + lane] (the forward's B panel; 0 past P), copied
    in runs: an output row i is a run of OW source cells, split where it crosses a sliver."""
    width = 2 * lanes_of(packed)
    positions = out_h * out_w
    slivers = -(-positions // width)
    for k in range(depth):
        kk = k0 + k
        c, a, b = kk // (kernel_h * kernel_w), (kk // kernel_w) % kernel_h, kk % kernel_w
        source = (c * padded_h + a) * padded_w + b
        for i in range(out_h):
            row = source + i * stride_h * padded_w
            p, j = i * out_w, 0
            while j < out_w:
                sliver = p // width
                lane = p - sliver * width
                run = min(out_w - j, width - lane)
                target = (sliver * depth + k) * width + lane
                for t in range(run):
                    packed[target + t] = padded[row + (j + t) * stride_w]
                j += run
                p += run
        tail = positions - (slivers - 1) * width
        for lane in range(tail, width):
            packed[((slivers - 1) * depth + k) * width + lane] = 0.0


@njit(cache=True)
def pack_im2col_transposed(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h, stride_w,
                           out_w, patch, p0, depth, packed):
    """packed[jb][p][lane] = cols[jb NR + lane, p0 + p] (B panel of cols^T; 0 past K)."""
    width = 2 * lanes_of(packed)
    for kk in range(-(-patch // width) * width):
        base = (kk // width) * depth * width + kk % width
        if kk >= patch:
            for p in range(depth):
                packed[base + p * width] = 0.0
            continue
        c, a, b = kk // (kernel_h * kernel_w), (kk // kernel_w) % kernel_h, kk % kernel_w
        source = (c * padded_h + a) * padded_w + b
        i, j = p0 // out_w, p0 % out_w
        for p in range(depth):
            packed[base + p * width] = padded[source + i * stride_h * padded_w + j * stride_w]
            j += 1
            if j == out_w:
                i, j = i + 1, 0


@njit(cache=True)
def col2im_add(cols, cols_stride, padded, padded_h, padded_w, channels, kernel_h, kernel_w,
               stride_h, stride_w, out_h, out_w):
    """padded[c, i sH + a, j sW + b] += cols[(c, a, b), i OW + j]  (the adjoint of im2col)."""
    for c in range(channels):
        for a in range(kernel_h):
            for b in range(kernel_w):
                row = ((c * kernel_h + a) * kernel_w + b) * cols_stride
                target = (c * padded_h + a) * padded_w + b
                for i in range(out_h):
                    at, source = target + i * stride_h * padded_w, row + i * out_w
                    if stride_w == 1:
                        for j in range(out_w):
                            padded[at + j] += cols[source + j]
                    else:
                        for j in range(out_w):
                            padded[at + j * stride_w] += cols[source + j]
