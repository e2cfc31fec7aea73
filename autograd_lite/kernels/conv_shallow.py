"""Convolution forward for shallow filters (few input channels: K = C kH kW small, like a first
layer on grey images, K = 9): channel-major tiles over packed im2col blocks.

The pixel-major forward in ``conv`` spends, per tile of MR = 12 pixels, K steps of 24 FMAs and then
a transposed store of 12 x NR values: with K = 9 the store costs more than the arithmetic. Here
the tile is 12 output channels x NR consecutive output pixels, which is a contiguous piece of 12
rows of out[n] (C_out x P), so it is stored as it comes out of the registers:

    for each worker, for each of its images n, for each block of NR output pixels p0 .. p0 + NR:
        cols (K x NR) = x_pad[n, c, i sH + a, j sW + b] for k = (c, a, b), pixel p = (i, j)
                        (packed run by run along output rows), and a last row of ones
        for each sliver of MR output channels:
            out[n, o, p0 : p0 + NR] = [W | b][o, :] @ [cols; 1]        (o in the sliver)

[W | b] is packed as the micro-kernel's A (MR-row slivers, depth K + 1): the bias is one more
depth step instead of a pass over the output. Each image's cols are packed first, then every
MR-row output sliver is written left to right (MR store streams: tiles that jump between distant
rows wait on cache misses for their stores). Used when K <= ``SHALLOW_MAX_DEPTH`` (measured on
(64, C, 28, 28) * (32, C, 3, 3), 1 and 2 threads: 0.73-0.79 of the pixel-major kernel's time at
K = 9, 0.74-0.86 at K = 18, 0.9-1.2 at K = 27, 1.2-1.5 from K = 54). NumPy reference:
``reference.conv2d_forward``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .gemm import MR, matrix_rows, pack_a, packed_size, sliver_rows, sliver_steps, tile
from .im2col import shift_offsets
from .simd import broadcast, fma, lanes, lanes_of, load, store, zeros_like

SHALLOW_MAX_DEPTH = 18
OUT_BLOCK = 2   # output channels per register block of the direct kernel
RUNS = 4        # output vectors per register block


@njit(nogil=True, fastmath=True, cache=True)
def _forward_tiles(x, packed_w, depth, out, images, channels, height, width, out_channels, kernel_h,
             kernel_w, stride_h, stride_w, out_h, out_w, nr, workers, first, last):
    """The images of workers first <= worker < last (the images cut into ``workers`` parts).
    x: the padded batch (height and width include the padding). ``depth`` is K, or K + 1 when
    the bias rides along as one more depth step (a row of ones in cols, the bias in packed_w)."""
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    steps = sliver_steps(depth, MR)
    row_slivers = -(-out_channels // MR)
    blocks = -(-positions // nr)
    for worker in range(first, last):
        cols = np.ones(blocks * depth * nr, dtype=out.dtype)   # row K of a block (if any): ones
        scratch = np.empty(MR * nr, dtype=out.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            image, target = n * channels * plane, n * out_channels * positions
            for block in range(blocks):
                p0, at = block * nr, block * depth * nr
                valid = min(nr, positions - p0)
                i, j = divmod(p0, out_w)
                done = 0
                while done < valid:  # runs of pixels along one output row
                    run = min(out_w - j, valid - done)
                    start = image + i * stride_h * width + j * stride_w
                    for k in range(patch):
                        source, into = start + offsets[k], at + k * nr + done
                        for t in range(run):  # unsigned indices: the copy vectorises
                            cols[np.uint64(into + t)] = x[np.uint64(source + t * stride_w)]
                    done += run
                    i, j = i + 1, 0
            for ib in range(row_slivers):  # MR output rows written left to right: MR store streams
                for block in range(blocks):
                    tile(packed_w, sliver_rows(ib * depth * MR), steps, cols, block * depth * nr,
                         nr, depth, out,
                         matrix_rows(target + ib * MR * positions + block * nr, positions),
                         min(MR, out_channels - ib * MR), min(nr, positions - block * nr), False,
                         scratch)


def forward_tiles(flat, weight, bias, out, shape, stride, workers):
    """``forward`` through packed im2col blocks and the GEMM micro-kernel."""
    images, channels, height, width = shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    patch = channels * kernel_h * kernel_w
    matrix = weight.reshape(out_channels, patch)
    if bias is not None:  # [W | b] against [cols; 1]
        matrix = np.concatenate([matrix, bias.reshape(-1, 1).astype(weight.dtype)], axis=1)
    depth = matrix.shape[1]
    packed_w = np.empty(packed_size(out_channels, MR, depth), dtype=weight.dtype)
    pack_a(np.ascontiguousarray(matrix).reshape(-1), 0, depth, 1, out_channels, 0, depth, 0,
           -(-out_channels // MR), packed_w)
    nr = 2 * lanes(weight.dtype)
    threads.parallel_for(_forward_tiles, workers, flat, packed_w, depth, out.reshape(-1), images,
                         channels, height, width, out_channels, kernel_h, kernel_w, *stride,
                         out.shape[2], out.shape[3], nr, workers)
    return out


@njit(nogil=True, fastmath=True, cache=True)
def _run_starts(out_h, out_w, stride_h, width, lanes):
    """(reads, writes): for each vector of an output plane, where its pixels' windows start in
    a padded input plane and where they go in the output plane. Each output row is covered by
    vectors at 0, L, 2L, ... and a last one ending at the row's end (it overlaps the one before:
    a few pixels computed twice instead of a tail loop); padded with the last vector to a
    multiple of RUNS."""
    per_row = -(-out_w // lanes)
    count = out_h * per_row
    total = -(-count // RUNS) * RUNS
    reads, writes = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    for r in range(total):
        i, v = divmod(min(r, count - 1), per_row)
        j = min(v * lanes, out_w - lanes)
        reads[r], writes[r] = i * stride_h * width + j, i * out_w + j
    return reads, writes


@njit(nogil=True, fastmath=True, cache=True)
def _forward_direct(x, weight, bias, has_bias, out, images, channels, height, width,
                    out_channels, kernel_h, kernel_w, stride_h, out_h, out_w, workers, first,
                    last):
    """Stride 1 along rows: out[n, o, i, j : j + L] = bias[o] + sum over k = (c, a, b) of
    weight[o, k] * x_pad[n, c, i sH + a, j + b : j + b + L], one vector of L pixels read in place
    per k (no im2col), OUT_BLOCK channels x RUNS vectors of accumulators (8 on AVX2, float32):

        for each image n of the workers first <= worker < last:
            for each block of OUT_BLOCK output channels o0 (the last one moved back to end at
                                                            C_out: it overlaps the one before)
                for each group of RUNS output vectors (reads, writes: ``_run_starts``):
                    acc[o, r] = [bias[o0 + o]] * L                     (or zeros)
                    for k < K:
                        acc[o, r] += [weight[o0 + o, k]] * load(x, image + reads[r] + offset[k])
                    store(out, target + (o0 + o) P + writes[r], acc[o, r])

    Each output vector is stored once, as it comes out of the registers, OUT_BLOCK rows of out[n]
    written left to right; x[n] (a few KB) stays in L1 for the image's channel blocks."""
    lanes = lanes_of(out)
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    reads, writes = _run_starts(out_h, out_w, stride_h, width, lanes)
    for worker in range(first, last):
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            image, target = n * channels * plane, n * out_channels * positions
            for block in range(0, out_channels, OUT_BLOCK):
                o = min(block, out_channels - OUT_BLOCK)
                row0, row1 = o * patch, (o + 1) * patch
                out0, out1 = target + o * positions, target + (o + 1) * positions
                for r in range(0, reads.size, RUNS):
                    if has_bias:
                        c00 = broadcast(bias, o)
                        c10 = broadcast(bias, o + 1)
                    else:
                        c00 = zeros_like(out)
                        c10 = zeros_like(out)
                    c01 = c00; c02 = c00; c03 = c00
                    c11 = c10; c12 = c10; c13 = c10
                    r0, r1 = image + reads[r], image + reads[r + 1]
                    r2, r3 = image + reads[r + 2], image + reads[r + 3]
                    for k in range(patch):
                        shift = offsets[k]
                        x0 = load(x, r0 + shift)
                        x1 = load(x, r1 + shift)
                        x2 = load(x, r2 + shift)
                        x3 = load(x, r3 + shift)
                        w = broadcast(weight, row0 + k)
                        c00 = fma(w, x0, c00); c01 = fma(w, x1, c01)
                        c02 = fma(w, x2, c02); c03 = fma(w, x3, c03)
                        w = broadcast(weight, row1 + k)
                        c10 = fma(w, x0, c10); c11 = fma(w, x1, c11)
                        c12 = fma(w, x2, c12); c13 = fma(w, x3, c13)
                    store(out, out0 + writes[r], c00)
                    store(out, out0 + writes[r + 1], c01)
                    store(out, out0 + writes[r + 2], c02)
                    store(out, out0 + writes[r + 3], c03)
                    store(out, out1 + writes[r], c10)
                    store(out, out1 + writes[r + 1], c11)
                    store(out, out1 + writes[r + 2], c12)
                    store(out, out1 + writes[r + 3], c13)


def forward(flat, weight, bias, out, shape, stride, workers):
    """out (N, C_out, OH, OW) for the padded batch ``flat`` of ``shape`` (N, C, Hp, Wp)."""
    out_channels, out_w = weight.shape[0], out.shape[3]
    if stride[1] != 1 or out_w < lanes(out.dtype) or out_channels < OUT_BLOCK:
        return forward_tiles(flat, weight, bias, out, shape, stride, workers)
    images, channels, height, width = shape
    has_bias = bias is not None
    bias = bias if has_bias else np.zeros(1, dtype=out.dtype)
    threads.parallel_for(_forward_direct, workers, flat, weight.reshape(-1), bias, has_bias,
                         out.reshape(-1), images, channels, height, width, out_channels,
                         weight.shape[2], weight.shape[3], stride[0], out.shape[2], out_w,
                         workers)
    return out
