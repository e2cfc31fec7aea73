"""Convolution input gradient (any stride and padding): one small GEMM per filter tap, its tiles
added straight into the padded input gradient ("scatter by tap", col2im fused into the GEMM).

For a tap t = (a, b) the weight slice W_t (C_out x C) = W[:, :, a, b] carries output pixel (i, j) back
to the padded input pixel (i sH + a, j sW + b):

    dx_pad[:, i sH + a, j sW + b] += W_t^T @ g[n][:, (i, j)]      for every tap and every pixel

Transposed, this is a GEMM per tap whose rows are output pixels: (g[n]^T @ W_t) (P x C) added, row by
row, into a pixel-major accumulator acc (Hp Wp x C', C rounded up to the micro-kernel's NR columns):

    for each piece, over the pixels of its images, MR = 12 at a time (p_r of image n_r, r < 12;
    BLOCK such tiles share each pass below):
        for each tap (a, b), each depth panel of C_out, each NR-column sliver of C:
            acc_{n_r}[row(p_r) + a Wp + b, sliver] += sum_o g[n_r, o, p_r] W[o, sliver, a, b]
            (a few accumulators in turn; pixels past the last add into a junk area)
        for each image n whose last pixel is done:
            dx[n, c, y, x] = acc_n[(y + pad_h) Wp + x + pad_w, c];  acc_n = 0

g is read in place (row r of A is pixel p_r, depth step o moves by P); W_t is packed per tap. Every
multiply-add is useful: no zero padding of g (the "transposed convolution as a forward convolution"
form wastes the (k-1)-wide border), no whole padded rows, no partial tiles but the last. Rows of
one tile are distinct pixels, so a tile never adds to one accumulator row twice (but in the junk
area). NumPy reference: ``reference.conv2d_input_grad``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .gemm import MR, micro_kernel, pack_b, packed_size, shifted_rows
from .im2col import pixel_positions
from .simd import lanes

BLOCK = 3   # tiles (of MR pixels) that share each tap's packed weights: 10% faster than 1


@njit(nogil=True, fastmath=True, cache=True)
def _input_grad(grad, packed_w, out, images, channels, height, width, out_channels, kernel_h,
                kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w, panel, nr, workers, first,
                last):
    """For workers first <= worker < last (the images cut into ``workers`` parts): blocks of
    ``BLOCK`` tiles of MR consecutive pixels of the worker's images (a tile may end one image and
    start the next, or several small ones): image n accumulates in area n % ring of acc, where
    ring is large enough that no block touches two images sharing an area; one more area takes the
    rows past the last pixel. An image is cropped into ``out`` (and its area cleared) once its last
    pixel is done."""
    padded_h, padded_w = height + 2 * pad_h, width + 2 * pad_w
    positions, plane = out_h * out_w, padded_h * padded_w
    slivers = -(-channels // nr)
    acc_cols = slivers * nr
    area = plane * acc_cols
    ring = BLOCK * MR // positions + 2
    rows = pixel_positions(out_h, out_w, stride_h, stride_w, padded_w)  # pixel (i, j), tap (0, 0)
    steps = np.arange(out_channels) * positions          # depth step o: the next channel of g
    tap_size = slivers * nr * out_channels               # packed elements of one tap
    for worker in range(first, last):
        acc = np.zeros((ring + 1) * area, dtype=out.dtype)
        reads = np.empty(BLOCK * MR, dtype=np.int64)
        writes = np.empty(BLOCK * MR, dtype=np.int64)
        done = worker * images // workers
        stop_image = (worker + 1) * images // workers
        start, stop = done * positions, stop_image * positions
        for block in range(start, stop, BLOCK * MR):
            tiles = min(BLOCK, -(-(stop - block) // MR))
            for r in range(tiles * MR):
                pixel = block + r
                n, p = divmod(min(pixel, stop - 1), positions)
                reads[r] = n * out_channels * positions + p
                writes[r] = (n % ring) * area + rows[p] * acc_cols if pixel < stop else ring * area
            for a in range(kernel_h):
                for b in range(kernel_w):
                    tap = a * kernel_w + b
                    shift = (a * padded_w + b) * acc_cols
                    for k0 in range(0, out_channels, panel):
                        part = min(panel, out_channels - k0)
                        at = tap * tap_size + slivers * nr * k0
                        for jb in range(slivers):
                            for t in range(tiles):  # the tap's packed slivers stay in L1
                                micro_kernel(grad, shifted_rows(reads, t * MR, 0),
                                             steps[k0:k0 + part], packed_w, at + jb * part * nr,
                                             nr, part, acc,
                                             shifted_rows(writes, t * MR, shift + jb * nr), True)
            while done < stop_image and (done + 1) * positions <= block + tiles * MR:
                _crop(acc, (done % ring) * area, acc_cols, out, done * channels * height * width,
                      channels, height, width, pad_h, pad_w)
                acc[(done % ring) * area:(done % ring + 1) * area] = 0.0
                done += 1


@njit(fastmath=True, cache=True)
def _crop(acc, base, acc_cols, out, target, channels, height, width, pad_h, pad_w):
    """out[target + (c, y, x)] = acc[base + ((y + pad_h) Wp + x + pad_w) acc_cols + c], written
    in out's order (scattered writes to a cold output cost 4x more than strided reads of acc)."""
    padded_w = width + 2 * pad_w
    for c in range(channels):
        for y in range(height):
            source = base + ((y + pad_h) * padded_w + pad_w) * acc_cols + c
            row = target + (c * height + y) * width
            for x in range(width):  # unsigned indices: no negative-index wrap check
                out[np.uint64(row + x)] = acc[np.uint64(source + x * acc_cols)]


def pack_taps(weight, panel):
    """Per tap (a, b): W[:, :, a, b] (C_out x C) packed as the micro-kernel's B, every depth panel of
    C_out in NR-wide slivers of C (zero past C), one tap after the other."""
    out_channels, channels, kernel_h, kernel_w = weight.shape
    nr = 2 * lanes(weight.dtype)
    slivers = -(-channels // nr)
    tap_size = packed_size(channels, nr, out_channels)
    by_tap = np.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(kernel_h * kernel_w, -1)
    packed = np.empty(kernel_h * kernel_w * tap_size, dtype=weight.dtype)
    for tap in range(kernel_h * kernel_w):
        for k0 in range(0, out_channels, panel):
            part = min(panel, out_channels - k0)
            pack_b(by_tap[tap], 0, channels, 1, channels, k0, part, 0, slivers,
                   packed[tap * tap_size + slivers * nr * k0:])
    return packed, nr


def input_grad(grad, weight, input_shape, stride, padding, panel, workers):
    """dx (N, C, H, W) for g (N, C_out, OH, OW) and weight (C_out, C, kH, kW)."""
    images, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad.shape[2:]
    packed, nr = pack_taps(weight, panel)
    out = np.empty(input_shape, dtype=weight.dtype)
    threads.parallel_for(_input_grad, workers, grad.reshape(-1), packed, out.reshape(-1), images,
                         channels, height, width, out_channels, kernel_h, kernel_w, *stride,
                         *padding, out_h, out_w, panel, nr, workers, pieces=workers)
    return out
