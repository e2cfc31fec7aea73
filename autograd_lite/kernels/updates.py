"""Optimizer updates of one parameter in one pass over memory (the NumPy references make 2 passes for
SGD and 14 for Adam, each a ufunc call: on the course CNN's 125,000 parameters Adam's passes cost
more than the arithmetic).

SGD (``sgd_update``; g already carries momentum and weight decay, ``optim.SGD``):

    for each i:  p[i] = fma(g[i], -lr, p[i])      (p[i] - g[i] lr rounded once, as PyTorch's
                                                   p.add_(g, alpha=-lr) and BLAS's axpy)

Adam (``adam_update``), for each i (c1 = 1 - beta1, c2 = 1 - beta2, all in the parameter's dtype):
        m[i] = m[i] + (g[i] - m[i]) c1
        v[i] = v[i] beta2 + (g[i] g[i]) c2
        s    = max(vmax[i], v[i]) -> vmax[i]      (amsgrad; NaN wins, as in np.maximum)
               or v[i]
        p[i] = p[i] - (m[i] / (sqrt(s) / bias2_sqrt + eps)) step_size

Every operation is the reference's, in its order and dtype, and nothing else is fused or reordered
(no fastmath, so no FMA contraction either: SGD's one FMA is spelled out): both give the same bits,
which the tests check. Large parameters are split across our threads (``threads.parallel_for``).
References: ``reference.sgd_update`` (BLAS's axpy), ``reference.adam_update`` (NumPy).
"""
from __future__ import annotations

import numpy as np

from . import threads
from .cache import njit
from .simd import add, div, fma, lanes_of, load, maximum, mul, splat, sqrt, store, sub


@njit(nogil=True, cache=True)
def _sgd_range(param, grad, lr, start, stop):
    """Explicit vectors, then the last elements one by one (see ``_adam_range``)."""
    lanes = lanes_of(param)
    step = -lr
    rate = splat(step, param)
    i = start
    while i + lanes <= stop:
        store(param, i, fma(load(grad, i), rate, load(param, i)))
        i += lanes
    for j in range(i, stop):
        param[j] = fma(grad[j], step, param[j])


@njit(nogil=True, cache=True)
def _adam_range(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, one_minus_beta1, beta2,
                one_minus_beta2, bias2_sqrt, eps, step_size, start, stop):
    """Explicit vectors (``simd``; LLVM does not vectorise a loop that writes three arrays which
    might overlap), then the last elements one by one: the same operations either way.
    ``max_exp_avg_sq`` is read and written only with ``amsgrad``."""
    lanes = lanes_of(param)
    c1, b2, c2 = splat(one_minus_beta1, param), splat(beta2, param), splat(one_minus_beta2, param)
    bs, e, ss = splat(bias2_sqrt, param), splat(eps, param), splat(step_size, param)
    i = start
    while i + lanes <= stop:
        g, m = load(grad, i), load(exp_avg, i)
        m = add(m, mul(sub(g, m), c1))
        store(exp_avg, i, m)
        v = add(mul(load(exp_avg_sq, i), b2), mul(mul(g, g), c2))
        store(exp_avg_sq, i, v)
        if amsgrad:
            v = maximum(load(max_exp_avg_sq, i), v)
            store(max_exp_avg_sq, i, v)
        step = mul(div(m, add(div(sqrt(v), bs), e)), ss)
        store(param, i, sub(load(param, i), step))
        i += lanes
    for j in range(i, stop):
        g = grad[j]
        m = exp_avg[j] + (g - exp_avg[j]) * one_minus_beta1
        exp_avg[j] = m
        v = exp_avg_sq[j] * beta2 + (g * g) * one_minus_beta2
        exp_avg_sq[j] = v
        if amsgrad:
            previous = max_exp_avg_sq[j]
            v = previous if (previous > v) | (previous != previous) else v
            max_exp_avg_sq[j] = v
        param[j] = param[j] - (m / (np.sqrt(v) / bias2_sqrt + eps)) * step_size


def sgd_update(param, grad, lr):
    """In place, like ``reference.sgd_update``; returns ``param``."""
    threads.parallel_for(_sgd_range, param.size, param.reshape(-1), grad.reshape(-1),
                         param.dtype.type(lr), serial=threads.serial(param.size), holds_blas=False)
    return param


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, beta1, beta2, eps,
                step_size, bias2_sqrt):
    """In place, like ``reference.adam_update``; every array C-contiguous, of one shape and dtype
    (``max_exp_avg_sq`` None without amsgrad; ``scratch``, the reference's work array, unused).
    Returns ``param`` (the dispatcher reads None as "not run")."""
    dtype = param.dtype.type
    constants = (dtype(1.0 - beta1), dtype(beta2), dtype(1.0 - beta2), dtype(bias2_sqrt),
                 dtype(eps), dtype(step_size))
    amsgrad = max_exp_avg_sq is not None
    threads.parallel_for(_adam_range, param.size, param.reshape(-1), grad.reshape(-1),
                         exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                         (max_exp_avg_sq if amsgrad else exp_avg_sq).reshape(-1), amsgrad,
                         *constants, serial=threads.serial(param.size), holds_blas=False)
    return param
