"""Convolution input gradient (any stride and padding): one small GEMM per filter tap, its tiles
added straight into the padded input gradient ("scatter by tap", col2im fused into the GEMM).

For a tap t = (a, b) the weight slice W_t (C_out x C) = W[:, :, a, b] carries output pixel (i, j) back
to the padded input pixel (i sH + a, j sW + b):

    dx_pad[:, i sH + a, j sW + b] += W_t^T @ g[n][:, (i, j)]      for every tap and every pixel

Transposed, this is a GEMM per tap whose rows are output pixels: (g[n]^T @ W_t) (P x C) added, row by
row, into a pixel-major accumulator acc (Hp Wp x C', C rounded up to the micro-kernel's NR columns):

    for each worker, for each of its images n:
        acc[0 : Hp Wp] = 0
        for each sliver of 8 output pixels p_0..p_7 (pixels past P write to a junk area):
            for each tap (a, b), each depth panel of C_out, each NR-column sliver of C:
                acc[row(p_r) + a Wp + b, sliver] += sum_o g[n, o, p_r] W[o, sliver, a, b]   (r < 8)
        dx[n, c, y, x] = acc[(y + pad_h) Wp + x + pad_w, c]

g is read in place (row r of A is pixel p_r, depth step o moves by P); W_t is packed per tap. Every
multiply-add is useful: no zero padding of g (the "transposed convolution as a forward convolution"
form wastes the (k-1)-wide border) and no whole padded rows. Rows of one tile are 8 distinct pixels,
so a tile never adds to one accumulator row twice. NumPy reference: ``reference.conv2d_input_grad``.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .gemm import MR, micro_kernel, pack_b, packed_size

JUNK_ROWS_FACTOR = 2   # acc holds Hp Wp real rows, then as many junk rows (pixels past P land there)


@njit(cache=True)
def pixel_rows(out_h, out_w, stride_h, stride_w, padded_w, junk):
    """rows[i OW + j] = i sH Wp + j sW (where output pixel (i, j) lands for tap (0, 0)), padded to a
    multiple of MR with ``junk``; ``reads`` is the pixel each tile row reads (the last one past P)."""
    count = out_h * out_w
    size = -(-count // MR) * MR
    rows = np.full(size, junk, dtype=np.int64)
    reads = np.full(size, count - 1, dtype=np.int64)
    for i in range(out_h):
        for j in range(out_w):
            rows[i * out_w + j] = i * stride_h * padded_w + j * stride_w
            reads[i * out_w + j] = i * out_w + j
    return rows, reads


@njit(cache=True)
def _eight(values, first, scale, shift):
    return (values[first] * scale + shift, values[first + 1] * scale + shift,
            values[first + 2] * scale + shift, values[first + 3] * scale + shift,
            values[first + 4] * scale + shift, values[first + 5] * scale + shift,
            values[first + 6] * scale + shift, values[first + 7] * scale + shift)


@njit(parallel=True, fastmath=True, cache=True)
def _input_grad(grad, packed_w, out, images, channels, height, width, out_channels, kernel_h,
                kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, nr, workers):
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    positions, plane = out_h * out_w, padded_h * padded_w
    slivers = -(-channels // nr)
    acc_cols = slivers * nr
    rows, reads = pixel_rows(out_h, out_w, stride_h, stride_w, padded_w, plane)
    steps = np.arange(out_channels) * positions          # depth step o: the next channel of g
    tap_size = slivers * nr * out_channels               # packed elements of one tap
    for worker in prange(workers):
        acc = np.empty(JUNK_ROWS_FACTOR * plane * acc_cols, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            acc[:plane * acc_cols] = 0.0
            image = n * out_channels * positions
            for first in range(0, rows.size, MR):
                a_rows = _eight(reads, first, 1, image)
                for a in range(kernel_h):
                    for b in range(kernel_w):
                        tap = a * kernel_w + b
                        shift = (a * padded_w + b) * acc_cols
                        for k0 in range(0, out_channels, panel):
                            part = min(panel, out_channels - k0)
                            at = tap * tap_size + slivers * nr * k0
                            for jb in range(slivers):
                                micro_kernel(grad, a_rows, steps[k0:k0 + part], packed_w,
                                             at + jb * part * nr, nr, part, acc,
                                             _eight(rows, first, acc_cols, shift + jb * nr), True)
            base = n * channels * height * width
            for c in range(channels):
                for y in range(height):
                    source = ((y + pad_h) * padded_w + pad_w) * acc_cols + c
                    target = base + (c * height + y) * width
                    for x in range(width):
                        out[target + x] = acc[source + x * acc_cols]


def pack_taps(weight, panel):
    """Per tap (a, b): W[:, :, a, b] (C_out x C) packed as the micro-kernel's B, every depth panel of
    C_out in NR-wide slivers of C (zero past C), one tap after the other."""
    out_channels, channels, kernel_h, kernel_w = weight.shape
    nr = 2 * (64 // weight.itemsize)
    slivers = -(-channels // nr)
    tap_size = packed_size(channels, nr, out_channels)
    by_tap = np.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(kernel_h * kernel_w, -1)
    packed = np.empty(kernel_h * kernel_w * tap_size, dtype=weight.dtype)
    for tap in range(kernel_h * kernel_w):
        for k0 in range(0, out_channels, panel):
            part = min(panel, out_channels - k0)
            pack_b(by_tap[tap], 0, channels, 1, channels, k0, part, 0, slivers,
                   packed[tap * tap_size + slivers * nr * k0:])
    return packed, nr


def input_grad(grad, weight, input_shape, stride, padding, panel, workers):
    """dx (N, C, H, W) for g (N, C_out, OH, OW) and weight (C_out, C, kH, kW)."""
    images, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad.shape[2:]
    packed, nr = pack_taps(weight, panel)
    out = np.empty(input_shape, dtype=weight.dtype)
    _input_grad(grad.reshape(-1), packed, out.reshape(-1), images, channels, height, width,
                out_channels, kernel_h, kernel_w, *stride, *padding, out_h, out_w, panel, nr,
                workers)
    return out
