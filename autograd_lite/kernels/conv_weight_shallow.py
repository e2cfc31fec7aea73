"""Convolution weight gradient for shallow filters (K = C kH kW <= ``SHALLOW_MAX_DEPTH``, like a
first layer on grey images, K = 9): dot products along the pixels, vectorised over them.

With cols_n (K x P) the im2col matrix of image n (``conv``'s docstring),

    dW[o, k] = sum over n, p of g[n, o, p] cols_n[k, p]

The general kernel (``conv._weight_grad``) computes dW^T as cols_n @ g_n^T in MR = 12-row tiles:
with K = 9 a quarter of each tile is padding, and each image's g_n (C_out x P) is first transposed
into NR-wide slivers, an element at a time. Here g_n is read in place, row by row, and each vector
of L consecutive pixels of a g row meets the same L pixels of several cols rows:

    for each worker, for each of its images n:
        cols (Kp x Pp) = x_pad[n, c, i sH + a, j sW + b] for k = (c, a, b) < K, p = (i, j) < P,
                         0 elsewhere (Kp: K rounded up to TAPS, Pp: P rounded up to L)
        for each block of OUTS output channels o0 .. o0 + OUTS - 1 (past C_out: the last again):
            for each block of TAPS taps k0 .. k0 + TAPS - 1:
                acc[r][s] = 0                                  (OUTS x TAPS vectors of L lanes)
                for p in 0, L, 2L, ... < P:                    (a last partial vector of g: read
                    acc[r][s] += g[n, o0 + r, p : p + L]        from a copy padded with zeros)
                                 * cols[k0 + s, p : p + L]
                sums[worker, o0 + r, k0 + s, :] += acc[r][s]
    dW[o, k] = sum over workers and lanes of sums[worker, o, k, :]

Each g row is read from memory once: its first tap block brings it into L1 for the others (OUTS
rows of P pixels: 8 KB at P = 676 in float32). The accumulators stay in registers for a whole
image and are added to ``sums`` once per image, lanes and all (the lanes are summed once, at the
end). A 3 x 3 block is 9 accumulators, 3 g vectors and one cols vector: 13 of AVX2's 16 registers,
9 FMAs for 6 loads. NumPy reference: ``reference.conv2d_weight_grad``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .im2col import shift_offsets
from .simd import add, fma, lanes, load, store, vector_lanes, zeros_like

OUTS = 3   # output channels per register block
TAPS = 3   # taps (rows of cols) per register block


@njit(nogil=True, cache=True)
def _pack_cols(x, image, offsets, patch, width, stride_h, stride_w, out_h, out_w, cols, row):
    """cols[k row + i OW + j] = x[image + offsets[k] + i sH Wp + j sW] for k < K, i < OH, j < OW;
    cols[k row + p] = 0 for P <= p < row and k < K. With stride 1, each output row is copied as
    whole vectors: the last one runs past the row into the next one, which is written after it
    (past the last row of tap k: zeroed again, or tap k + 1's; ``cols`` has L elements of slack
    after the last tap row). A row copied element by element cost 1.9 us of an image's 7-9."""
    lanes = vector_lanes(cols)
    positions = out_h * out_w
    last_row = image + offsets[patch - 1] + (out_h - 1) * stride_h * width
    whole = stride_w == 1 and last_row + -(-out_w // lanes) * lanes <= x.size  # reads inside x
    for k in range(patch):
        for i in range(out_h):
            source = image + offsets[k] + i * stride_h * width
            target = k * row + i * out_w
            if whole:
                for j in range(0, out_w, lanes):
                    store(cols, target + j, load(x, source + j))
            else:
                for j in range(out_w):  # unsigned indices: no negative-index wrap check
                    cols[np.uint64(target + j)] = x[np.uint64(source + j * stride_w)]
        for p in range(positions, row):
            cols[k * row + p] = 0.0
    for p in range(patch * row, patch * row + lanes):  # past the last tap (zero taps, or slack)
        cols[p] = 0.0


@njit(nogil=True, fastmath=True, cache=True, inline="always")
def _accumulate(sums, at, vector):
    store(sums, at, add(load(sums, at), vector))


@njit(nogil=True, fastmath=True, cache=True)
def _weight_grad(x, grad, sums, images, channels, height, width, out_channels, kernel_h,
                 kernel_w, stride_h, stride_w, out_h, out_w, workers, first, last):
    """sums[worker] (Cp x Kp x L) += the lane-wise dot products of g_n rows and cols_n rows over
    the worker's images, for first <= worker < last (x: the padded batch)."""
    lanes = vector_lanes(grad)
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    taps = -(-patch // TAPS) * TAPS
    row = -(-positions // lanes) * lanes
    full = positions // lanes * lanes       # pixels in whole vectors of g
    rest = positions - full
    for worker in range(first, last):
        cols = np.zeros(taps * row + lanes, dtype=sums.dtype)  # slack: see _pack_cols
        tail = np.zeros(OUTS * lanes, dtype=sums.dtype)  # the last g vector of each row, padded
        mine = sums[worker]
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            _pack_cols(x, n * channels * plane, offsets, patch, width, stride_h, stride_w, out_h,
                       out_w, cols, row)
            image = n * out_channels * positions
            for o0 in range(0, out_channels, OUTS):
                g0 = image + o0 * positions  # rows past C_out read the last channel again
                g1 = image + min(o0 + 1, out_channels - 1) * positions
                g2 = image + min(o0 + 2, out_channels - 1) * positions
                for t in range(rest):
                    tail[t] = grad[g0 + full + t]
                    tail[lanes + t] = grad[g1 + full + t]
                    tail[2 * lanes + t] = grad[g2 + full + t]
                for k0 in range(0, taps, TAPS):
                    x0, x1, x2 = k0 * row, (k0 + 1) * row, (k0 + 2) * row
                    c00 = zeros_like(cols); c01 = zeros_like(cols); c02 = zeros_like(cols)
                    c10 = zeros_like(cols); c11 = zeros_like(cols); c12 = zeros_like(cols)
                    c20 = zeros_like(cols); c21 = zeros_like(cols); c22 = zeros_like(cols)
                    for p in range(0, full, lanes):
                        a0 = load(grad, g0 + p)
                        a1 = load(grad, g1 + p)
                        a2 = load(grad, g2 + p)
                        b = load(cols, x0 + p)
                        c00 = fma(a0, b, c00); c10 = fma(a1, b, c10); c20 = fma(a2, b, c20)
                        b = load(cols, x1 + p)
                        c01 = fma(a0, b, c01); c11 = fma(a1, b, c11); c21 = fma(a2, b, c21)
                        b = load(cols, x2 + p)
                        c02 = fma(a0, b, c02); c12 = fma(a1, b, c12); c22 = fma(a2, b, c22)
                    if rest:
                        a0 = load(tail, 0)
                        a1 = load(tail, lanes)
                        a2 = load(tail, 2 * lanes)
                        b = load(cols, x0 + full)
                        c00 = fma(a0, b, c00); c10 = fma(a1, b, c10); c20 = fma(a2, b, c20)
                        b = load(cols, x1 + full)
                        c01 = fma(a0, b, c01); c11 = fma(a1, b, c11); c21 = fma(a2, b, c21)
                        b = load(cols, x2 + full)
                        c02 = fma(a0, b, c02); c12 = fma(a1, b, c12); c22 = fma(a2, b, c22)
                    at = (o0 * taps + k0) * lanes  # sums[worker] is (Cp, Kp, L)
                    _accumulate(mine, at, c00)
                    _accumulate(mine, at + lanes, c01)
                    _accumulate(mine, at + 2 * lanes, c02)
                    at += taps * lanes
                    _accumulate(mine, at, c10)
                    _accumulate(mine, at + lanes, c11)
                    _accumulate(mine, at + 2 * lanes, c12)
                    at += taps * lanes
                    _accumulate(mine, at, c20)
                    _accumulate(mine, at + lanes, c21)
                    _accumulate(mine, at + 2 * lanes, c22)


def weight_grad(flat, grad, weight_shape, shape, stride, workers):
    """dW (C_out, C, kH, kW) for the padded batch ``flat`` of ``shape`` (N, C, Hp, Wp) and the
    output gradient ``grad`` (N, C_out, OH, OW), C-contiguous in x's dtype."""
    images, channels, height, width = shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad.shape[2:]
    patch = channels * kernel_h * kernel_w
    taps, outs = -(-patch // TAPS) * TAPS, -(-out_channels // OUTS) * OUTS
    sums = np.zeros((workers, outs * taps * lanes(flat.dtype)), dtype=flat.dtype)
    threads.parallel_for(_weight_grad, workers, flat, grad.reshape(-1), sums, images, channels,
                         height, width, out_channels, kernel_h, kernel_w, *stride, out_h, out_w,
                         workers)
    total = sums.reshape(workers, outs, taps, -1).sum(axis=(0, 3))
    out = np.empty(weight_shape, dtype=flat.dtype)  # owns its memory: a leaf keeps it as .grad
    out.reshape(out_channels, patch)[...] = total[:out_channels, :patch]
    return out
