"""Gradient clipping, PyTorch's ``torch.nn.utils`` (``clip_grad_norm_``, ``clip_grad_value_``).

Call them between ``loss.backward()`` and ``optimizer.step()``; they change ``p.grad`` in place and
skip parameters whose ``.grad`` is None.

* ``clip_grad_norm_(parameters, max_norm, norm_type=2.0)``: the total norm is the ``norm_type``-norm
  of the vector of per-parameter gradient norms (for p > 0 the same as the norm of all gradients
  concatenated); every gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))``, so a
  total norm below ``max_norm`` leaves the gradients (almost exactly) unchanged and a larger one is
  scaled down to ``max_norm``. Returns the total norm (before clipping) as a 0-d Tensor.
  ``clip_grad_norm_ = clip_grads_with_norm_(..., get_total_norm(grads))``, as in PyTorch.
* ``clip_grad_value_(parameters, clip_value)``: every gradient element is clamped to
  ``[-clip_value, clip_value]``.

The p-norm of a vector v: ``(sum |v_i|^p)^(1/p)``; ``inf``: ``max |v_i|``; ``-inf``: ``min |v_i|``;
``0``: the number of non-zero elements. Norms are accumulated in float64 (as PyTorch does on the
CPU) and returned in the gradients' dtype.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.function import no_grad
from autograd_lite.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` (a Tensor or an iterable of Tensors) in place so that
    their total ``norm_type``-norm is at most ``max_norm``; returns the total norm before clipping.

    ``norm_type`` may be ``float('inf')`` or ``'inf'``. With ``error_if_nonfinite=True`` a NaN or
    infinite total norm raises ``RuntimeError`` (by default the gradients are scaled by it anyway and
    become NaN/0). ``foreach`` is accepted for compatibility (there is one implementation).
    """
    parameters = _as_list(parameters, "clip_grad_norm_")
    max_norm = _as_float(max_norm, "max_norm", "clip_grad_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place
    (a negative ``clip_value`` sets every element to ``clip_value``, as ``clamp`` does in PyTorch).
    NaN stays NaN. Returns None."""
    parameters = _as_list(parameters, "clip_grad_value_")
    clip_value = _as_float(clip_value, "clip_value", "clip_grad_value_")
    for p in parameters:
        if p.grad is not None:
            _writeable(p.grad)
            with no_grad():
                p.grad.clamp_(-clip_value, clip_value)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the vector of the norms of ``tensors`` (a Tensor or an iterable of
    Tensors, e.g. gradients), as a 0-d Tensor of their common dtype; ``tensor(0.)`` for none."""
    tensors = _as_list(tensors, "get_total_norm")
    try:
        p = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"norm_type must be a number or 'inf', got {norm_type!r}") from None
    if not tensors:
        return Tensor(np.array(0.0, np.float32))
    dtype = np.result_type(*[t._data.dtype for t in tensors])
    if dtype.kind != "f":
        raise TypeError(f"get_total_norm: the tensors must be floating point, got dtype {dtype}")
    # each tensor's norm is rounded to its own dtype, as PyTorch's per-tensor norms are
    norms = np.array([np.asarray(_vector_norm(t._data, p), t._data.dtype) for t in tensors], np.float64)
    total = np.asarray(_vector_norm(norms, p), dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite ({total}), so "
            "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
            "norm anyway, set `error_if_nonfinite=False`")
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm + 1e-6))``
    (computed in ``total_norm``'s dtype); ``total_norm`` is usually ``get_total_norm``'s result."""
    parameters = _as_list(parameters, "clip_grads_with_norm_")
    max_norm = _as_float(max_norm, "max_norm", "clip_grads_with_norm_")
    total = np.asarray(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    if total.dtype.kind != "f":
        total = total.astype(np.float32)
    coefficient = np.asarray(max_norm, total.dtype) / (total + total.dtype.type(1e-6))
    coefficient = np.minimum(coefficient, total.dtype.type(1.0))  # NaN stays NaN, as in clamp
    for p in parameters:
        if p.grad is not None:
            _writeable(p.grad)
            with no_grad(), np.errstate(invalid="ignore"):  # inf * 0 is NaN, as in PyTorch
                p.grad.mul_(coefficient)


def _vector_norm(array, p):
    """The p-norm of ``array`` flattened, accumulated in float64 (see the module docstring)."""
    values = np.abs(np.asarray(array, np.float64)).ravel()
    if p == math.inf:
        return values.max(initial=0.0)
    if p == -math.inf:
        return values.min(initial=math.inf)
    if p == 0:
        return float(np.count_nonzero(values))
    if p == 1:
        return values.sum()
    if p == 2:
        return math.sqrt(np.dot(values, values))
    with np.errstate(divide="ignore", over="ignore"):  # |0|^p for p < 0 is inf, whose 1/p-th power is 0
        return np.sum(values ** p) ** (1.0 / p)


def _as_list(parameters, function):
    """A Tensor or an iterable of Tensors, as a list (a generator is consumed once)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"{function}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{function}: parameters[{i}] is a {type(p).__name__}, expected a Tensor")
    return parameters


def _as_float(value, name, function):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}") from None


def _writeable(grad):
    """Gradients are clipped in place; a read-only array (e.g. a broadcast view) is copied first."""
    if not grad._data.flags.writeable:
        grad._data = grad._data.copy()
