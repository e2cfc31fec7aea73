"""C = A @ B (2-D and batched) as a parallel Numba kernel built from ``gemm``'s packed micro-kernel.

    for each batch entry:
        for k0 in range(0, K, panel):                    # one depth panel at a time
            parallel: pack B[k0:k0+panel, :] into NR-wide slivers, A[:, k0:k0+panel] into MR-tall ones
            for i0 in range(0, M, MC):                   # a block of A that stays in L2
                parallel over the workers, each taking a contiguous run of tiles (column-major, so a
                B sliver is reused from L1 across the row tiles):  C tile (+)= Ap[ib] Bp[jb]

A and B are read through (offset, row stride, column stride) into a flat buffer, so transposed and
sliced views need no copy; a batch is a list of offsets (broadcast batch dims repeat an offset).
NumPy reference: ``reference.matmul``.
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .gemm import (MR, matrix_rows, pack_a, pack_b, packed_size, panel_depth, sliver_rows,
                   sliver_steps, tile)
from .simd import lanes_of

MC = 256          # rows of the A block one parallel pass works on


@njit(parallel=True, fastmath=True, cache=True)
def gemm(a, a_offsets, a_row_stride, a_col_stride, b, b_offsets, b_row_stride, b_col_stride,
         out, rows, cols, depth, panel, workers):
    """out[batch] = A[batch] @ B[batch] for each batch entry; ``out`` is flat, C-contiguous.
    ``workers`` is Numba's thread count (passed in: reading it inside a kernel defeats caching)."""
    width = 2 * lanes_of(out)
    a_slivers, b_slivers = -(-rows // MR), -(-cols // width)
    packed_a = np.empty(packed_size(rows, MR, panel), dtype=out.dtype)
    packed_b = np.empty(packed_size(cols, width, panel), dtype=out.dtype)
    scratch = np.empty((workers, MR * width), dtype=out.dtype)
    for batch in range(a_offsets.size):
        out_offset = batch * rows * cols
        for k0 in range(0, depth, panel):
            part = min(panel, depth - k0)
            for worker in prange(workers):
                pack_b(b, b_offsets[batch], b_row_stride, b_col_stride, cols, k0, part,
                       worker * b_slivers // workers, (worker + 1) * b_slivers // workers, packed_b)
                pack_a(a, a_offsets[batch], a_row_stride, a_col_stride, rows, k0, part,
                       worker * a_slivers // workers, (worker + 1) * a_slivers // workers, packed_a)
            a_steps = sliver_steps(part, MR)
            for i0 in range(0, rows, MC):
                first_row_tile = i0 // MR
                row_tiles = -(-min(MC, rows - i0) // MR)
                tiles = row_tiles * b_slivers
                for worker in prange(workers):
                    for index in range(worker * tiles // workers, (worker + 1) * tiles // workers):
                        ib, jb = first_row_tile + index % row_tiles, index // row_tiles
                        tile(packed_a, sliver_rows(ib * part * MR), a_steps, packed_b,
                             jb * part * width, width, part, out,
                             matrix_rows(out_offset + ib * MR * cols + jb * width, cols),
                             rows - ib * MR, cols - jb * width, k0 > 0, scratch[worker])
    return out


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
    gemm(a_flat, a_offsets, a_rows, a_cols, b_flat, b_offsets, b_rows, b_cols, out.reshape(-1),
         rows, cols, depth, panel_depth(depth), get_num_threads())
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
