"""Convolution input gradient for strides other than 1 (stride 1 fuses col2im: see ``conv``).

Per worker, for each of its images n:

    dcols (K x P) = W^T @ g[n]     (g's rows, copied to a zero-padded aligned buffer, read in place)
    dx[n] = crop(col2im(dcols))    (scatter-add back into the padded image)
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .gemm import MR, matrix_rows, sliver_rows, sliver_steps, tile
from .im2col import col2im_add
from .simd import lanes_of


@njit(parallel=True, fastmath=True, cache=True)
def input_grad_strided(grad, packed_wt, out, images, channels, height, width, out_channels,
                       kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel,
                       workers):
    """dx[n] = crop(col2im(W^T @ g[n])): g's rows (copied to a zero-padded, aligned buffer) are the
    micro-kernel's B rows in place; dcols is scattered back by col2im."""
    lanes = lanes_of(out)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_stride = -(-positions // (2 * lanes)) * 2 * lanes
    row_slivers = -(-patch // MR)
    a_steps = sliver_steps(min(panel, out_channels), MR)
    for worker in prange(workers):
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
