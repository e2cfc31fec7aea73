"""Elementwise kernels for the ReLU, the activation every CNN applies to its largest tensors.

NumPy runs these on one thread in several passes (``reference``: a maximum, the -0.0 fix and a
comparison; a product of the gradient's bits by the mask); here one pass, over contiguous ranges
split across our threads (``threads.parallel_for``), or on the calling thread with one thread or
below ``threads.PARALLEL_MIN_SIZE`` elements (``threads.serial``: a launch would buy nothing).
Small tensors stay on NumPy (``kernels.ELEMENTWISE_MIN_SIZE``).

    relu:        for each i:  mask[i] = not (x[i] <= 0);  out[i] = x[i] if x[i] > 0 or x[i] is NaN else 0
    mask_select: for each i:  out[i] = g[i] if mask[i] else 0    (mask_select_in_place: out = g)

The mask follows PyTorch: gradient 0 where x <= 0, passed through elsewhere (NaN included); the
output keeps NaN and turns -0.0 into 0.0. NumPy references: ``reference.relu_forward``,
``reference.mask_select``.
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit

_NAN_SAFE = {"nsz", "arcp", "contract", "afn", "reassoc"}  # fastmath, but NaN/inf kept


@njit(nogil=True, cache=True, fastmath=_NAN_SAFE)
def _relu_range(x, out, mask, start, stop):
    """relu and its mask for the elements start <= i < stop."""
    for i in range(start, stop):
        value = x[np.uint64(i)]
        mask[np.uint64(i)] = not value <= 0
        out[np.uint64(i)] = value if (value > 0) | (value != value) else 0.0


@njit(nogil=True, cache=True, fastmath=_NAN_SAFE)
def _mask_select_range(grad, mask, out, start, stop):
    for i in range(start, stop):
        out[np.uint64(i)] = grad[np.uint64(i)] if mask[np.uint64(i)] else 0.0


def relu_forward(x):
    """(max(x, 0) keeping NaN, the gradient mask not (x <= 0)) for a C-contiguous float array."""
    out, mask = np.empty_like(x), np.empty(x.shape, dtype=np.bool_)
    flat_x, flat_out, flat_mask = x.reshape(-1), out.reshape(-1), mask.reshape(-1)
    threads.parallel_for(_relu_range, x.size, flat_x, flat_out, flat_mask,
                         serial=threads.serial(x.size))
    return out, mask


@njit(nogil=True, cache=True, fastmath=_NAN_SAFE)
def _mask_in_place_range(grad, mask, start, stop):
    """_mask_select_range with out = grad, written for it: the same loop with two names for one
    array is not vectorised (LLVM's runtime alias check fails): 8x slower."""
    for i in range(start, stop):
        grad[np.uint64(i)] = grad[np.uint64(i)] if mask[np.uint64(i)] else 0.0


def mask_select(grad, mask):
    """grad where mask else 0, for C-contiguous arrays of one shape."""
    out = np.empty_like(grad)
    flat_grad, flat_mask, flat_out = grad.reshape(-1), mask.reshape(-1), out.reshape(-1)
    threads.parallel_for(_mask_select_range, grad.size, flat_grad, flat_mask, flat_out,
                         serial=threads.serial(grad.size))
    return out


def mask_select_in_place(grad, mask):
    """grad[...] = grad where mask else 0, for C-contiguous arrays of one shape; returns grad."""
    threads.parallel_for(_mask_in_place_range, grad.size, grad.reshape(-1), mask.reshape(-1),
                         serial=threads.serial(grad.size))
    return grad
