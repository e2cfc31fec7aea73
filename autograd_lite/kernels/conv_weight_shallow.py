"""Convolution weight gradient for shallow filters (K = C kH kW <= ``SHALLOW_MAX_DEPTH``, like a
first layer on grey images, K = 9): dot products along the pixels, vectorised over them.

With cols_n (K x P) the im2col matrix of image n (``conv``'s docstring),

    dW[o, k] = sum over n, p of g[n, o, p] cols_n[k, p]

The general kernel (``conv._weight_grad``) computes dW^T as cols_n @ g_n^T in MR = 12-row tiles:
with K = 9 a quarter of each tile is padding, and each image's g_n (C_out x P) is first transposed
into NR-wide slivers, an element at a time. Here g_n is read in place, row by row, and each vector
of L consecutive pixels of a g row meets the same L pixels of several cols rows:

    for each piece (``conv``'s docstring), for each of its images n:
        cols (Kp x Pp) = x_pad[n, c, i sH + a, j sW + b] for k = (c, a, b) < K, p = (i, j) < P,
                         0 elsewhere (Kp: K rounded up to TAPS, Pp: P rounded up to L)
        for each block of OUTS output channels o0 .. o0 + OUTS - 1 (past C_out: the last again):
            for each block of TAPS taps k0 .. k0 + TAPS - 1:
                acc[r][s] = 0                                  (OUTS x TAPS vectors of L lanes)
                for p in 0, L, 2L, ... < P:                    (a last partial vector of g: read
                    acc[r][s] += g[n, o0 + r, p : p + L]        from a copy padded with zeros)
                                 * cols[k0 + s, p : p + L]
                sums[piece, o0 + r, k0 + s, :] += acc[r][s]
    dW[o, k] = sum over pieces and lanes of sums[piece, o, k, :]

Each g row is read from memory once: its first tap block brings it into L1 for the others (OUTS
rows of P pixels: 11 KB at P = 676 in float32). The accumulators stay in registers for a whole pass
over an image's pixels and are then added to ``sums``, lanes and all (the lanes are summed once, at
the end). A 4 x 3 block is 12 accumulators, the 3 cols vectors and one g vector: AVX2's 16
registers, 12 FMAs for 7 loads (``_block``). While a channel block's passes run, the next block's g
rows are prefetched (``_weight_grad``).

Measured on a 2-vCPU AMD EPYC (Zen 3), interleaved medians, time of this kernel / the general
one: (64, 1, 28, 28) -> 32 channels, float32, 0.25-0.30 on one thread (1.3-1.6 -> 0.39-0.40 ms;
PyTorch's convolution_backward 3.9-4.0 ms), 0.19-0.25 on two, 0.33-0.37 with caches emptied
before each call, 0.25-0.30 inside the CNN's training step; float64 0.26-0.36; K = 18 (2
channels, padding 1) 0.30-0.35; K = 18 with stride 2 (16 x 16 outputs) 0.43-0.56. Tried and
dropped: tap blocks outside the channel blocks (cols rows kept in L1, g read K / 3 times from
L2): 6% slower. NumPy reference: ``reference.conv2d_weight_grad``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .im2col import shift_offsets
from .simd import add, fma, lanes, load, prefetch, store, vector_lanes, zeros_like

OUTS = 4   # output channels per register block
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
def _block(a, a0, a1, a2, a3, b, b0, b1, b2, start, stop, step, c, ahead, ahead_step):
    """c[r][s] + sum over p in range(start, stop, step) of a[a_r + p : a_r + p + L] *
    b[b_s + p : b_s + p + L] for r < OUTS = 4, s < TAPS = 3 (c: the 12 vectors c[0][0], c[0][1],
    ... c[3][2]). Per step 7 vector loads and 12 FMAs, in 12 accumulators, the 3 b vectors and one
    a vector at a time: AVX2's 16 registers, no spill (a 3 x 3 block, 9 FMAs for 6 loads, was 4-7%
    slower at C_out = 32: Zen 3, one thread, interleaved medians). Each step also prefetches
    a[ahead], ahead moving by ahead_step (see ``_weight_grad``)."""
    c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32 = c
    for p in range(start, stop, step):
        prefetch(a, ahead)
        ahead += ahead_step
        x0 = load(b, b0 + p)
        x1 = load(b, b1 + p)
        x2 = load(b, b2 + p)
        g = load(a, a0 + p)
        c00 = fma(g, x0, c00); c01 = fma(g, x1, c01); c02 = fma(g, x2, c02)
        g = load(a, a1 + p)
        c10 = fma(g, x0, c10); c11 = fma(g, x1, c11); c12 = fma(g, x2, c12)
        g = load(a, a2 + p)
        c20 = fma(g, x0, c20); c21 = fma(g, x1, c21); c22 = fma(g, x2, c22)
        g = load(a, a3 + p)
        c30 = fma(g, x0, c30); c31 = fma(g, x1, c31); c32 = fma(g, x2, c32)
    return c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32


@njit(nogil=True, fastmath=True, cache=True, inline="always")
def _accumulate(sums, at, vector):
    store(sums, at, add(load(sums, at), vector))


@njit(nogil=True, fastmath={"reassoc", "nsz", "contract"}, cache=True)
def row_sum(values, start, count, zero):
    """values[start] + ... + values[start + count - 1], in their dtype (vector lanes; ``zero``: a
    0 of that dtype). A function of its own, never inlined into a caller compiled with
    ``fastmath=True``: these flags keep NaN and inf (no ``nnan``/``ninf``)."""
    total = zero
    for p in range(count):
        total += values[np.uint64(start + p)]
    return total


@njit(nogil=True, fastmath=True, cache=True)
def _weight_grad(x, grad, sums, bias_sums, with_bias, images, channels, height, width,
                 out_channels, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w, workers, first,
                 last):
    """sums[worker] (Cp x Kp x L) += the lane-wise dot products of g_n rows and cols_n rows over
    the worker's images, for first <= worker < last (x: the padded batch). ``with_bias``: also
    bias_sums[worker, o] += the sum of row g_n[o] (in float64), read while the channel block's
    passes left it in L1 (the bias gradient without a pass of its own over g)."""
    lanes = vector_lanes(grad)
    nought = np.zeros(1, dtype=grad.dtype)[0]  # (``zero`` below is a vector)
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    taps = -(-patch // TAPS) * TAPS
    row = -(-positions // lanes) * lanes
    full = positions // lanes * lanes       # pixels in whole vectors of g
    rest = positions - full
    # Only the first tap block of a channel block reads its g rows from memory; the others find
    # them in L1. So every pass over the pixels prefetches its share of the next channel block's
    # rows (OUTS P elements, contiguous), spread over its steps: memory is read during all the
    # passes instead of a third of them (K = 9). Measured on (64, 1, 28, 28) -> 32 channels, one
    # thread: 0.69-0.75 of the time without, caches cold or warm. Past the last channel block
    # the prefetches reach the next image's rows, or past grad's end, which cannot fault.
    steps = max(full // lanes, 1)
    ahead_step = -(-OUTS * positions // (taps // TAPS * steps))
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
                g3 = image + min(o0 + 3, out_channels - 1) * positions
                for t in range(rest):
                    tail[t] = grad[g0 + full + t]
                    tail[lanes + t] = grad[g1 + full + t]
                    tail[2 * lanes + t] = grad[g2 + full + t]
                    tail[3 * lanes + t] = grad[g3 + full + t]
                for k0 in range(0, taps, TAPS):
                    x0, x1, x2 = k0 * row, (k0 + 1) * row, (k0 + 2) * row
                    ahead = g0 + OUTS * positions + k0 // TAPS * steps * ahead_step
                    zero = zeros_like(cols)
                    c = _block(grad, g0, g1, g2, g3, cols, x0, x1, x2, 0, full, lanes,
                               (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero,
                                zero), ahead, ahead_step)
                    if rest:  # tail[r L + t] is g[o0 + r, full + t]
                        c = _block(tail, -full, lanes - full, 2 * lanes - full, 3 * lanes - full,
                                   cols, x0, x1, x2, full, full + 1, 1, c, 0, 0)
                    at = (o0 * taps + k0) * lanes  # sums[worker] is (Cp, Kp, L)
                    for r in range(OUTS):
                        for s in range(TAPS):
                            _accumulate(mine, at + (r * taps + s) * lanes, c[r * TAPS + s])
                if with_bias:
                    for o in range(o0, min(o0 + OUTS, out_channels)):
                        bias_sums[worker, o] += row_sum(grad, image + o * positions, positions,
                                                        nought)


@njit(nogil=True, cache=True)
def _sum_lanes(sums, taps, lanes, out, out_channels, patch):
    """out[o K + k] = sum over workers w and lanes l of sums[w, (o Kp + k) L + l] (NumPy's
    ``sums.reshape(workers, Cp, Kp, L).sum(axis=(0, 3))`` took 9 us of a 0.45 ms call)."""
    for o in range(out_channels):
        for k in range(patch):
            at = (o * taps + k) * lanes
            total = sums[0, at]
            for lane in range(1, lanes):
                total += sums[0, at + lane]
            for worker in range(1, sums.shape[0]):
                for lane in range(lanes):
                    total += sums[worker, at + lane]
            out[o * patch + k] = total


def sums_size(patch, out_channels, dtype):
    """Elements of one piece's row of ``sums``: Cp x Kp x L (C_out and K rounded up to the
    register blocks, L lanes of ``dtype``)."""
    return -(-out_channels // OUTS) * OUTS * (-(-patch // TAPS) * TAPS) * lanes(dtype)


def weight_grad(flat, grad, weight_shape, shape, stride, workers, with_bias=False):
    """dW (C_out, C, kH, kW) for the padded batch ``flat`` of ``shape`` (N, C, Hp, Wp) and the
    output gradient ``grad`` (N, C_out, OH, OW), C-contiguous in x's dtype; ``with_bias``:
    (dW, db), db (C_out,) the sum of g over images and pixels, from the same pass."""
    images, channels, height, width = shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad.shape[2:]
    patch, vector = channels * kernel_h * kernel_w, lanes(flat.dtype)
    taps = -(-patch // TAPS) * TAPS
    workers = max(workers, 1)  # an empty batch: one worker with no images, dW = 0
    sums = np.zeros((workers, sums_size(patch, out_channels, flat.dtype)), dtype=flat.dtype)
    bias_sums = np.zeros((workers, out_channels) if with_bias else (1, 1))
    threads.parallel_for(_weight_grad, workers, flat, grad.reshape(-1), sums, bias_sums,
                         with_bias, images, channels, height, width, out_channels, kernel_h,
                         kernel_w, *stride, out_h, out_w, workers, pieces=workers)
    out = np.empty(weight_shape, dtype=flat.dtype)  # owns its memory: a leaf keeps it as .grad
    _sum_lanes(sums, taps, vector, out.reshape(-1), out_channels, patch)
    return (out, bias_total(bias_sums, flat.dtype)) if with_bias else out


def bias_total(bias_sums, dtype):
    """db (C_out,) in ``dtype`` from the pieces' float64 sums (workers x C_out)."""
    return bias_sums.sum(axis=0).astype(dtype)
