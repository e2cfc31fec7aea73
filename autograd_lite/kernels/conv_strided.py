"""Convolution kernels for strides other than 1: the im2col panels are packed, dcols scattered.

(Stride 1 reads the im2col rows in place instead and fuses col2im: see ``conv``.) Per worker, for
each of its images:

    forward:      for each depth panel:  Bp = pack_im2col(x_pad);  out[n] (+)= Wp @ Bp;  + bias
    weight grad:  for each panel of positions:  Ap = pack(g[n]);  Bp = pack_im2col_transposed(x_pad);
                  partial_dW += Ap @ Bp                      (partials summed over workers after)
    input grad:   dcols = W^T @ g[n] (g's rows read in place);  dx[n] = crop(col2im(dcols))
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .gemm import MR, matrix_rows, pack_a, packed_size, sliver_rows, sliver_steps, tile
from .im2col import col2im_add, pack_im2col, pack_im2col_transposed, pad_into
from .simd import lanes_of


@njit(parallel=True, fastmath=True, cache=True)
def forward_strided(x, packed_w, bias, has_bias, out, images, channels, height, width,
                    out_channels, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out_h,
                    out_w, panel, workers):
    width_b = 2 * lanes_of(out)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_slivers, col_slivers = -(-out_channels // MR), -(-positions // width_b)
    for worker in prange(workers):
        padded = np.zeros(channels * padded_h * padded_w, dtype=out.dtype)
        packed = np.empty(packed_size(positions, width_b, panel), dtype=out.dtype)
        scratch = np.empty(MR * width_b, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            pad_into(x, n * channels * height * width, channels, height, width, pad_h, pad_w,
                     padded)
            base = n * out_channels * positions
            for k0 in range(0, patch, panel):
                part = min(panel, patch - k0)
                pack_im2col(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h, stride_w,
                            out_h, out_w, k0, part, packed)
                weights, steps = packed_w[row_slivers * MR * k0:], sliver_steps(part, width_b)
                for jb in range(col_slivers):
                    for ib in range(row_slivers):
                        tile(weights, sliver_rows(ib * part * MR), MR, packed,
                             jb * part * width_b, steps, part, out,
                             matrix_rows(base + ib * MR * positions + jb * width_b, positions),
                             out_channels - ib * MR, positions - jb * width_b, k0 > 0, scratch)
            if has_bias:
                for o in range(out_channels):
                    for p in range(positions):
                        out[base + o * positions + p] += bias[o]


@njit(parallel=True, fastmath=True, cache=True)
def weight_grad_strided(x, grad, partial, images, channels, height, width, out_channels,
                        kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel,
                        workers):
    """partial[worker] (C_out x K) += g_n @ cols_n^T over the worker's images."""
    width_b = 2 * lanes_of(partial)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_slivers, col_slivers = -(-out_channels // MR), -(-patch // width_b)
    for worker in prange(workers):
        padded = np.zeros(channels * padded_h * padded_w, dtype=partial.dtype)
        packed_g = np.empty(packed_size(out_channels, MR, panel), dtype=partial.dtype)
        packed_x = np.empty(packed_size(patch, width_b, panel), dtype=partial.dtype)
        scratch = np.empty(MR * width_b, dtype=partial.dtype)
        mine = partial[worker]
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            pad_into(x, n * channels * height * width, channels, height, width, pad_h, pad_w,
                     padded)
            for p0 in range(0, positions, panel):
                part = min(panel, positions - p0)
                pack_a(grad, n * out_channels * positions, positions, 1, out_channels, p0, part,
                       0, row_slivers, packed_g)
                pack_im2col_transposed(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h,
                                       stride_w, out_w, patch, p0, part, packed_x)
                steps = sliver_steps(part, width_b)
                for jb in range(col_slivers):
                    for ib in range(row_slivers):
                        tile(packed_g, sliver_rows(ib * part * MR), MR, packed_x,
                             jb * part * width_b, steps, part, mine,
                             matrix_rows(ib * MR * patch + jb * width_b, patch),
                             out_channels - ib * MR, patch - jb * width_b, True, scratch)


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
    offsets = np.arange(out_channels) * row_stride
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
                        tile(weights, sliver_rows(ib * part * MR), MR, rows, p0,
                             offsets[k0:k0 + part], part, cols,
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
