"""The GEMM building blocks shared by the matmul and convolution kernels.

The structure is the one of BLIS / GotoBLAS (Goto & van de Geijn, "Anatomy of High-Performance Matrix
Multiplication", ACM TOMS 2008): operands are copied ("packed") into panels laid out in the order the
micro-kernel reads them, then a register-blocked micro-kernel computes one MR x NR tile of C:

    packed A: for each MR-row sliver ib:  Ap[ib][k][r] = A[ib*MR + r, k]    (zero past the last row)
    packed B: for each NR-col sliver jb:  Bp[jb][k][j] = B[k, jb*NR + j]    (zero past the last column)

    micro_kernel (MR = 12 rows, NR = 2 vectors of L lanes, accumulators c[12][2] in registers):
        for k in range(depth):
            b0, b1 = Bp[jb][k][0:L], Bp[jb][k][L:2L]
            for r in range(12):  a = Ap[ib][k][r];  c[r][0] += a * b0;  c[r][1] += a * b1
        C[tile] = c   (or C[tile] += c when accumulating over several depth panels)

The micro-kernel reads A through offsets (where each of its 12 rows starts, plus one offset per
depth step) and B from a start and a step, so the convolution kernels can feed it image rows and
pixels in place instead of packed panels.

Each step does 24 vector FMAs for 2 vector loads and 12 broadcasts; the 24 accumulators never leave
the registers during the depth loop (AVX-512's 32 registers: 24 + 2 B vectors + the broadcast A
value; the 12 x 2-vector tile of BLIS's Skylake-X sgemm kernel). That holds only if each row's
broadcast is used at once: LLVM's scheduler hoisted all 12 broadcasts of a step to its top (38 live
vectors) wherever the 12 A rows were not constant offsets of one pointer (the conv kernels, and
``tile`` called with a packed sliver), and the loop spilled 6 accumulators and copied 16-32
registers per step. ``simd.hold`` after each row pins the order (Intel Xeon, Sapphire Rapids class,
AVX-512, one thread, interleaved medians: conv forward x (64, 32, 13, 13) * w (64, 32, 3, 3)
11.1 -> 3.7 ms, input gradient 8.6 -> 3.5, weight gradient 5.5 -> 3.7; matmul 1024 x 784 x 128
48 -> 70 GFLOP/s, 512^3 56 -> 78). With AVX2's 16 the tile is
computed in two passes of 6 rows (``simd.SPLIT_TILE``): 12 accumulators, 2 B vectors and the
broadcast, 15 registers (the 6 x 16 shape of BLIS's Haswell sgemm kernel). An FMA takes 4 cycles
and two start per cycle on a Zen 3, so a pass needs at least 8 independent accumulators to keep
both units busy; the 4-row passes of MR = 8 had exactly 8 and stalled on any delay, the 6-row
ones have 12 (measured on a Zen 3, one thread, depth 144 in L1: 73 GFLOP/s against 59 for 4-row
passes; before those, one 8-row AVX2 loop spilled 22 accumulators to the stack: 25 on a 1024^3
product). NumPy reference: ``reference.matmul`` (C = A @ B).

``micro_kernel`` and its helpers are inlined into their callers by Numba (``inline="always"``). As
separate functions, every call took and released a reference to each array argument (atomic
increments and decrements, and the accumulators spilled around those calls), once per tile: with
a depth of 64-144 per tile that cost the convolution kernels 10-20% (Zen 3, one thread,
x (64, 32, 13, 13) * w (64, 32, 3, 3), interleaved medians against PyTorch: forward 1.11 -> 0.99,
input gradient 1.12 -> 0.89, weight gradient 0.96 -> 0.84).
"""
from __future__ import annotations

import numpy as np
from .cache import njit

from .simd import (SPLIT_TILE, add, barrier, broadcast, fma, hold, lanes, lanes_of, load, store,
                   zeros_like)
from .simd_masks import transpose_block

MR = 12           # rows of a micro-tile
KC = 256          # largest depth of a packed panel (B sliver 32 KB in float32: about L1)


def panel_depth(depth, largest=KC):
    """Split ``depth`` into equal panels of at most ``largest`` (with KC, 288 is two panels of 144,
    not 256 + 32)."""
    panels = -(-depth // largest)
    return -(-depth // panels)


@njit(fastmath=True, cache=True, inline="always")
def _store_row(out, at, lanes, first, second, accumulate):
    if accumulate:
        first = add(load(out, at), first)
        second = add(load(out, at + lanes), second)
    store(out, at, first)
    store(out, at + lanes, second)


@njit(fastmath=True, cache=True, inline="always")
def micro_kernel(a, a_rows, a_offsets, b, b_at, b_step, depth, out, out_rows, accumulate):
    """out[out_rows[r] + (0:2L)] (+)= sum over k < depth of
    a[a_rows[r] + a_offsets[k]] * b[b_at + k b_step + (0:2L)], for the 12 rows r.

    Packed slivers have a_rows = (s, s+1, ..., s+11), a_offsets[k] = k MR and b_step = NR; the
    convolution kernels instead read image rows and pixels in place (a_rows / a_offsets are then
    where each row starts and how far each step moves; b_step a row stride). The output rows are
    anywhere too: ``matrix_rows`` for a plain matrix, shifted image rows when the convolution's
    input gradient adds its tiles straight into the image (col2im fused).

    With 32 vector registers (AVX-512) the 24 accumulators of all 12 rows stay in registers
    through the depth loop (``hold`` after each row keeps LLVM from hoisting the broadcasts).
    With 16 (AVX2, ``SPLIT_TILE``) the tile is computed as two passes of 6 rows (12 accumulators
    each); the second pass reads B again from L1."""
    if SPLIT_TILE:
        _six_rows(a, a_rows[0], a_rows[1], a_rows[2], a_rows[3], a_rows[4], a_rows[5], a_offsets,
                  b, b_at, b_step, depth, out, out_rows[0], out_rows[1], out_rows[2], out_rows[3],
                  out_rows[4], out_rows[5], accumulate)
        _six_rows(a, a_rows[6], a_rows[7], a_rows[8], a_rows[9], a_rows[10], a_rows[11],
                  a_offsets, b, b_at, b_step, depth, out, out_rows[6], out_rows[7], out_rows[8],
                  out_rows[9], out_rows[10], out_rows[11], accumulate)
        return
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 = a_rows
    lanes = lanes_of(out)  # accumulator c<row><vector>, rows 10 and 11 written a and b
    c00 = zeros_like(out); c01 = zeros_like(out); c10 = zeros_like(out); c11 = zeros_like(out)
    c20 = zeros_like(out); c21 = zeros_like(out); c30 = zeros_like(out); c31 = zeros_like(out)
    c40 = zeros_like(out); c41 = zeros_like(out); c50 = zeros_like(out); c51 = zeros_like(out)
    c60 = zeros_like(out); c61 = zeros_like(out); c70 = zeros_like(out); c71 = zeros_like(out)
    c80 = zeros_like(out); c81 = zeros_like(out); c90 = zeros_like(out); c91 = zeros_like(out)
    ca0 = zeros_like(out); ca1 = zeros_like(out); cb0 = zeros_like(out); cb1 = zeros_like(out)
    for k in range(depth):
        step = a_offsets[k]
        b0 = load(b, b_at)
        b1 = load(b, b_at + lanes)
        x = broadcast(a, a0 + step)
        c00 = fma(x, b0, c00); c01 = fma(x, b1, c01); c00, c01 = hold(c00, c01)
        x = broadcast(a, a1 + step)
        c10 = fma(x, b0, c10); c11 = fma(x, b1, c11); c10, c11 = hold(c10, c11)
        x = broadcast(a, a2 + step)
        c20 = fma(x, b0, c20); c21 = fma(x, b1, c21); c20, c21 = hold(c20, c21)
        x = broadcast(a, a3 + step)
        c30 = fma(x, b0, c30); c31 = fma(x, b1, c31); c30, c31 = hold(c30, c31)
        x = broadcast(a, a4 + step)
        c40 = fma(x, b0, c40); c41 = fma(x, b1, c41); c40, c41 = hold(c40, c41)
        x = broadcast(a, a5 + step)
        c50 = fma(x, b0, c50); c51 = fma(x, b1, c51); c50, c51 = hold(c50, c51)
        x = broadcast(a, a6 + step)
        c60 = fma(x, b0, c60); c61 = fma(x, b1, c61); c60, c61 = hold(c60, c61)
        x = broadcast(a, a7 + step)
        c70 = fma(x, b0, c70); c71 = fma(x, b1, c71); c70, c71 = hold(c70, c71)
        x = broadcast(a, a8 + step)
        c80 = fma(x, b0, c80); c81 = fma(x, b1, c81); c80, c81 = hold(c80, c81)
        x = broadcast(a, a9 + step)
        c90 = fma(x, b0, c90); c91 = fma(x, b1, c91); c90, c91 = hold(c90, c91)
        x = broadcast(a, a10 + step)
        ca0 = fma(x, b0, ca0); ca1 = fma(x, b1, ca1); ca0, ca1 = hold(ca0, ca1)
        x = broadcast(a, a11 + step)
        cb0 = fma(x, b0, cb0); cb1 = fma(x, b1, cb1); cb0, cb1 = hold(cb0, cb1)
        b_at += b_step
    _store_row(out, out_rows[0], lanes, c00, c01, accumulate)
    _store_row(out, out_rows[1], lanes, c10, c11, accumulate)
    _store_row(out, out_rows[2], lanes, c20, c21, accumulate)
    _store_row(out, out_rows[3], lanes, c30, c31, accumulate)
    _store_row(out, out_rows[4], lanes, c40, c41, accumulate)
    _store_row(out, out_rows[5], lanes, c50, c51, accumulate)
    _store_row(out, out_rows[6], lanes, c60, c61, accumulate)
    _store_row(out, out_rows[7], lanes, c70, c71, accumulate)
    _store_row(out, out_rows[8], lanes, c80, c81, accumulate)
    _store_row(out, out_rows[9], lanes, c90, c91, accumulate)
    _store_row(out, out_rows[10], lanes, ca0, ca1, accumulate)
    _store_row(out, out_rows[11], lanes, cb0, cb1, accumulate)


@njit(fastmath=True, cache=True, inline="always")
def _six_rows(a, a0, a1, a2, a3, a4, a5, a_offsets, b, b_at, b_step, depth, out, o0, o1, o2, o3,
              o4, o5, accumulate):
    """Half of ``micro_kernel``'s tile (rows a0..a5 into o0..o5): 12 accumulators, 2 B vectors and
    the broadcast A value, 15 of AVX2's 16 registers."""
    lanes = lanes_of(out)
    c00 = zeros_like(out); c01 = zeros_like(out); c10 = zeros_like(out); c11 = zeros_like(out)
    c20 = zeros_like(out); c21 = zeros_like(out); c30 = zeros_like(out); c31 = zeros_like(out)
    c40 = zeros_like(out); c41 = zeros_like(out); c50 = zeros_like(out); c51 = zeros_like(out)
    for k in range(depth):
        barrier()
        step = a_offsets[k]
        b0 = load(b, b_at)
        b1 = load(b, b_at + lanes)
        x = broadcast(a, a0 + step)
        c00 = fma(x, b0, c00); c01 = fma(x, b1, c01)
        x = broadcast(a, a1 + step)
        c10 = fma(x, b0, c10); c11 = fma(x, b1, c11)
        x = broadcast(a, a2 + step)
        c20 = fma(x, b0, c20); c21 = fma(x, b1, c21)
        x = broadcast(a, a3 + step)
        c30 = fma(x, b0, c30); c31 = fma(x, b1, c31)
        x = broadcast(a, a4 + step)
        c40 = fma(x, b0, c40); c41 = fma(x, b1, c41)
        x = broadcast(a, a5 + step)
        c50 = fma(x, b0, c50); c51 = fma(x, b1, c51)
        b_at += b_step
    _store_row(out, o0, lanes, c00, c01, accumulate)
    _store_row(out, o1, lanes, c10, c11, accumulate)
    _store_row(out, o2, lanes, c20, c21, accumulate)
    _store_row(out, o3, lanes, c30, c31, accumulate)
    _store_row(out, o4, lanes, c40, c41, accumulate)
    _store_row(out, o5, lanes, c50, c51, accumulate)


@njit(cache=True)
def matrix_rows(start, stride):
    """out_rows of a tile whose first row starts at ``start`` in a matrix with that row stride."""
    return (start, start + stride, start + 2 * stride, start + 3 * stride, start + 4 * stride,
            start + 5 * stride, start + 6 * stride, start + 7 * stride, start + 8 * stride,
            start + 9 * stride, start + 10 * stride, start + 11 * stride)


@njit(cache=True)
def shifted_rows(offsets, first, shift):
    """(offsets[first + r] + shift for r < 12), rows past the end repeating the last one (a partial
    tile never writes them; reading them must stay in bounds)."""
    last = offsets.size - 1
    return (offsets[first] + shift, offsets[min(first + 1, last)] + shift,
            offsets[min(first + 2, last)] + shift, offsets[min(first + 3, last)] + shift,
            offsets[min(first + 4, last)] + shift, offsets[min(first + 5, last)] + shift,
            offsets[min(first + 6, last)] + shift, offsets[min(first + 7, last)] + shift,
            offsets[min(first + 8, last)] + shift, offsets[min(first + 9, last)] + shift,
            offsets[min(first + 10, last)] + shift, offsets[min(first + 11, last)] + shift)


@njit(cache=True)
def strided_rows(start, stride, valid):
    """a_rows of 12 rows ``stride`` apart from ``start``, read in place; rows past the first
    ``valid`` repeat the last valid one (a partial tile never uses them; reading them stays in
    bounds)."""
    last = start + (min(valid, MR) - 1) * stride
    return (start, min(start + stride, last), min(start + 2 * stride, last),
            min(start + 3 * stride, last), min(start + 4 * stride, last),
            min(start + 5 * stride, last), min(start + 6 * stride, last),
            min(start + 7 * stride, last), min(start + 8 * stride, last),
            min(start + 9 * stride, last), min(start + 10 * stride, last),
            min(start + 11 * stride, last))


@njit(cache=True)
def sliver_rows(start):
    """a_rows of a packed A sliver that starts at ``start``."""
    return (start, start + 1, start + 2, start + 3, start + 4, start + 5, start + 6, start + 7,
            start + 8, start + 9, start + 10, start + 11)


@njit(fastmath=True, cache=True)
def tile(a, a_rows, a_offsets, b, b_at, b_step, depth, out, out_rows, valid_rows, valid_cols,
         accumulate, scratch):
    """``micro_kernel`` for a tile of which only valid_rows x valid_cols lie inside the output: a
    partial tile is computed into ``scratch`` (MR x NR elements) and only its valid part written."""
    width = 2 * lanes_of(out)
    if valid_rows >= MR and valid_cols >= width:
        micro_kernel(a, a_rows, a_offsets, b, b_at, b_step, depth, out, out_rows, accumulate)
        return
    micro_kernel(a, a_rows, a_offsets, b, b_at, b_step, depth, scratch, matrix_rows(0, width),
                 False)
    for r in range(min(MR, valid_rows)):
        at = out_rows[r]
        for c in range(min(width, valid_cols)):
            if accumulate:
                out[at + c] += scratch[r * width + c]
            else:
                out[at + c] = scratch[r * width + c]


@njit(cache=True)
def sliver_steps(depth, width):
    """a_offsets of a packed sliver: k * width for k < depth (width MR)."""
    return np.arange(depth) * width


@njit(cache=True)
def pack_a(a, offset, row_stride, col_stride, rows, k0, depth, first_sliver, stop_sliver, packed):
    """packed[ib][k][r] = a[offset + (ib*MR + r) row_stride + (k0 + k) col_stride] (0 past ``rows``)
    for the slivers ib in [first_sliver, stop_sliver); written in order, read as MR row streams."""
    for ib in range(first_sliver, stop_sliver):
        base = ib * depth * MR
        valid = min(MR, rows - ib * MR)
        source = offset + ib * MR * row_stride + k0 * col_stride
        if valid == MR:
            for k in range(depth):
                at = source + k * col_stride
                target = base + k * MR
                for r in range(MR):   # unsigned indices: no negative-index wrap check
                    packed[np.uint64(target + r)] = a[np.uint64(at + r * row_stride)]
        else:
            for k in range(depth):
                at = source + k * col_stride
                target = base + k * MR
                for r in range(MR):
                    packed[target + r] = a[at + r * row_stride] if r < valid else 0.0


@njit(cache=True)
def pack_b(b, offset, row_stride, col_stride, cols, k0, depth, first_sliver, stop_sliver, packed):
    """packed[jb][k][j] = b[offset + (k0 + k) row_stride + (jb*NR + j) col_stride] (0 past
    ``cols``) for the slivers jb in [first_sliver, stop_sliver). Row k of B is read once, across
    all slivers (k outer): walking one sliver down all rows instead reads B in 128-byte pieces
    2 KB apart, which the prefetchers miss (3x slower at 512 x 256)."""
    lanes = lanes_of(packed)
    width = 2 * lanes
    for k in range(depth):
        row = offset + (k0 + k) * row_stride
        for jb in range(first_sliver, stop_sliver):
            source = row + jb * width * col_stride
            target = (jb * depth + k) * width
            valid = min(width, cols - jb * width)
            if col_stride == 1 and valid == width:   # two vector copies (an indexed loop is scalar)
                store(packed, target, load(b, source))
                store(packed, target + lanes, load(b, source + lanes))
            else:
                for j in range(valid):
                    packed[np.uint64(target + j)] = b[np.uint64(source + j * col_stride)]
                for j in range(valid, width):
                    packed[target + j] = 0.0


@njit(cache=True)
def pack_b_transposed(b, offset, col_stride, cols, k0, depth, first_sliver, stop_sliver, packed):
    """``pack_b`` for a B whose columns are contiguous (row stride 1: B^T stored row-major, like the
    weight gradient's g^T): blocks of L columns x L depth steps are transposed in registers
    (``simd_masks.transpose_block``), the rest (depth % L steps, partial slivers) copied one by one.
    Used with AVX-512 only: 7744 elements per image (64 channels x 121 pixels) took 0.2-0.4 of
    the weight gradient's 3.1-3.4 ms as scalar copies; transposed, the weight gradient of
    x (64, 32, 13, 13), g (64, 64, 11, 11) went 2.26 -> 2.05 ms (Intel Xeon, Sapphire Rapids
    class, 1 thread, interleaved medians)."""
    lanes = lanes_of(packed)
    width = 2 * lanes
    whole = depth - depth % lanes
    for jb in range(first_sliver, stop_sliver):
        valid = min(width, cols - jb * width)
        source = offset + k0 + jb * width * col_stride
        target = jb * depth * width
        if valid == width:
            for k in range(0, whole, lanes):
                for j in range(0, width, lanes):
                    transpose_block(b, source + j * col_stride + k, col_stride, packed,
                                    target + k * width + j, width)
        for k in range(whole if valid == width else 0, depth):
            for j in range(valid):
                packed[np.uint64(target + k * width + j)] = b[np.uint64(source + j * col_stride
                                                                        + k)]
            for j in range(valid, width):
                packed[target + k * width + j] = 0.0


@njit(cache=True)
def packed_size(count, multiple, depth):
    """Elements of a packed panel: ``count`` rows/columns rounded up to ``multiple``, times depth."""
    return -(-count // multiple) * multiple * depth


def scratch_for(dtype):
    return np.empty(MR * 2 * lanes(dtype), dtype=dtype)
