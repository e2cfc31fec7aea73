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
from .simd import lanes

SHALLOW_MAX_DEPTH = 18


@njit(nogil=True, fastmath=True, cache=True)
def _forward(x, packed_w, depth, out, images, channels, height, width, out_channels, kernel_h,
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


def forward(flat, weight, bias, out, shape, stride, workers):
    """out (N, C_out, OH, OW) for the padded batch ``flat`` of ``shape`` (N, C, Hp, Wp)."""
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
    threads.parallel_for(_forward, workers, flat, packed_w, depth, out.reshape(-1), images,
                         channels, height, width, out_channels, kernel_h, kernel_w, *stride,
                         out.shape[2], out.shape[3], nr, workers)
    return out
