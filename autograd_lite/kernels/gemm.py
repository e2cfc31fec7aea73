"""The GEMM building blocks shared by the matmul and convolution kernels.

The structure is the one of BLIS / GotoBLAS (Goto & van de Geijn, "Anatomy of High-Performance Matrix
Multiplication", ACM TOMS 2008): operands are copied ("packed") into panels laid out in the order the
micro-kernel reads them, then a register-blocked micro-kernel computes one MR x NR tile of C:

    packed A: for each MR-row sliver ib:  Ap[ib][k][r] = A[ib*MR + r, k]    (zero past the last row)
    packed B: for each NR-col sliver jb:  Bp[jb][k][j] = B[k, jb*NR + j]    (zero past the last column)

    micro_kernel (MR = 8 rows, NR = 2 vectors of L lanes, accumulators c[8][2] in registers):
        for k in range(depth):
            b0, b1 = Bp[jb][k][0:L], Bp[jb][k][L:2L]
            for r in range(8):  a = Ap[ib][k][r];  c[r][0] += a * b0;  c[r][1] += a * b1
        C[tile] = c   (or C[tile] += c when accumulating over several depth panels)

Each step does 16 vector FMAs for 2 vector loads and 8 broadcasts; the 16 accumulators never leave
the registers during the depth loop. NumPy reference: ``reference.matmul`` (C = A @ B).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .simd import add, broadcast, fma, lanes_of, load, store, zeros_like

MR = 8            # rows of a micro-tile
KC = 320          # largest depth of a packed panel (A sliver 10 KB, B sliver 40 KB in float32)


def panel_depth(depth):
    """Split ``depth`` into equal panels of at most KC (so 288 is one panel, not 256 + 32)."""
    panels = -(-depth // KC)
    return -(-depth // panels)


@njit(fastmath=True, cache=True)
def _store_row(out, at, lanes, first, second, accumulate):
    if accumulate:
        first = add(load(out, at), first)
        second = add(load(out, at + lanes), second)
    store(out, at, first)
    store(out, at + lanes, second)


@njit(fastmath=True, cache=True)
def micro_kernel(packed_a, a_at, packed_b, b_at, depth, out, out_at, out_stride, accumulate):
    """out[r*out_stride : +2L] (+)= sum_k packed_a[a_at + 8k + r] * packed_b[b_at + 2Lk : +2L]."""
    lanes = lanes_of(out)
    c00 = zeros_like(packed_a); c01 = zeros_like(packed_a); c10 = zeros_like(packed_a)
    c11 = zeros_like(packed_a); c20 = zeros_like(packed_a); c21 = zeros_like(packed_a)
    c30 = zeros_like(packed_a); c31 = zeros_like(packed_a); c40 = zeros_like(packed_a)
    c41 = zeros_like(packed_a); c50 = zeros_like(packed_a); c51 = zeros_like(packed_a)
    c60 = zeros_like(packed_a); c61 = zeros_like(packed_a); c70 = zeros_like(packed_a)
    c71 = zeros_like(packed_a)
    for _ in range(depth):
        b0 = load(packed_b, b_at)
        b1 = load(packed_b, b_at + lanes)
        a = broadcast(packed_a, a_at)
        c00 = fma(a, b0, c00); c01 = fma(a, b1, c01)
        a = broadcast(packed_a, a_at + 1)
        c10 = fma(a, b0, c10); c11 = fma(a, b1, c11)
        a = broadcast(packed_a, a_at + 2)
        c20 = fma(a, b0, c20); c21 = fma(a, b1, c21)
        a = broadcast(packed_a, a_at + 3)
        c30 = fma(a, b0, c30); c31 = fma(a, b1, c31)
        a = broadcast(packed_a, a_at + 4)
        c40 = fma(a, b0, c40); c41 = fma(a, b1, c41)
        a = broadcast(packed_a, a_at + 5)
        c50 = fma(a, b0, c50); c51 = fma(a, b1, c51)
        a = broadcast(packed_a, a_at + 6)
        c60 = fma(a, b0, c60); c61 = fma(a, b1, c61)
        a = broadcast(packed_a, a_at + 7)
        c70 = fma(a, b0, c70); c71 = fma(a, b1, c71)
        a_at += MR
        b_at += 2 * lanes
    _store_row(out, out_at, lanes, c00, c01, accumulate)
    _store_row(out, out_at + out_stride, lanes, c10, c11, accumulate)
    _store_row(out, out_at + 2 * out_stride, lanes, c20, c21, accumulate)
    _store_row(out, out_at + 3 * out_stride, lanes, c30, c31, accumulate)
    _store_row(out, out_at + 4 * out_stride, lanes, c40, c41, accumulate)
    _store_row(out, out_at + 5 * out_stride, lanes, c50, c51, accumulate)
    _store_row(out, out_at + 6 * out_stride, lanes, c60, c61, accumulate)
    _store_row(out, out_at + 7 * out_stride, lanes, c70, c71, accumulate)


@njit(fastmath=True, cache=True)
def tile(packed_a, ib, packed_b, jb, depth, out, out_offset, out_stride, rows, cols, accumulate,
         scratch):
    """C[ib*MR : +MR, jb*NR : +NR] (+)= Ap[ib] Bp[jb], C row i at out[out_offset + i*out_stride].

    A tile that sticks out of the rows x cols matrix is computed into ``scratch`` (MR*NR elements)
    and only its valid part is written."""
    width = 2 * lanes_of(out)
    a_at, b_at = ib * depth * MR, jb * depth * width
    i, j = ib * MR, jb * width
    if i + MR <= rows and j + width <= cols:
        micro_kernel(packed_a, a_at, packed_b, b_at, depth, out, out_offset + i * out_stride + j,
                     out_stride, accumulate)
        return
    micro_kernel(packed_a, a_at, packed_b, b_at, depth, scratch, 0, width, False)
    for r in range(min(MR, rows - i)):
        at = out_offset + (i + r) * out_stride + j
        for c in range(min(width, cols - j)):
            if accumulate:
                out[at + c] += scratch[r * width + c]
            else:
                out[at + c] = scratch[r * width + c]


@njit(cache=True)
def pack_a(a, offset, row_stride, col_stride, rows, k0, depth, first_sliver, stop_sliver, packed):
    """packed[ib][k][r] = a[offset + (ib*MR + r) row_stride + (k0 + k) col_stride] (0 past ``rows``)
    for the slivers ib in [first_sliver, stop_sliver)."""
    for ib in range(first_sliver, stop_sliver):
        base = ib * depth * MR
        for r in range(MR):
            i = ib * MR + r
            if i < rows:
                source = offset + i * row_stride + k0 * col_stride
                for k in range(depth):
                    packed[base + k * MR + r] = a[source + k * col_stride]
            else:
                for k in range(depth):
                    packed[base + k * MR + r] = 0.0


@njit(cache=True)
def pack_b(b, offset, row_stride, col_stride, cols, k0, depth, first_sliver, stop_sliver, packed):
    """packed[jb][k][j] = b[offset + (k0 + k) row_stride + (jb*NR + j) col_stride] (0 past
    ``cols``) for the slivers jb in [first_sliver, stop_sliver)."""
    width = 2 * lanes_of(packed)
    for jb in range(first_sliver, stop_sliver):
        base = jb * depth * width
        valid = min(width, cols - jb * width)
        for k in range(depth):
            source = offset + (k0 + k) * row_stride + jb * width * col_stride
            target = base + k * width
            if col_stride == 1:
                for j in range(valid):
                    packed[target + j] = b[source + j]
            else:
                for j in range(valid):
                    packed[target + j] = b[source + j * col_stride]
            for j in range(valid, width):
                packed[target + j] = 0.0


@njit(cache=True)
def packed_size(count, multiple, depth):
    """Elements of a packed panel: ``count`` rows/columns rounded up to ``multiple``, times depth."""
    return -(-count // multiple) * multiple * depth


def scratch_for(dtype):
    return np.empty(MR * 2 * (64 // np.dtype(dtype).itemsize), dtype=dtype)
