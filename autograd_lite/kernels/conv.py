"""Convolution kernels (NCHW, any stride and padding): implicit GEMM on ``gemm``'s micro-kernel.

With K = C kH kW, P = OH OW and cols_n (K x P) the im2col matrix of image n,
cols_n[(c, a, b), (i, j)] = x_pad[n, c, i sH + a, j sW + b]:

    forward        out_n (C_out x P) = W (C_out x K) @ cols_n (K x P)  (+ bias)
    weight grad    dW    (C_out x K) = sum_n g_n (C_out x P) @ cols_n^T (P x K)
    input grad     dcols (K x P)     = W^T (K x C_out) @ g_n (C_out x P);  dx_n = col2im(dcols)

cols_n is never built in memory: each worker copies its image into a zero-padded buffer and packs the
GEMM panel straight from it (``_pack_im2col``: K x P, ``_pack_im2col_transposed``: P x K). Work is
split by images across Numba's threads (each with its own buffers), so nothing races:

    parallel for each worker:
        for n in this worker's images:
            x_pad = pad(x[n]);  pack the panel(s) from x_pad
            for each C tile:  micro_kernel   (forward: into out[n];  weight grad: into the worker's
                                              partial dW;  input grad: into dcols, then col2im)
    weight grad: dW = sum of the workers' partials

NumPy references: ``reference.conv2d_forward``, ``conv2d_weight_grad``, ``conv2d_input_grad``.
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .gemm import MR, pack_a, pack_b, packed_size, panel_depth, tile
from .simd import lanes_of


@njit(cache=True)
def _pad_into(x, offset, channels, height, width, pad_h, pad_w, padded):
    """padded[c, pad_h + r, pad_w + s] = x[offset + (c H + r) W + s]; the border stays as it is."""
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    for c in range(channels):
        for r in range(height):
            source = offset + (c * height + r) * width
            target = (c * padded_h + pad_h + r) * padded_w + pad_w
            for s in range(width):
                padded[target + s] = x[source + s]


@njit(cache=True)
def _pack_im2col(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w,
                 k0, depth, packed):
    """packed[jb][k][j] = cols[k0 + k, jb NR + j] (the B panel of the forward GEMM; 0 past P)."""
    width = 2 * lanes_of(packed)
    positions = out_h * out_w
    slivers = -(-positions // width)
    for k in range(depth):
        kk = k0 + k
        c, a, b = kk // (kernel_h * kernel_w), (kk // kernel_w) % kernel_h, kk % kernel_w
        source = (c * padded_h + a) * padded_w + b
        sliver, lane = 0, 0
        for i in range(out_h):
            row = source + i * stride_h * padded_w
            for j in range(out_w):
                packed[(sliver * depth + k) * width + lane] = padded[row + j * stride_w]
                lane += 1
                if lane == width:
                    sliver, lane = sliver + 1, 0
        if lane:
            for rest in range(lane, width):
                packed[(sliver * depth + k) * width + rest] = 0.0
    return slivers


@njit(cache=True)
def _pack_im2col_transposed(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h, stride_w,
                            out_w, patch, p0, depth, packed):
    """packed[jb][p][j] = cols[jb NR + j, p0 + p] (the B panel of the weight-grad GEMM; 0 past K)."""
    width = 2 * lanes_of(packed)
    slivers = -(-patch // width)
    for kk in range(slivers * width):
        sliver, lane = kk // width, kk % width
        base = sliver * depth * width + lane
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
def _col2im_add(cols, padded, padded_h, padded_w, channels, kernel_h, kernel_w, stride_h, stride_w,
                out_h, out_w):
    """padded[c, i sH + a, j sW + b] += cols[(c, a, b), (i, j)]  (the adjoint of im2col)."""
    positions = out_h * out_w
    for c in range(channels):
        for a in range(kernel_h):
            for b in range(kernel_w):
                row = ((c * kernel_h + a) * kernel_w + b) * positions
                target = (c * padded_h + a) * padded_w + b
                for i in range(out_h):
                    at = target + i * stride_h * padded_w
                    source = row + i * out_w
                    for j in range(out_w):
                        padded[at + j * stride_w] += cols[source + j]


def _pack_weight(matrix_flat, rows, depth, row_stride, col_stride, panel):
    """Every depth panel of a (rows x depth) matrix packed into MR slivers, one after the other."""
    packed = np.empty(packed_size(rows, MR, depth), dtype=matrix_flat.dtype)
    slivers = -(-rows // MR)
    for k0 in range(0, depth, panel):
        part = min(panel, depth - k0)
        pack_a(matrix_flat, 0, row_stride, col_stride, rows, k0, part, 0, slivers,
               packed[slivers * MR * k0:])
    return packed


@njit(parallel=True, fastmath=True, cache=True)
def _forward(x, packed_w, bias, has_bias, out, images, channels, height, width, out_channels,
             kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, workers):
    lanes = lanes_of(out)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_slivers = -(-out_channels // MR)
    for worker in prange(workers):
        padded = np.zeros(channels * padded_h * padded_w, dtype=out.dtype)
        packed = np.empty(packed_size(positions, 2 * lanes, panel), dtype=out.dtype)
        scratch = np.empty(MR * 2 * lanes, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            _pad_into(x, n * channels * height * width, channels, height, width, pad_h, pad_w,
                      padded)
            out_offset = n * out_channels * positions
            for k0 in range(0, patch, panel):
                part = min(panel, patch - k0)
                col_slivers = _pack_im2col(padded, padded_h, padded_w, kernel_h, kernel_w,
                                           stride_h, stride_w, out_h, out_w, k0, part, packed)
                weights = packed_w[row_slivers * MR * k0:]
                for jb in range(col_slivers):
                    for ib in range(row_slivers):
                        tile(weights, ib, packed, jb, part, out, out_offset, positions,
                             out_channels, positions, k0 > 0, scratch)
            if has_bias:
                for o in range(out_channels):
                    at = out_offset + o * positions
                    for p in range(positions):
                        out[at + p] += bias[o]


@njit(parallel=True, fastmath=True, cache=True)
def _weight_grad(x, grad, partial, images, channels, height, width, out_channels, kernel_h,
                 kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, workers):
    lanes = lanes_of(partial)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_slivers = -(-out_channels // MR)
    for worker in prange(workers):
        padded = np.zeros(channels * padded_h * padded_w, dtype=partial.dtype)
        packed_g = np.empty(packed_size(out_channels, MR, panel), dtype=partial.dtype)
        packed_x = np.empty(packed_size(patch, 2 * lanes, panel), dtype=partial.dtype)
        scratch = np.empty(MR * 2 * lanes, dtype=partial.dtype)
        mine = partial[worker]
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            _pad_into(x, n * channels * height * width, channels, height, width, pad_h, pad_w,
                      padded)
            for p0 in range(0, positions, panel):
                part = min(panel, positions - p0)
                pack_a(grad, n * out_channels * positions, positions, 1, out_channels, p0, part,
                       0, row_slivers, packed_g)
                _pack_im2col_transposed(padded, padded_h, padded_w, kernel_h, kernel_w, stride_h,
                                        stride_w, out_w, patch, p0, part, packed_x)
                for jb in range(-(-patch // (2 * lanes))):
                    for ib in range(row_slivers):
                        tile(packed_g, ib, packed_x, jb, part, mine, 0, patch, out_channels,
                             patch, True, scratch)


@njit(parallel=True, fastmath=True, cache=True)
def _input_grad(grad, packed_wt, out, images, channels, height, width, out_channels, kernel_h,
                kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, workers):
    lanes = lanes_of(out)
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    row_slivers = -(-patch // MR)
    col_slivers = -(-positions // (2 * lanes))
    for worker in prange(workers):
        padded = np.empty(channels * padded_h * padded_w, dtype=out.dtype)
        packed_g = np.empty(packed_size(positions, 2 * lanes, panel), dtype=out.dtype)
        cols = np.empty(patch * positions, dtype=out.dtype)
        scratch = np.empty(MR * 2 * lanes, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            for k0 in range(0, out_channels, panel):
                part = min(panel, out_channels - k0)
                pack_b(grad, n * out_channels * positions, positions, 1, positions, k0, part, 0,
                       col_slivers, packed_g)
                weights = packed_wt[row_slivers * MR * k0:]
                for jb in range(col_slivers):
                    for ib in range(row_slivers):
                        tile(weights, ib, packed_g, jb, part, cols, 0, positions, patch,
                             positions, k0 > 0, scratch)
            padded[:] = 0.0
            _col2im_add(cols, padded, padded_h, padded_w, channels, kernel_h, kernel_w, stride_h,
                        stride_w, out_h, out_w)
            base = n * channels * height * width
            for c in range(channels):
                for r in range(height):
                    source = (c * padded_h + pad_h + r) * padded_w + pad_w
                    target = base + (c * height + r) * width
                    for s in range(width):
                        out[target + s] = padded[source + s]


# ----------------------------------------------------------------------------- array API
def conv2d_forward(x, weight, stride, padding, bias=None):
    """out (N, C_out, OH, OW) = conv(x, weight) (+ bias), the Numba twin of the reference."""
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight)
    (images, channels, height, width), (out_channels, _, kernel_h, kernel_w) = x.shape, weight.shape
    out_h = (height + 2 * padding[0] - kernel_h) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel_w) // stride[1] + 1
    patch = channels * kernel_h * kernel_w
    panel = panel_depth(patch)
    packed_w = _pack_weight(weight.reshape(-1), out_channels, patch, patch, 1, panel)
    out = np.empty((images, out_channels, out_h, out_w), dtype=x.dtype)
    has_bias = bias is not None
    bias = np.ascontiguousarray(bias, dtype=x.dtype) if has_bias else np.zeros(1, dtype=x.dtype)
    _forward(x.reshape(-1), packed_w, bias, has_bias, out.reshape(-1), images, channels, height,
             width, out_channels, kernel_h, kernel_w, *stride, *padding, out_h, out_w, panel,
             min(get_num_threads(), images))
    return out


def conv2d_weight_grad(x, grad, weight_shape, stride, padding):
    """dW (C_out, C, kH, kW) = sum over images of g_n cols_n^T."""
    x, grad = np.ascontiguousarray(x), np.ascontiguousarray(grad, dtype=x.dtype)
    images, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad.shape[2:]
    workers = min(get_num_threads(), images)
    partial = np.zeros((workers, out_channels * channels * kernel_h * kernel_w), dtype=x.dtype)
    _weight_grad(x.reshape(-1), grad.reshape(-1), partial, images, channels, height, width,
                 out_channels, kernel_h, kernel_w, *stride, *padding, out_h, out_w,
                 panel_depth(out_h * out_w), workers)
    return (partial[0] if workers == 1 else partial.sum(axis=0)).reshape(weight_shape)


def conv2d_input_grad(grad, weight, input_shape, stride, padding):
    """dx (N, C, H, W) = col2im(W^T g_n) for each image."""
    weight = np.ascontiguousarray(weight)
    grad = np.ascontiguousarray(grad, dtype=weight.dtype)
    images, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad.shape[2:]
    patch = channels * kernel_h * kernel_w
    panel = panel_depth(out_channels)
    packed_wt = _pack_weight(weight.reshape(-1), patch, out_channels, 1, patch, panel)
    out = np.empty(input_shape, dtype=weight.dtype)
    _input_grad(grad.reshape(-1), packed_wt, out.reshape(-1), images, channels, height, width,
                out_channels, kernel_h, kernel_w, *stride, *padding, out_h, out_w, panel,
                min(get_num_threads(), images))
    return out
