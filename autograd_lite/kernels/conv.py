"""Convolution kernels (NCHW): implicit GEMM on ``gemm``'s micro-kernel, split by images across
our threads (``threads.parallel_for``). The images are cut into ``workers`` pieces
(``threads.pieces_for``: one per thread, or up to 4 per thread when the work allows and, for the
weight gradients, their per-piece partial sums fit ``threads.PIECE_BUFFER_BYTES`` together), which
the threads claim as they come free; the kernels' ``worker`` is a piece, with its own buffers, so
nothing races and no result depends on the thread that ran a piece.

With K = C kH kW, P = OH OW and cols_n (K x P) the im2col matrix of image n,
cols_n[(c, a, b), p] = x_pad[n, c, i sH + a, j sW + b] for the pixel p = (i, j):

    forward        out_n^T (P x C_out) = cols_n^T (P x K) @ W^T (K x C_out)   (+ bias)
    weight grad    dW^T    (K x C_out) = sum_n cols_n (K x P) @ g_n^T (P x C_out)
    input grad     dcols   (K x P)     = W^T (K x C_out) @ g_n (C_out x P);  dx_n = col2im(dcols)

cols_n is never built: its element is x_pad_flat[offset(c, a, b) + position(p)] with
offset(c, a, b) = c Hp Wp + a Wp + b and position(i, j) = i sH Wp + j sW (``shift_offsets``,
``pixel_positions``), which is exactly how the micro-kernel addresses A (MR = 12 row starts plus one
offset per depth step). So the forward reads 12 pixels' rows in place (A) against the packed filter
(B) and the weight gradient reads 12 (c, a, b) rows in place against packed g^T. The input gradient
(``conv_input``) is one GEMM per filter tap, g^T @ W[:, :, a, b], whose tile rows are added straight
into a pixel-major padded image (col2im fused; any stride); inputs with few channels (C <= NR/4)
take ``conv_input_cols`` instead. Per piece, for each of its images n:

    forward:      x_pad = pad(x[n]);  stage (P x C_out) = cols^T @ Wp;  out[n] = stage^T + bias
                  (the transpose in L x L blocks, in registers)
    weight grad:  x_pad = pad(x[n]);  partial_dW^T += cols @ pack(g[n]^T)   (summed over pieces)
    input grad:   acc = 0;  acc[(i sH + a, j sW + b)] += g[n][:, (i, j)]^T @ W_ab;  dx[n] = crop(acc^T)

Shallow filters (K <= 27: first layers on grey or RGB images) go forward through ``conv_shallow``
(vectors of output pixels, the input read in place; tiles for rows narrower than a vector) and
back to the weights through ``conv_weight_shallow`` (dot products along the pixels, g read in
place). NumPy references: ``reference.conv2d_forward``, ``conv2d_weight_grad``,
``conv2d_input_grad``.

The weight gradient can also sum g for the bias gradient (``with_bias``; ``Conv2d.backward_plain``
asks for it): each image's g rows are summed as the kernel first reads them, instead of in a pass
of their own over the whole of g (``conv2d_bias_grad``). Intel Xeon (family 6 model 167, AVX-512),
course CNN training step at batch 64, in-process interleaved medians, separate -> fused: 7.55 ->
7.15 ms and 7.66 -> 7.23 at 2 threads, 9.21 -> 9.02 at 1 thread.

With AVX-512 (``not simd.SPLIT_TILE``) the weight gradient packs g^T with in-register transposes
(``gemm.pack_b_transposed``) and calls the inlined micro-kernel for whole tiles. Intel Xeon
(Sapphire Rapids class, AVX-512), 1 thread, x (64, 32, 13, 13) * w (64, 32, 3, 3), interleaved
medians against the kernels before this work (whose micro-kernel spilled: see ``gemm``):
forward 4.66 -> 3.35 ms, input gradient 4.80 -> 3.34, weight gradient (+ bias) 4.99 -> 3.35
after the micro-kernel fix alone, and 3.49 -> 2.9 more for the weight gradient's own changes
(``_weight_grad``, ``gemm.pack_b_transposed``).
``benchmarks/bench_conv.py --per-kernel --threads 1``, ratios to PyTorch, two runs each, before ->
after: forward 1.55, 1.36 -> 1.07, 0.95; input
gradient 1.47, 2.60 -> 0.95, 0.87; weight + bias gradient 1.48, 1.43 -> 0.91, 0.80 (PyTorch's
own forward time moves between 2.4 and 5 ms from run to run on this VM). Transposing each
forward tile into a channel-major stage with ``simd_masks.transpose_block`` instead of a scalar
loop made no difference (1.05 of the time, within the noise); the forward now writes its tiles
pixel-major and transposes whole images in blocks instead (see ``_forward``).
"""
from __future__ import annotations

import numpy as np

from . import launch_groups, threads
from .cache import njit
from .conv_input import input_grad
from .conv_input_cols import input_grad as input_grad_cols
from .conv_shallow import SHALLOW_MAX_DEPTH, forward as shallow_forward
from .conv_weight_shallow import (bias_total, row_sum, sums_size as shallow_sums_size,
                                  weight_grad as shallow_weight_grad)
from .gemm import (KC, MR, matrix_rows, micro_kernel, pack_b, pack_b_transposed, packed_size,
                   panel_depth, shifted_rows, tile)
from .im2col import pad_into, pixel_positions, shift_offsets
from .simd import SPLIT_TILE, lanes, lanes_of, load, vector_lanes, zeros_like
from .simd_masks import transpose_add_block


BLOCK = 6   # forward tiles (of MR pixels) per pass over a filter panel: 7-10% faster than 1
FORWARD_KC = 576 if SPLIT_TILE else KC
# the forward's deepest filter panel. AVX2 (NR = 16): a 288-deep filter in one panel, not two
# (each tile then skips a pass that adds its second half into its output rows): 7% faster (Zen 3,
# 1 thread, K = 288); at K = 576, panels of 576, 288, 192 within 3%. AVX-512 (NR = 32, slivers
# twice as wide): a 288-deep sliver is 36 KB, with the tiles' input rows more than the 48 KB L1
# holds; two panels of 144 are 0.93 of its time (Intel Xeon, Sapphire Rapids class, 1 thread,
# K = 288, in-process interleaved medians)
ALIASING_ROW_BYTES = 2048  # g rows this many bytes apart (or a multiple) are spread for the
#                            weight gradient's gather (AVX2 only: see conv2d_weight_grad)


@njit(nogil=True, cache=True)
def _pad_images(x, channels, height, width, pad_h, pad_w, padded, first, last):
    """padded[n] = x[n] with a zero border of pad_h rows and pad_w columns, for first <= n < last."""
    size = channels * (height + 2 * pad_h) * (width + 2 * pad_w)
    for n in range(first, last):
        image = padded[n * size:(n + 1) * size]
        image[:] = 0.0
        pad_into(x, n * channels * height * width, channels, height, width, pad_h, pad_w, image)


@njit(nogil=True, fastmath=True, cache=True)
def _forward(x, packed_wt, bias, has_bias, out, images, channels, height, width, out_channels,
             kernel_h, kernel_w, stride_h, stride_w, out_h, out_w, panel, workers, first, last):
    """out[n, :, p] = W cols_n[:, p] + bias for the pixels of workers first <= worker < last (the
    images cut into ``workers`` parts), MR at a time (a tile may hold the last pixels of one image
    and the first of the next: no partial tiles but the last), BLOCK tiles per pass over the packed
    filter. x is the padded batch (height and width include the padding). Each MR x NR tile goes
    over all depth panels straight into its pixels' rows of ``stage``: image n pixel-major
    (P x C', C_out rounded up to NR) in area n % ring (rows past the last pixel: a junk row).
    Once an image's last pixel is done, its area is transposed into out[n] (C_out x P) with the
    bias added, L x L blocks at a time in registers (``transpose_add_block``; where P or C_out is
    not a multiple of L, the last block of a row or column starts L before its end and rewrites
    a few of the previous block's elements with the same values; images of fewer than L pixels
    or filters fewer than L go one by one):

        for each block of BLOCK tiles, each NR sliver jb of C_out, each depth panel, each tile:
            stage[row(n_r, p_r), jb NR : (jb + 1) NR] (+)= cols[:, p_r]^T @ Wp[panel, jb]
        for each image n whose last pixel is done:
            out[n, c, p] = stage[row(n, p), c] + bias[c]

    Stored straight into out, a tile's NR runs of MR pixels, NR rows apart, each missed the cache
    (out is larger than L2 and the prefetchers do not follow that pattern): 14% of the forward's
    time (Zen 3, one thread, x (64, 32, 13, 13) * w (64, 32, 3, 3): 0.89 -> 0.77 of PyTorch's);
    the stage stays in L2. Before this, each tile went through a scratch tile, was stored
    transposed element by element into a channel-major stage, and each image was then copied to
    out: those stores and the copy took 12% and 8% of the forward (Intel Xeon, Sapphire Rapids
    class, AVX-512, 1 thread, same shapes, in-process interleaved medians)."""
    lanes = vector_lanes(out)
    nr = 2 * lanes
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    pixels = pixel_positions(out_h, out_w, stride_h, stride_w, width)
    col_slivers = -(-out_channels // nr)
    stage_cols = col_slivers * nr
    area = positions * stage_cols
    image_size = out_channels * positions
    ring = BLOCK * MR // positions + 2   # no block touches two images that share an area
    blocks = positions >= lanes and out_channels >= lanes  # else one by one
    for worker in range(first, last):
        stage = np.empty(ring * area + stage_cols, dtype=out.dtype)  # + the junk row
        reads, writes = np.empty(BLOCK * MR, dtype=np.int64), np.empty(BLOCK * MR, dtype=np.int64)
        done = worker * images // workers
        stop_image = (worker + 1) * images // workers
        start, stop = done * positions, stop_image * positions
        for block in range(start, stop, BLOCK * MR):
            tiles = min(BLOCK, -(-(stop - block) // MR))
            for r in range(tiles * MR):
                pixel = block + r
                n, p = divmod(min(pixel, stop - 1), positions)
                reads[r] = n * channels * plane + pixels[p]
                writes[r] = (n % ring) * area + p * stage_cols if pixel < stop else ring * area
            for jb in range(col_slivers):
                for k0 in range(0, patch, panel):
                    part = min(panel, patch - k0)
                    for t in range(tiles):  # the panel's packed filter stays in L1
                        micro_kernel(x, shifted_rows(reads, t * MR, 0), offsets[k0:k0 + part],
                                     packed_wt, (col_slivers * k0 + jb * part) * nr, nr, part,
                                     stage, shifted_rows(writes, t * MR, jb * nr), k0 > 0)
            while done < stop_image and (done + 1) * positions <= block + tiles * MR:
                source, target = (done % ring) * area, done * image_size
                if blocks:  # the last block of each row / column overlaps the one before
                    for cb in range(-(-out_channels // lanes)):
                        c0 = min(cb * lanes, out_channels - lanes)
                        shift = load(bias, c0) if has_bias else zeros_like(out)
                        for pb in range(-(-positions // lanes)):
                            p0 = min(pb * lanes, positions - lanes)
                            transpose_add_block(stage, source + p0 * stage_cols + c0, stage_cols,
                                                shift, out, target + c0 * positions + p0,
                                                positions)
                else:
                    for c in range(out_channels):
                        shift = bias[c] if has_bias else bias[0]  # bias is [0] without one
                        for p in range(positions):
                            out[target + c * positions + p] = (stage[source + p * stage_cols + c]
                                                               + shift)
                done += 1


@njit(nogil=True, fastmath=True, cache=True)
def _weight_grad(x, grad, grad_row, partial, bias_sums, with_bias, images, channels, height,
                 width, out_channels, kernel_h, kernel_w, stride_h, stride_w, out_h, out_w, panel,
                 workers, first, last):
    """partial[worker] (K x C_out) += cols_n @ g_n^T over the worker's images (x: padded batch), for
    first <= worker < last; g's rows (one per image and channel) start ``grad_row`` elements
    apart (OH OW, or more: see ``conv2d_weight_grad``). ``with_bias``: also bias_sums[worker, o]
    += the sum of row g_n[o] (in float64), which brings g_n into the cache for its packing (the
    bias gradient without a pass of its own over g). With AVX-512, whole tiles call the inlined
    ``micro_kernel`` (not ``tile``, a function call per tile): 10% faster (Intel Xeon, Sapphire
    Rapids class, 1 thread, x (64, 32, 13, 13), g (64, 64, 11, 11): 3.49 -> 3.13 ms,
    interleaved medians). AVX2 keeps ``tile`` (not measured on a Zen 3 this session)."""
    lanes = lanes_of(partial)
    patch, positions, plane = channels * kernel_h * kernel_w, out_h * out_w, height * width
    offsets = shift_offsets(channels, kernel_h, kernel_w, plane, width)
    pixels = pixel_positions(out_h, out_w, stride_h, stride_w, width)
    row_slivers, col_slivers = -(-patch // MR), -(-out_channels // (2 * lanes))
    zero = np.zeros(1, dtype=grad.dtype)[0]
    for worker in range(first, last):
        packed_g = np.empty(packed_size(out_channels, 2 * lanes, panel), dtype=partial.dtype)
        scratch = np.empty(MR * 2 * lanes, dtype=partial.dtype)
        mine = partial[worker]
        for n in range(worker * images // workers, (worker + 1) * images // workers):
            image = n * channels * plane
            if with_bias:
                for o in range(out_channels):
                    bias_sums[worker, o] += row_sum(grad, (n * out_channels + o) * grad_row,
                                                    positions, zero)
            for p0 in range(0, positions, panel):
                part = min(panel, positions - p0)
                if SPLIT_TILE:
                    pack_b(grad, n * out_channels * grad_row, 1, grad_row, out_channels, p0, part,
                           0, col_slivers, packed_g)
                else:
                    pack_b_transposed(grad, n * out_channels * grad_row, grad_row, out_channels,
                                      p0, part, 0, col_slivers, packed_g)
                for jb in range(col_slivers):
                    for ib in range(row_slivers):
                        a_rows = shifted_rows(offsets, ib * MR, image)
                        out_rows = matrix_rows(ib * MR * out_channels + jb * 2 * lanes,
                                               out_channels)
                        if (not SPLIT_TILE and patch - ib * MR >= MR
                                and out_channels - jb * 2 * lanes >= 2 * lanes):
                            micro_kernel(x, a_rows, pixels[p0:p0 + part], packed_g,
                                         jb * part * 2 * lanes, 2 * lanes, part, mine, out_rows,
                                         True)
                        else:
                            tile(x, a_rows, pixels[p0:p0 + part], packed_g,
                                 jb * part * 2 * lanes, 2 * lanes, part, mine, out_rows,
                                 patch - ib * MR, out_channels - jb * 2 * lanes, True, scratch)


@njit(nogil=True, fastmath={"reassoc", "nsz", "contract"}, cache=True)
def _channel_sum_range(grad, out, images, channels, positions, first, last):
    """out[c] = sum over n, p of grad[n, c, p] for first <= c < last: each (n, c) row summed in the
    input's dtype (vector lanes), the rows added in float64. fastmath keeps NaN and inf (no
    ``nnan``/``ninf``)."""
    zero = np.zeros(1, dtype=grad.dtype)[0]
    for c in range(first, last):
        total = 0.0
        for n in range(images):
            total += row_sum(grad, (n * channels + c) * positions, positions, zero)
        out[c] = total


def pack_weight_columns(weight_flat, patch, out_channels, panel):
    """W^T (K x C_out) packed as B: every depth panel of K in NR-wide slivers of C_out, one panel
    after the other (panel k0 starts at slivers NR k0)."""
    width = 2 * lanes(weight_flat.dtype)
    slivers = -(-out_channels // width)
    packed = np.empty(packed_size(out_channels, width, patch), dtype=weight_flat.dtype)
    for k0 in range(0, patch, panel):
        part = min(panel, patch - k0)
        pack_b(weight_flat, 0, 1, patch, out_channels, k0, part, 0, slivers,
               packed[slivers * width * k0:])
    return packed


# ----------------------------------------------------------------------------- array API
def padded_batch(x, padding):
    """(flat padded batch, padded height, padded width); x itself when there is no padding."""
    images, channels, height, width = x.shape
    if tuple(padding) == (0, 0):
        return x.reshape(-1), height, width
    padded_h, padded_w = height + 2 * padding[0], width + 2 * padding[1]
    padded = np.empty(images * channels * padded_h * padded_w, dtype=x.dtype)
    threads.parallel_for(_pad_images, images, x.reshape(-1), channels, height, width, *padding,
                         padded)
    return padded, padded_h, padded_w


def conv2d_forward(x, weight, stride, padding, bias=None):
    """out (N, C_out, OH, OW) = conv(x, weight) (+ bias), the Numba twin of the reference."""
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight, dtype=x.dtype)
    (images, channels, height, width), (out_channels, _, kernel_h, kernel_w) = x.shape, weight.shape
    out_h = (height + 2 * padding[0] - kernel_h) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel_w) // stride[1] + 1
    patch = channels * kernel_h * kernel_w
    out = np.empty((images, out_channels, out_h, out_w), dtype=x.dtype)
    flat, height, width = padded_batch(x, padding)
    workers = threads.pieces_for(images, images * out_channels * patch * out_h * out_w)
    if patch <= SHALLOW_MAX_DEPTH:
        bias = None if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
        return shallow_forward(flat, weight, bias, out, (images, channels, height, width), stride,
                               workers)
    panel = panel_depth(patch, FORWARD_KC)
    packed_wt = pack_weight_columns(weight.reshape(-1), patch, out_channels, panel)
    has_bias = bias is not None
    bias = np.ascontiguousarray(bias, dtype=x.dtype) if has_bias else np.zeros(1, dtype=x.dtype)
    threads.parallel_for(_forward, workers, flat, packed_wt, bias, has_bias, out.reshape(-1),
                         images, channels, height, width, out_channels, kernel_h, kernel_w,
                         *stride, out_h, out_w, panel, workers, pieces=workers)
    return out


def weight_grad_piece_bytes(patch, out_channels, dtype):
    """Bytes of the partial sums each piece of a weight gradient keeps (``partial`` below, or
    ``conv_weight_shallow``'s ``sums``: lanes wide, rounded up to its blocks)."""
    itemsize = np.dtype(dtype).itemsize
    if patch <= SHALLOW_MAX_DEPTH:
        return shallow_sums_size(patch, out_channels, dtype) * itemsize
    return patch * out_channels * itemsize


def conv2d_weight_grad(x, grad, weight_shape, stride, padding, with_bias=False):
    """dW (C_out, C, kH, kW) = sum over images of g_n cols_n^T; ``with_bias``: (dW, db), db the
    bias gradient (``conv2d_bias_grad``) summed by the same launch, as each image's g is read."""
    x, grad = np.ascontiguousarray(x), np.ascontiguousarray(grad, dtype=x.dtype)
    images, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight_shape
    out_h, out_w = grad.shape[2:]
    patch = channels * kernel_h * kernel_w
    workers = threads.pieces_for(images, images * out_channels * patch * out_h * out_w,
                                 buffer_bytes=weight_grad_piece_bytes(patch, out_channels, x.dtype))
    flat, height, width = padded_batch(x, padding)
    if patch <= SHALLOW_MAX_DEPTH:
        return shallow_weight_grad(flat, grad, weight_shape, (images, channels, height, width),
                                   stride, workers, with_bias)
    partial = np.zeros((workers, patch * out_channels), dtype=x.dtype)
    bias_sums = np.zeros((workers, out_channels) if with_bias else (1, 1))
    positions = grad_row = out_h * out_w
    spread = grad.reshape(-1)
    if SPLIT_TILE and positions and (positions * grad.itemsize) % ALIASING_ROW_BYTES == 0:
        # pack_b gathers 2 NR channels at one pixel: rows a multiple of 2 KB apart fall in one or
        # two L1 sets (8 ways) and evict each other (32 x 32 outputs, float32: 4 KB). One line
        # more per row spreads them (the pad is never read): K = 36, 32 channels, 1 thread, Zen 3:
        # 4.35 -> 1.9 ms, against 1.93 ms on 31 x 31 outputs, where rows do not alias.
        # With AVX-512, pack_b_transposed reads each line of g once, whole, and the copy only
        # costs: x (32, C, 32, 32), g (32, 32, 32, 32), padding 1, 1 thread, interleaved (Intel
        # Xeon, Sapphire Rapids class, 48 KB 12-way L1): K = 36 1.29 -> 0.85 ms without it,
        # K = 288 7.3 -> 6.6 (with the scalar pack_b it did not help there either: 2.33 / 2.23).
        grad_row = positions + 64 // grad.itemsize
        launch_groups.written(grad)  # (a pooling's backward may still have to write it)
        spread = np.empty((images * out_channels, grad_row), dtype=grad.dtype)
        spread[:, :positions] = grad.reshape(-1, positions)
        spread = spread.reshape(-1)
    threads.parallel_for(_weight_grad, workers, flat, spread, grad_row, partial, bias_sums,
                         with_bias, images, channels, height, width, out_channels, kernel_h,
                         kernel_w, *stride, out_h, out_w, panel_depth(positions), workers,
                         pieces=workers)
    total = partial[0] if workers == 1 else partial.sum(axis=0)  # dW^T (K x C_out)
    out = np.empty(weight_shape, dtype=x.dtype)  # owns its memory: a leaf keeps it as .grad
    out.reshape(out_channels, patch)[...] = total.reshape(patch, out_channels).T
    return (out, bias_total(bias_sums, x.dtype)) if with_bias else out


def conv2d_bias_grad(grad):
    """db (C_out,) = sum of g (N, C_out, OH, OW) over images and pixels."""
    grad = np.ascontiguousarray(grad)
    images, channels = grad.shape[:2]
    out = np.zeros(channels, dtype=grad.dtype)
    if grad.size:
        args = (grad.reshape(-1), out, images, channels, grad.size // (images * channels))
        threads.parallel_for(_channel_sum_range, channels, *args,
                             serial=threads.serial(grad.size))  # one pass: see ``threads``
    return out


def conv2d_input_grad(grad, weight, input_shape, stride, padding):
    """dx (N, C, H, W) = col2im(W^T g_n) for each image: one GEMM per tap (``conv_input``), or for
    inputs with few channels a GEMM into im2col's matrix and a col2im pass (``conv_input_cols``)."""
    weight = np.ascontiguousarray(weight)
    grad = np.ascontiguousarray(grad, dtype=weight.dtype)
    out_channels, channels = weight.shape[:2]
    nr = 2 * lanes(weight.dtype)
    kernel = input_grad_cols if channels <= nr // 4 else input_grad
    return kernel(grad, weight, tuple(input_shape), tuple(stride), tuple(padding),
                  panel_depth(out_channels),
                  threads.pieces_for(input_shape[0], grad.size * weight[0].size))