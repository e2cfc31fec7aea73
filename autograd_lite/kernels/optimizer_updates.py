"""The optimizers' updates in place, dispatched as the package's kernels are (``kernels``):

* ``sgd_update(p, g, lr)``: p <- p - lr g, each element rounded once as PyTorch rounds it (its
  ``p.add_(g, alpha=-lr)`` is one fused multiply-add). From ``SGD_MIN_SIZE`` elements, where Numba
  already runs, one Numba pass split across our threads (``updates``); else BLAS's axpy
  (``reference.axpy``, ``blas.axpy``), NumPy's two roundings only for what BLAS does not take
  (path ``numpy``). NumPy's two passes through a work array, before, cost the MLP step at batch
  64 about 17 us of its 470 on an Intel Xeon (family 6 model 167), 1 thread: the work array was
  one more 400 KB in the cache.
* ``adam_update(...)``: Adam's step, one Numba pass where Numba already runs (bit-identical to
  ``reference.adam_update``'s 14 NumPy passes: 10 against 24 us at 8,192 elements, 6 against 11
  at 64, 1 thread, Zen 3), else those passes.
* ``axpy(alpha, x, y)`` (y += alpha x) and ``add_scaled(a, alpha, b)`` (a + alpha b, a new array),
  rounded as PyTorch's ``add(..., alpha=)``: the weight decay, the dampened momentum sum and
  Nesterov's step.

Numba is never imported for the updates alone: loading it for an MLP whose ReLUs stay on NumPy
cost the first step 1.5 s with a warm cache.
"""
from __future__ import annotations

import numpy as np

from . import _count, _dispatch, _state, reference

SGD_MIN_SIZE = 2 ** 15  # parameter elements from which the split Numba pass replaces BLAS's axpy
#                         (Adam's one pass beats its 14 at every size: 64 elements 2x)


def _one_pass_fits(param, arrays):
    """The update kernels take C-contiguous ndarrays of one shape and float dtype, and run only in
    a process that already uses Numba kernels (``_state["modules"]`` loaded)."""
    return _state["modules"] is not None and all(
        type(a) is np.ndarray and a.flags.c_contiguous and a.shape == param.shape
        and a.dtype == param.dtype for a in arrays)


def sgd_update(param, grad, lr):
    """p <- p - lr g in place, rounded once (``reference.sgd_update``): one Numba pass split
    across our threads (``updates``), or BLAS's axpy on this one; the same bits. (NumPy's two
    roundings for a dtype or layout BLAS does not take: path ``numpy``.)"""
    if param.size >= SGD_MIN_SIZE and _one_pass_fits(param, (param, grad)):
        return _dispatch("sgd_update", param.dtype, "updates", (param, grad, lr), marks=False)
    _count("sgd_update", "blas" if reference.axpy(-lr, grad, param) else "numpy")
    return param


axpy = reference.axpy  # y += alpha x in place, rounded as PyTorch's y.add_(x, alpha=alpha)


def add_scaled(a, alpha, b):
    """``a + alpha b`` as a new array, rounded as PyTorch's ``a.add(b, alpha=alpha)`` rounds it
    (the optimizers' weight decay and Nesterov step): a copy of a, then ``axpy``; operands of
    two dtypes as NumPy promotes them."""
    if a.dtype != b.dtype:
        return a + alpha * b
    out = np.array(a, order="C")
    axpy(alpha, b, out)
    return out


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, beta1, beta2, eps,
                step_size, bias2_sqrt):
    """Adam's step in place (``reference.adam_update``): one Numba pass (``updates``) or NumPy's
    14; the same bits."""
    arrays = (param, grad, exp_avg, exp_avg_sq) + ((max_exp_avg_sq,) if max_exp_avg_sq is not None
                                                   else ())
    args = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, beta1, beta2, eps,
            step_size, bias2_sqrt)
    if _one_pass_fits(param, arrays):
        return _dispatch("adam_update", param.dtype, "updates", args, marks=False)
    _count("adam_update", "numpy")
    return reference.adam_update(*args)
