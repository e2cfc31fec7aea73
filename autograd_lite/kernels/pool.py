"""Pooling kernels (NCHW): max pooling with argmax routing, average pooling, and their adjoints.

Every (n, c) plane is independent: each kernel runs the planes first <= plane < last, and
``threads.parallel_for`` splits the planes across our threads (with one thread or below
``threads.PARALLEL_MIN_SIZE`` elements it runs them all on the calling thread); within a plane the
loops below are direct (no window view, no temporaries). Padding is implicit: cells outside the
input are -inf for the maximum and 0 for the mean (counted in the divisor kH kW, like PyTorch's
``count_include_pad=True``).

    max forward:   for each window (i, j):  scan cells (a, b) in row-major order, keep the first
                   maximum (NaN wins, as in np.argmax); out = its value, argmax = r W + s
                   (int32; kernel 2 stride 2 without padding has its own kernel, in explicit
                   vectors: ``simd``, ``simd_masks``)
    max backward:  grad_x.plane[argmax[i, j]] += grad[i, j]          (scatter-add)
    max backward,  grad_x.plane[argmax[i, j]] += grad[i, j] where mask.plane[argmax[i, j]]
      masked:      (a ReLU's mask, folded in: ``ops.MaxPool2d.backward_absorbing``)
    max gather:    out[i, j] = values.plane[argmax[i, j]]            (adjoint of the scatter)
    avg forward:   out[i, j] = sum of the window's real cells / (kH kW)
    avg backward:  each real cell of window (i, j) += grad[i, j] / (kH kW)

NumPy references: ``reference.max_pool2d_forward`` and friends.
"""
from __future__ import annotations

import numpy as np
from . import threads
from .cache import njit
from .simd import add, lanes_of, store
from .simd_masks import arange, load_even, load_odd, replaces, select

_NAN_SAFE = {"nsz", "arcp", "contract", "afn", "reassoc"}  # fastmath, but NaN/inf kept


@njit(cache=True, fastmath=_NAN_SAFE)
def _wins(value, best):
    """value replaces best: larger, or the first NaN (np.argmax's rule; PyTorch propagates NaN too)."""
    return (value > best) | ((value != value) & (best == best))  # bitwise: no branches


@njit(nogil=True, cache=True, fastmath=_NAN_SAFE)
def _max_forward_planes(x, out, argmax, planes, height, width, kernel_h, kernel_w, stride_h,
                        stride_w, pad_h, pad_w, out_h, out_w, first, last):
    """Windows clipped to the real cells: a padding cell (-inf) can only win when every real cell is
    -inf, and the reference then moves its argmax onto the first real cell, which wins here.
    Branch-free: the winner's index moves by arithmetic on ``_wins`` (0 or 1) and its value is
    read back (with ``if``/``else`` LLVM emits branches, which random data mispredicts half the
    time: 6x slower)."""
    for plane in range(first, last):
        base, out_base = plane * height * width, plane * out_h * out_w
        for i in range(out_h):
            r0 = max(i * stride_h - pad_h, 0)
            r1 = min(i * stride_h - pad_h + kernel_h, height)
            for j in range(out_w):
                s0 = max(j * stride_w - pad_w, 0)
                s1 = min(j * stride_w - pad_w + kernel_w, width)
                best_at = r0 * width + s0
                best = x[base + best_at]
                for r in range(r0, r1):
                    for s in range(s0, s1):
                        at = r * width + s
                        best_at += np.int64(_wins(x[base + at], best)) * (at - best_at)
                        best = x[base + best_at]
                out[out_base + i * out_w + j] = best
                argmax[out_base + i * out_w + j] = best_at


@njit(nogil=True, cache=True, fastmath=_NAN_SAFE)
def _max_forward_2x2_planes(x, out, argmax, planes, height, width, out_h, out_w, first, last):
    """The common case kernel 2, stride 2, no padding, in explicit vectors: ``lanes`` windows of
    one output row at a time, their cells split by deinterleaving loads of the two input rows.

        for each plane, for each output row i, for j = 0, lanes, 2 lanes, ... < out_w:
            a, b = x[2i, 2j + 2k], x[2i, 2j + 2k + 1]          for k < lanes (even / odd cells)
            c, d = x[2i + 1, 2j + 2k], x[2i + 1, 2j + 2k + 1]
            right_above, right_below = replaces(b, a), replaces(d, c)
            upper, lower = (b if right_above else a), (d if right_below else c)   (selects)
            down = replaces(lower, upper)
            out[i, j + k] = lower if down else upper
            argmax[i, j + k] = (2i) W + 2(j + k) + (W + right_below if down else right_above)

    ``replaces`` is ``_wins`` on vectors, so out and argmax equal the scalar tournament (the
    windows done one at a time below, branch-free as in ``_max_forward_planes``) bit for bit.
    Rows are short (out_w = 13 or 5 in the course CNN), so a row's last vector runs past its end:
    its extra lanes read the next input cells (any value) and are stored over the next output
    cells, which the next row's vectors write again later. Only where that would store past this
    call's last plane (another thread's outputs) or read past the end of x do the remaining
    windows go one at a time. (LLVM's loop vectoriser left the scalar loop alone: rows too short,
    and the winners read back by index.)"""
    lanes = lanes_of(x)
    end = last * out_h * out_w  # this call's outputs end here
    zero, one = arange(0, 0, x), arange(1, 0, x)
    below, below_right = arange(width, 0, x), arange(width + 1, 0, x)
    for plane in range(first, last):
        base, out_base = plane * height * width, plane * out_h * out_w
        for i in range(out_h):
            top = 2 * i * width
            row = out_base + i * out_w
            j = 0
            while (j < out_w and row + j + lanes <= end
                   and base + top + width + 2 * (j + lanes) <= x.size):
                at = top + 2 * j
                a, b = load_even(x, base + at), load_odd(x, base + at)
                c, d = load_even(x, base + at + width), load_odd(x, base + at + width)
                right_above, right_below = replaces(b, a), replaces(d, c)
                upper, lower = select(right_above, b, a), select(right_below, d, c)
                down = replaces(lower, upper)
                store(out, row + j, select(down, lower, upper))
                step = select(down, select(right_below, below_right, below),
                              select(right_above, one, zero))
                store(argmax, row + j, add(arange(at, 2, x), step))
                j += lanes
            for tail in range(j, out_w):  # one window at a time, unsigned: no wrap checks
                at = top + 2 * tail
                a, b = x[np.uint64(base + at)], x[np.uint64(base + at + 1)]
                c, d = x[np.uint64(base + at + width)], x[np.uint64(base + at + width + 1)]
                upper_at = at + np.int64(_wins(b, a))
                lower_at = at + width + np.int64(_wins(d, c))
                upper, lower = x[np.uint64(base + upper_at)], x[np.uint64(base + lower_at)]
                best_at = upper_at + np.int64(_wins(lower, upper)) * (lower_at - upper_at)
                out[np.uint64(row + tail)] = x[np.uint64(base + best_at)]
                argmax[np.uint64(row + tail)] = best_at


@njit(nogil=True, cache=True)
def _max_backward_planes(grad, argmax, out, planes, plane_size, out_plane_size, first, last):
    """Zero the plane (a memset), then scatter-add; unsigned indices skip the wrap checks."""
    for plane in range(first, last):
        base, grad_base = plane * plane_size, plane * out_plane_size
        out[base:base + plane_size] = 0.0
        for q in range(out_plane_size):
            out[np.uint64(base + argmax[np.uint64(grad_base + q)])] += grad[np.uint64(grad_base + q)]


@njit(nogil=True, cache=True)
def _max_backward_planes_masked(grad, argmax, mask, out, planes, plane_size, out_plane_size, first,
                                last):
    """``_max_backward_planes`` adding only where ``mask`` (of out's shape) holds: the same bits
    as the scatter followed by ``mask_select`` (+0.0 elsewhere: a position is either always or
    never let through, and +0.0 + 0.0 is +0.0), in one pass over out. A select, not a branch:
    in a trained CNN the mask at the winners follows no pattern a branch predictor learns (with
    ``if``, the course CNN's second pooling took 360 us a step against 120)."""
    for plane in range(first, last):
        base, grad_base = plane * plane_size, plane * out_plane_size
        out[base:base + plane_size] = 0.0
        for q in range(out_plane_size):
            at = np.uint64(base + argmax[np.uint64(grad_base + q)])
            value = grad[np.uint64(grad_base + q)]
            out[at] += value if mask[at] else 0.0


@njit(nogil=True, cache=True)
def _max_gather_planes(values, argmax, out, planes, plane_size, out_plane_size, first, last):
    for plane in range(first, last):
        base, out_base = plane * plane_size, plane * out_plane_size
        for q in range(out_plane_size):
            out[out_base + q] = values[base + argmax[out_base + q]]


@njit(nogil=True, cache=True)
def _avg_forward_planes(x, out, planes, height, width, kernel_h, kernel_w, stride_h, stride_w,
                        pad_h, pad_w, out_h, out_w, first, last):
    scale = 1.0 / (kernel_h * kernel_w)
    for plane in range(first, last):
        base, out_base = plane * height * width, plane * out_h * out_w
        for i in range(out_h):
            r0, r1 = max(i * stride_h - pad_h, 0), min(i * stride_h - pad_h + kernel_h, height)
            for j in range(out_w):
                s0, s1 = max(j * stride_w - pad_w, 0), min(j * stride_w - pad_w + kernel_w, width)
                total = 0.0
                for r in range(r0, r1):
                    for s in range(s0, s1):
                        total += x[base + r * width + s]
                out[out_base + i * out_w + j] = total * scale


@njit(nogil=True, cache=True)
def _avg_backward_planes(grad, out, planes, height, width, kernel_h, kernel_w, stride_h, stride_w,
                         pad_h, pad_w, out_h, out_w, first, last):
    scale = 1.0 / (kernel_h * kernel_w)
    for plane in range(first, last):
        base, grad_base = plane * height * width, plane * out_h * out_w
        for q in range(height * width):
            out[base + q] = 0.0
        for i in range(out_h):
            r0, r1 = max(i * stride_h - pad_h, 0), min(i * stride_h - pad_h + kernel_h, height)
            for j in range(out_w):
                s0, s1 = max(j * stride_w - pad_w, 0), min(j * stride_w - pad_w + kernel_w, width)
                share = grad[grad_base + i * out_w + j] * scale
                for r in range(r0, r1):
                    for s in range(s0, s1):
                        out[base + r * width + s] += share


def _geometry(shape, kernel, stride, padding):
    n, c, height, width = shape
    out_h = (height + 2 * padding[0] - kernel[0]) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel[1]) // stride[1] + 1
    return n * c, height, width, out_h, out_w


def _run(planes_kernel, size, planes, *args):
    """``planes_kernel(*args, first, last)`` over ``range(planes)`` split across our threads, or
    on the calling thread when ``threads.serial(size)`` says so (``size``: the larger of input and
    output)."""
    threads.parallel_for(planes_kernel, planes, *args, serial=threads.serial(size))


# ----------------------------------------------------------------------------- array API
def max_pool2d_forward(x, kernel, stride, padding):
    """(out, argmax) like ``reference.max_pool2d_forward``."""
    x = np.ascontiguousarray(x)
    planes, height, width, out_h, out_w = _geometry(x.shape, kernel, stride, padding)
    out = np.empty(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.int32)  # index within a plane (the reference: int64)
    if kernel == (2, 2) and stride == (2, 2) and padding == (0, 0):
        _run(_max_forward_2x2_planes, x.size, planes, x.reshape(-1),
             out.reshape(-1), argmax.reshape(-1), planes, height, width, out_h, out_w)
    else:
        _run(_max_forward_planes, x.size, planes, x.reshape(-1), out.reshape(-1),
             argmax.reshape(-1), planes, height, width, *kernel, *stride, *padding, out_h, out_w)
    return out, argmax


def max_pool2d_backward(grad, argmax, input_shape):
    """Scatter-add of grad at argmax into zeros(input_shape)."""
    grad = np.ascontiguousarray(grad)
    out = np.empty(input_shape, dtype=grad.dtype)
    planes = input_shape[0] * input_shape[1]
    _run(_max_backward_planes, out.size, planes, grad.reshape(-1),
         np.ascontiguousarray(argmax).reshape(-1), out.reshape(-1), planes,
         input_shape[2] * input_shape[3], grad.shape[2] * grad.shape[3])
    return out


def max_pool2d_backward_masked(grad, argmax, input_shape, mask):
    """``max_pool2d_backward`` where ``mask`` (bool, C-contiguous, of ``input_shape``) holds, else 0."""
    grad = np.ascontiguousarray(grad)
    out = np.empty(input_shape, dtype=grad.dtype)
    planes = input_shape[0] * input_shape[1]
    _run(_max_backward_planes_masked, out.size, planes, grad.reshape(-1),
         np.ascontiguousarray(argmax).reshape(-1), mask.reshape(-1), out.reshape(-1), planes,
         input_shape[2] * input_shape[3], grad.shape[2] * grad.shape[3])
    return out


def max_pool2d_gather(values, argmax):
    """values.plane[argmax] for every output cell."""
    values = np.ascontiguousarray(values)
    out = np.empty(argmax.shape, dtype=values.dtype)
    planes = argmax.shape[0] * argmax.shape[1]
    _run(_max_gather_planes, values.size, planes, values.reshape(-1),
         np.ascontiguousarray(argmax).reshape(-1), out.reshape(-1), planes,
         values.shape[2] * values.shape[3], argmax.shape[2] * argmax.shape[3])
    return out


def avg_pool2d_forward(x, kernel, stride, padding):
    x = np.ascontiguousarray(x)
    planes, height, width, out_h, out_w = _geometry(x.shape, kernel, stride, padding)
    out = np.empty(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    _run(_avg_forward_planes, max(x.size, out.size), planes, x.reshape(-1),
         out.reshape(-1), planes, height, width, *kernel, *stride, *padding, out_h, out_w)
    return out


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding):
    grad = np.ascontiguousarray(grad)
    planes, height, width, out_h, out_w = _geometry(input_shape, kernel, stride, padding)
    out = np.empty(input_shape, dtype=grad.dtype)
    _run(_avg_backward_planes, max(grad.size, out.size), planes, grad.reshape(-1),
         out.reshape(-1), planes, height, width, *kernel, *stride, *padding, out_h, out_w)
    return out

