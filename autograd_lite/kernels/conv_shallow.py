"""Convolution forward for shallow filters (few input channels: K = C kH kW small, like a first
layer on grey images, K = 9): a direct kernel along output rows, and channel-major GEMM tiles where
it does not apply. Used when K <= ``SHALLOW_MAX_DEPTH``. NumPy reference:
``reference.conv2d_forward``.

Direct (``_forward_direct``; output rows at least one vector wide, C_out >= OUT_BLOCK). With K = 9
there is too little arithmetic per output value for a GEMM's packing and tiles to pay: each output
vector of L consecutive pixels of a row is K FMAs of a broadcast weight and a vector of the input
read in place, started from the bias and stored once:

    out[n, o, i, j : j + L] = bias[o] + sum over k = (c, a, b) of
                              weight[o, k] * x_pad[n, c, i sH + a, (j : j + L) sW + b]

With stride sW > 1 along rows, each image is first split into sW phase planes
(phases[c, q, r, u] = x_pad[n, c, r, u sW + q]), in which those pixels are again consecutive:
x_pad[n, c, r, (j + t) sW + b] = phases[c, b % sW, r, j + t + b // sW]. Register block:
OUT_BLOCK = 4 channels x RUNS = 3 output vectors (12 accumulators, 3 input vectors and a weight:
AVX2's 16 registers). Measured on (64, 1, 28, 28) * (32, 1, 3, 3), Zen 3, 1 thread, against
2 channels x 4 vectors: 4 x 3 0.83, 4 x 2 0.94, 6 x 2 0.96, 3 x 3 1.00, 8 x 1 1.11, 3 x 4 1.38,
2 x 6 1.68 (3 x 4 and 2 x 6 need more registers than AVX2 has). Against the tiles (same call,
interleaved medians, Zen 3, float32 unless said): the course CNN's first layer (64, 1, 28, 28) *
(32, 1, 3, 3) 0.24-0.31 of their time at 1 thread (about 0.55 against 1.9 ms), 0.37-0.40 at 2;
float64 0.37; K = 18 with stride 2 and padding 1 0.43-0.63; K = 18 with stride 1 0.27-0.32; the
course CNN's training step 0.90 of its time at 1 thread, 0.93 at 2. With an empty Numba cache its
first call compiles in 2.3 s, the tiles' in 6.4 s (the micro-kernel inlined). (Beyond
K = 18 it also beat the pixel-major forward, 3 x 3 filters, padding 1, 1 thread:
0.41-0.43 at K = 27, 0.59 at K = 36, 0.77 at K = 72.) Its output is written once with ordinary
stores: out (5.5 MB here) fits in L3 and the next layer reads it from there; filling it alone takes
0.12 ms, so streaming stores (which also need aligned vectors, and rows of 26 are not) could save
little.

Tiles (``_forward_tiles``; other shapes). The pixel-major forward in ``conv`` spends, per tile of
MR = 12 pixels, K steps of 24 FMAs and then a transposed store of 12 x NR values: with K = 9 the
store costs more than the arithmetic. Here the tile is 12 output channels x NR consecutive output
pixels, which is a contiguous piece of 12 rows of out[n] (C_out x P), so it is stored as it comes
out of the registers:

    for each piece, for each of its images n, for each block of NR output pixels p0 .. p0 + NR:
        cols (K x NR) = x_pad[n, c, i sH + a, j sW + b] for k = (c, a, b), pixel p = (i, j)
                        (packed run by run along output rows), and a last row of ones
        for each sliver of MR output channels:
            out[n, o, p0 : p0 + NR] = [W | b][o, :] @ [cols; 1]        (o in the sliver)

[W | b] is packed as the micro-kernel's A (MR-row slivers, depth K + 1): the bias is one more
depth step instead of a pass over the output. Each image's cols are packed first, then every
MR-row output sliver is written left to right (MR store streams: tiles that jump between distant
rows wait on cache misses for their stores). Measured on (64, C, 28, 28) * (32, C, 3, 3), 1 and
2 threads: 0.73-0.79 of the pixel-major kernel's time at K = 9, 0.74-0.86 at K = 18, 0.9-1.2 at
K = 27, 1.2-1.5 from K = 54.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .gemm import MR, matrix_rows, pack_a, packed_size, sliver_rows, sliver_steps, tile
from .im2col import shift_offsets
from .simd import broadcast, fma, lanes, lanes_of, load, store, zeros_like

SHALLOW_MAX_DEPTH = 27  # 3 x 3 filters on up to 3 channels (an RGB first layer): both shallow
# kernels beat the general ones there. (64, 3, 32, 32) * (32, 3, 3, 3), padding 1, Zen 3, 1 and 2
# threads: forward 0.42 of the general kernel's time, weight gradient 0.22-0.24 (0.54-0.60 on
# 31 x 31 outputs, where the general kernel's transposes do not alias in L1). Was 18 until session 8.
OUT_BLOCK = 4   # output channels per register block of the direct kernel
RUNS = 3        # output vectors per register block of the direct kernel


@njit(cache=True)
def _vector_starts(out_h, out_w, stride_h, width, lanes):
    """(reads, writes): for each vector of an output plane, where its first pixel's window starts
    in an input plane of rows ``width`` apart (stride 1 along the row) and where the vector goes in
    the output plane. Each output row is covered by vectors at 0, L, 2L, ... and a last one that
    ends at the row's end (it overlaps the one before: a few pixels computed twice instead of a
    tail loop). Padded to a multiple of RUNS with the last vector (computed again, same values)."""
    per_row = -(-out_w // lanes)
    count = out_h * per_row
    total = -(-count // RUNS) * RUNS
    reads, writes = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    for r in range(total):
        i, v = divmod(min(r, count - 1), per_row)
        j = min(v * lanes, out_w - lanes)
        reads[r], writes[r] = i * stride_h * width + j, i * out_w + j
    return reads, writes


@njit(cache=True)
def _phase_offsets(channels, kernel_h, kernel_w, stride_w, height, phase_w):
    """offsets[(c, a, b)] = ((c sW + b % sW) Hp + a) phase_w + b // sW: where tap (c, a, b) starts
    in an image split into sW phase planes of rows phase_w long (for sW = 1, ``shift_offsets``)."""
    offsets = np.empty(channels * kernel_h * kernel_w, dtype=np.int64)
    for c in range(channels):
        for a in range(kernel_h):
            for b in range(kernel_w):
                offsets[(c * kernel_h + a) * kernel_w + b] = (
                    ((c * stride_w + b % stride_w) * height + a) * phase_w + b // stride_w)
    return offsets


@njit(cache=True)
def _split_phases(x, image, channels, height, width, stride_w, phase_w, phases):
    """phases[c, q, r, u] = x[image + (c Hp + r) Wp + u sW + q], 0 past the row's end."""
    for c in range(channels):
        for q in range(stride_w):
            for r in range(height):
                source = image + (c * height + r) * width + q
                target = ((c * stride_w + q) * height + r) * phase_w
                for u in range(phase_w):
                    inside = u * stride_w + q < width
                    phases[target + u] = x[source + u * stride_w] if inside else 0.0


@njit(nogil=True, fastmath=True, cache=True)
def _forward_direct(x, weight, bias, has_bias, out, images, channels, height, width,
                    out_channels, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w, workers,
                    first, last):
    """For the images of workers first <= worker < last (x: the padded batch; weight (C_out x K)
    and bias flat; bias [0] without one), L lanes, P = OH OW:

        for each image n:
            src, at = x, n C Hp Wp              (stride 1 along rows: read in place)
                   or phases of x_pad[n], 0     (``_split_phases``)
            for each block of OUT_BLOCK output channels o0 (the last one moved back to end at
                                                            C_out: it overlaps the one before):
                for each group of RUNS output vectors (reads, writes: ``_vector_starts``):
                    acc[o, r] = [bias[o0 + o]] * L                     (or zeros)
                    for k < K:
                        acc[o, r] += [weight[o0 + o, k]] * load(src, at + reads[r] + offset[k])
                    store(out, n C_out P + (o0 + o) P + writes[r], acc[o, r])

    Each output vector is stored once, as it leaves the registers, OUT_BLOCK rows of out[n] at a
    time left to right; the image (a few KB) stays in L1 across its channel blocks."""
    lanes = lanes_of(out)
    patch, positions = channels * kernel_h * kernel_w, out_h * out_w
    phase_w = -(-width // stride_w)
    offsets = _phase_offsets(channels, kernel_h, kernel_w, stride_w, height, phase_w)
    reads, writes = _vector_starts(out_h, out_w, stride_h, phase_w, lanes)
    image_size = channels * height * width
    for worker in range(first, last):
        phases = np.empty(channels * stride_w * height * phase_w, dtype=x.dtype)
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            source, image = x, n * image_size
            if stride_w > 1:
                _split_phases(x, image, channels, height, width, stride_w, phase_w, phases)
                source, image = phases, 0
            target = n * out_channels * positions
            for block in range(0, out_channels, OUT_BLOCK):
                o = min(block, out_channels - OUT_BLOCK)
                w0, w1, w2, w3 = o * patch, (o + 1) * patch, (o + 2) * patch, (o + 3) * patch
                for r in range(0, reads.size, RUNS):
                    if has_bias:
                        c00 = broadcast(bias, o); c10 = broadcast(bias, o + 1)
                        c20 = broadcast(bias, o + 2); c30 = broadcast(bias, o + 3)
                    else:
                        c00 = zeros_like(out); c10 = c00; c20 = c00; c30 = c00
                    c01 = c00; c02 = c00; c11 = c10; c12 = c10
                    c21 = c20; c22 = c20; c31 = c30; c32 = c30
                    r0, r1, r2 = image + reads[r], image + reads[r + 1], image + reads[r + 2]
                    for k in range(patch):
                        shift = offsets[k]
                        x0 = load(source, r0 + shift)
                        x1 = load(source, r1 + shift)
                        x2 = load(source, r2 + shift)
                        w = broadcast(weight, w0 + k)
                        c00 = fma(w, x0, c00); c01 = fma(w, x1, c01); c02 = fma(w, x2, c02)
                        w = broadcast(weight, w1 + k)
                        c10 = fma(w, x0, c10); c11 = fma(w, x1, c11); c12 = fma(w, x2, c12)
                        w = broadcast(weight, w2 + k)
                        c20 = fma(w, x0, c20); c21 = fma(w, x1, c21); c22 = fma(w, x2, c22)
                        w = broadcast(weight, w3 + k)
                        c30 = fma(w, x0, c30); c31 = fma(w, x1, c31); c32 = fma(w, x2, c32)
                    q0, q1, q2 = writes[r], writes[r + 1], writes[r + 2]
                    at = target + o * positions
                    store(out, at + q0, c00); store(out, at + q1, c01); store(out, at + q2, c02)
                    at += positions
                    store(out, at + q0, c10); store(out, at + q1, c11); store(out, at + q2, c12)
                    at += positions
                    store(out, at + q0, c20); store(out, at + q1, c21); store(out, at + q2, c22)
                    at += positions
                    store(out, at + q0, c30); store(out, at + q1, c31); store(out, at + q2, c32)


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


def forward(flat, weight, bias, out, shape, stride, workers):
    """out (N, C_out, OH, OW) for the padded batch ``flat`` of ``shape`` (N, C, Hp, Wp): the direct
    kernel when output rows hold a vector and there are OUT_BLOCK channels, else the tiles."""
    out_channels, out_w = weight.shape[0], out.shape[3]
    if out_w < lanes(out.dtype) or out_channels < OUT_BLOCK:
        return forward_tiles(flat, weight, bias, out, shape, stride, workers)
    has_bias = bias is not None
    bias = bias if has_bias else np.zeros(1, dtype=out.dtype)
    threads.parallel_for(_forward_direct, workers, flat, weight.reshape(-1), bias, has_bias,
                         out.reshape(-1), *shape, out_channels, *weight.shape[2:], *stride,
                         *out.shape[2:], workers, pieces=workers)
    return out


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
                         out.shape[2], out.shape[3], nr, workers, pieces=workers)
    return out
