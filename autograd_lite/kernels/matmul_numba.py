"""C = A @ B (2-D and batched) as a Numba kernel built from ``gemm``'s packed micro-kernel, run over
our threads (``threads.parallel_for``).

C is cut into one block per worker (along its columns, or along its rows when it has more row
slivers than column slivers); each worker packs the parts of A and B its block needs and computes it
alone, so a whole product is a single parallel launch with no shared buffers:

    in parallel, for each worker (block rows R, block columns S):
        for each batch entry:
            for k0 in range(0, K, panel):                    # one depth panel at a time
                Bp = pack B[k0:k0+panel, S] into NR-wide slivers
                for i0 in R, by MC rows:                     # a block of A that stays in L2
                    Ap = pack A[i0:i0+MC, k0:k0+panel] into MR-tall slivers   (AVX2 only, below)
                    for each B sliver jb, for each A sliver ib:  C tile (+)= Ap[ib] Bp[jb]

A and B are read through (offset, row stride, column stride) into a flat buffer, so transposed and
sliced views need no copy; a batch is a list of offsets (broadcast batch dims repeat an offset).

With AVX-512 (``not simd.SPLIT_TILE``) and rows of A contiguous (column stride 1), A is not packed:
the micro-kernel reads its 12 rows in place (``strided_rows``; depth step k at +k). Packing A cost
one scalar load and store per element, against 2 NR / 64 cycles of FMAs per element and B sliver:
a third of the time when C has 64 columns. Intel Xeon (Sapphire Rapids class, AVX-512), one thread,
interleaved, the loop nest alone: 768 x 288 @ 288 x 64 89 -> 125 GFLOP/s, 1024 x 784 @ 784 x 128
101 -> 120, 1000 x 1000 @ 1000 x 64 93 -> 139, 2048 x 256 @ 256 x 32 43 -> 69, 512^3 83 -> 84,
512 x 1024 @ 1024 x 512 112 -> 116 (rows 4 KB apart, all 12 in one L1 set per step: no loss).
Whole tiles then call the inlined ``micro_kernel`` rather than ``tile`` (a function call per tile):
matmul() 768 x 288 @ 288 x 64 56 -> 69 GFLOP/s, 1024 x 784 @ 784 x 128 77 -> 89, 512^3 82 -> 94
(same CPU, interleaved; PyTorch 76, 103, 119). The AVX2 path still packs A and calls ``tile``
(not measured on a Zen 3 this session).
NumPy reference: ``reference.matmul``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .gemm import (MR, matrix_rows, micro_kernel, pack_a, pack_b, packed_size, panel_depth,
                   sliver_rows, sliver_steps, strided_rows, tile)
from .simd import SPLIT_TILE, lanes_of

MC = 10 * MR      # rows of A packed at a time (MC x KC float32: 120 KB, in L2)


@njit(cache=True, inline="always")
def _block(worker, workers, a_slivers, b_slivers, by_rows):
    """This worker's block of C: A slivers [first_a, stop_a), B slivers [first_b, stop_b)."""
    if by_rows:
        return (worker * a_slivers // workers, (worker + 1) * a_slivers // workers, 0, b_slivers)
    return 0, a_slivers, worker * b_slivers // workers, (worker + 1) * b_slivers // workers


@njit(nogil=True, fastmath=True, cache=True)
def gemm(a, a_offsets, a_row_stride, a_col_stride, b, b_offsets, b_row_stride, b_col_stride,
         out, rows, cols, depth, panel, workers, first, last):
    """out[batch] = A[batch] @ B[batch] for each batch entry, the blocks of workers
    first <= worker < last of ``workers``; ``out`` is flat, C-contiguous."""
    width = 2 * lanes_of(out)
    a_slivers, b_slivers = -(-rows // MR), -(-cols // width)
    by_rows = a_slivers > b_slivers
    a_steps = sliver_steps(panel, MR)
    for worker in range(first, last):
        first_a, stop_a, first_b, stop_b = _block(worker, workers, a_slivers, b_slivers, by_rows)
        packed_a = np.empty(packed_size(MC, MR, panel), dtype=out.dtype)
        packed_b = np.empty(packed_size((stop_b - first_b) * width, width, panel), dtype=out.dtype)
        scratch = np.empty(MR * width, dtype=out.dtype)
        col0 = first_b * width
        block_cols = min(cols, stop_b * width) - col0
        for batch in range(a_offsets.size):
            out_offset = batch * rows * cols
            for k0 in range(0, depth, panel):
                part = min(panel, depth - k0)
                if block_cols <= 0:
                    break
                pack_b(b, b_offsets[batch] + col0 * b_col_stride, b_row_stride, b_col_stride,
                       block_cols, k0, part, 0, stop_b - first_b, packed_b)
                for s0 in range(first_a, stop_a, MC // MR):
                    s1 = min(s0 + MC // MR, stop_a)
                    pack_a(a, a_offsets[batch] + s0 * MR * a_row_stride, a_row_stride,
                           a_col_stride, rows - s0 * MR, k0, part, 0, s1 - s0, packed_a)
                    for jb in range(stop_b - first_b):
                        for ib in range(s1 - s0):
                            i, j = (s0 + ib) * MR, col0 + jb * width
                            tile(packed_a, sliver_rows(ib * part * MR), a_steps, packed_b,
                                 jb * part * width, width, part, out,
                                 matrix_rows(out_offset + i * cols + j, cols), rows - i, cols - j,
                                 k0 > 0, scratch)


@njit(nogil=True, fastmath=True, cache=True)
def gemm_in_place(a, a_offsets, a_row_stride, a_col_stride, b, b_offsets, b_row_stride,
                  b_col_stride, out, rows, cols, depth, panel, workers, first, last):
    """``gemm`` for AVX-512 (``matmul`` picks it when not ``SPLIT_TILE``): A read in place when its
    column stride is 1, whole tiles through the inlined ``micro_kernel`` (module docstring). A
    separate function, so that the AVX2 build compiles neither (an inlined micro-kernel in a dead
    branch added 2.4 s to gemm's cold compile there)."""
    width = 2 * lanes_of(out)
    a_slivers, b_slivers = -(-rows // MR), -(-cols // width)
    by_rows = a_slivers > b_slivers
    in_place = a_col_stride == 1   # A read in place (see the module docstring)
    a_steps = np.arange(panel) if in_place else sliver_steps(panel, MR)
    for worker in range(first, last):
        first_a, stop_a, first_b, stop_b = _block(worker, workers, a_slivers, b_slivers, by_rows)
        packed_a = np.empty(0 if in_place else packed_size(MC, MR, panel), dtype=out.dtype)
        packed_b = np.empty(packed_size((stop_b - first_b) * width, width, panel), dtype=out.dtype)
        scratch = np.empty(MR * width, dtype=out.dtype)
        col0 = first_b * width
        block_cols = min(cols, stop_b * width) - col0
        for batch in range(a_offsets.size):
            out_offset = batch * rows * cols
            for k0 in range(0, depth, panel):
                part = min(panel, depth - k0)
                if block_cols <= 0:
                    break
                pack_b(b, b_offsets[batch] + col0 * b_col_stride, b_row_stride, b_col_stride,
                       block_cols, k0, part, 0, stop_b - first_b, packed_b)
                for s0 in range(first_a, stop_a, MC // MR):
                    s1 = min(s0 + MC // MR, stop_a)
                    if not in_place:
                        pack_a(a, a_offsets[batch] + s0 * MR * a_row_stride, a_row_stride,
                               a_col_stride, rows - s0 * MR, k0, part, 0, s1 - s0, packed_a)
                    for jb in range(stop_b - first_b):
                        for ib in range(s1 - s0):
                            i, j = (s0 + ib) * MR, col0 + jb * width
                            c_rows = matrix_rows(out_offset + i * cols + j, cols)
                            if in_place:
                                a_rows = strided_rows(a_offsets[batch] + i * a_row_stride + k0,
                                                      a_row_stride, rows - i)
                                if rows - i >= MR and cols - j >= width:  # a whole tile
                                    micro_kernel(a, a_rows, a_steps, packed_b, jb * part * width,
                                                 width, part, out, c_rows, k0 > 0)
                                else:
                                    tile(a, a_rows, a_steps, packed_b, jb * part * width, width,
                                         part, out, c_rows, rows - i, cols - j, k0 > 0, scratch)
                            else:
                                tile(packed_a, sliver_rows(ib * part * MR), a_steps, packed_b,
                                     jb * part * width, width, part, out, c_rows, rows - i,
                                     cols - j, k0 > 0, scratch)


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m), batch dims broadcast like NumPy; float32 or float64."""
    if a.dtype != b.dtype:
        dtype = np.result_type(a, b)
        a, b = a.astype(dtype), b.astype(dtype)
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    rows, depth = a.shape[-2:]
    cols = b.shape[-1]
    out = np.empty(batch_shape + (rows, cols), dtype=a.dtype)
    if out.size == 0 or depth == 0:
        out[...] = 0
        return out
    a_flat, a_offsets, a_rows, a_cols = flat_view(a, batch_shape)
    b_flat, b_offsets, b_rows, b_cols = flat_view(b, batch_shape)
    workers = threads.get_num_threads()
    kernel = gemm if SPLIT_TILE else gemm_in_place
    threads.parallel_for(kernel, workers, a_flat, a_offsets, a_rows, a_cols, b_flat, b_offsets,
                         b_rows, b_cols, out.reshape(-1), rows, cols, depth, panel_depth(depth),
                         workers)
    return out


def flat_view(array, batch_shape):
    """(flat buffer, offset of each batch entry, row stride, column stride), in elements, of a
    stack of matrices broadcast to ``batch_shape``; copies only read-only or negatively strided
    arrays (one kernel specialisation serves every layout)."""
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = np.array(array)
    itemsize = array.itemsize
    strides = [s // itemsize for s in array.strides]
    span = 1 + sum((n - 1) * s for n, s in zip(array.shape, strides))
    flat = np.lib.stride_tricks.as_strided(array, shape=(span,), strides=(itemsize,))
    if not batch_shape:
        return flat, _ZERO_OFFSET, strides[-2], strides[-1]
    offsets = np.zeros(batch_shape, dtype=np.int64)
    extra = len(batch_shape) - (array.ndim - 2)
    for axis, n in enumerate(batch_shape):
        own = axis - extra  # the array's own batch axis, if any (broadcast axes move by 0)
        if own >= 0 and array.shape[own] == n and n > 1:
            step = np.arange(n) * strides[own]
            offsets += step.reshape((n,) + (1,) * (len(batch_shape) - axis - 1))
    return flat, offsets.reshape(-1), strides[-2], strides[-1]


_ZERO_OFFSET = np.zeros(1, dtype=np.int64)
