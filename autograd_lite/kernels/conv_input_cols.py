"""Convolution input gradient for inputs with few channels: a GEMM into the im2col matrix, then
col2im.

``conv_input`` (one GEMM per tap) gives each tile row the input's C channels as columns, rounded
up to the micro-kernel's NR (32 float32 / 16 float64): with C = 1 or 3, 90% of its multiply-adds
are padding. Here the columns are output pixels and the rows the K = C kH kW im2col rows, so
nothing is padded but the pixel count (to NR); the price is a scalar col2im pass. Per piece
(``conv``'s docstring), for each of its images n:

    dcols (K x P) = W^T @ g[n]     (g's rows, copied to a zero-padded aligned buffer, read in place)
    dx[n] = crop(col2im(dcols))    (scatter-add back into the padded image)

Used when C <= NR / 4 (measured, float32, 2 threads: C = 1, 3, 8 take 0.31, 0.33, 0.75 of the tap
kernel's time; from C = 16 the tap kernel is faster: 0.72 of this one's). NumPy reference:
``reference.conv2d_input_grad``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .gemm import MR, matrix_rows, pack_a, packed_size, sliver_rows, sliver_steps, tile
from .simd import lanes_of


@njit(nogil=True, fastmath=True, cache=True)
def _input_grad(grad, packed_wt, out, images, channels, height, width, out_channels, kernel_h,
                kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, workers, first,
                last):
    """dx[n] = crop(col2im(W^T @ g[n])) for the images of workers first <= worker < last (the
    images cut into ``workers`` parts): g's rows (copied to a zero-padded, aligned buffer) are the
    micro-kernel's B rows in place; dcols is scattered back by col2im."""
    lanes = lanes_of(out)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_stride = -(-positions // (2 * lanes)) * 2 * lanes
    row_slivers = -(-patch // MR)
    a_steps = sliver_steps(min(panel, out_channels), MR)
    for worker in range(first, last):
        padded = np.empty(channels * padded_h * padded_w, dtype=out.dtype)
        rows = np.zeros(out_channels * row_stride, dtype=out.dtype)
        cols = np.empty(patch * row_stride, dtype=out.dtype)
        scratch = np.empty(MR * 2 * lanes, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            for o in range(out_channels):
                source = (n * out_channels + o) * positions
                for p in range(positions):
                    rows[o * row_stride + p] = grad[source + p]
            for k0 in range(0, out_channels, panel):
                part = min(panel, out_channels - k0)
                weights = packed_wt[row_slivers * MR * k0:]
                for p0 in range(0, row_stride, 2 * lanes):
                    for ib in range(row_slivers):
                        tile(weights, sliver_rows(ib * part * MR), a_steps, rows,
                             k0 * row_stride + p0, row_stride, part, cols,
                             matrix_rows(ib * MR * row_stride + p0, row_stride), patch - ib * MR,
                             2 * lanes, k0 > 0, scratch)
            padded[:] = 0.0
            col2im_add(cols, row_stride, padded, padded_h, padded_w, channels, kernel_h, kernel_w,
                       stride_h, stride_w, out_h, out_w)
            base = n * channels * height * width
            for c in range(channels):
                for r in range(height):
                    source = (c * padded_h + pad_h + r) * padded_w + pad_w
                    target = base + (c * height + r) * width
                    for s in range(width):
                        out[target + s] = padded[source + s]


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
                    for j in range(out_w):
                        padded[at + j * stride_w] += cols[source + j]


def input_grad(grad, weight, input_shape, stride, padding, panel, workers):
    """dx (N, C, H, W) for g (N, C_out, OH, OW) and weight (C_out, C, kH, kW)."""
    images, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad.shape[2:]
    patch = channels * kernel_h * kernel_w
    packed = np.empty(packed_size(patch, MR, out_channels), dtype=weight.dtype)  # W^T, MR slivers
    for k0 in range(0, out_channels, panel):
        part = min(panel, out_channels - k0)
        pack_a(weight.reshape(-1), 0, 1, patch, patch, k0, part, 0, -(-patch // MR),
               packed[-(-patch // MR) * MR * k0:])
    out = np.empty(input_shape, dtype=weight.dtype)
    threads.parallel_for(_input_grad, workers, grad.reshape(-1), packed, out.reshape(-1), images,
                         channels, height, width, out_channels, kernel_h, kernel_w, *stride,
                         *padding, out_h, out_w, panel, workers, pieces=workers)
    return out
