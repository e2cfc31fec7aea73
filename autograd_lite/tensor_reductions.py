"""Tensor's reductions (``sum mean var std amax amin max min logsumexp argmax argmin all any``), as
PyTorch names and spells them: ``dim``/``axis``, ``keepdim``, Bessel's ``correction``. Each is a thin
call into ``ops`` or ``ops.composite``; ``tensor`` attaches them to the class when it is imported."""
from __future__ import annotations

import numpy as np

from . import ops
from .arguments import check_dim as _dim, reduction_axes as _axes, var_correction as _correction
from .ops import composite
from .tensor import Tensor

_sum = ops.Sum.apply


def sum(self, dim=None, keepdim=False, axis=None, *, dtype=None):
    if dtype is not None:  # (summed in that dtype, as PyTorch's dtype=)
        self = self.to(dtype)
    if dim is None and axis is None:  # every axis (the common case, without a call)
        return _sum(self, None, keepdim)
    return ops.Sum.apply(self, _axes(dim, axis, self._data.ndim), keepdim)


def mean(self, dim=None, keepdim=False, axis=None, *, dtype=None):
    if dtype is not None:
        self = self.to(dtype)
    return composite.mean(self, _axes(dim, axis, self._data.ndim), keepdim)


def unbiased_first(dim, unbiased):
    """PyTorch's older overload ``var(unbiased)`` / ``std(unbiased)``: a bool first argument is
    ``unbiased`` over every element. Returns (dim, unbiased)."""
    if isinstance(dim, bool) and unbiased is None:
        return None, dim
    return dim, unbiased


def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    """Variance over ``dim`` with Bessel's ``correction`` (default 1, as in PyTorch;
    ``unbiased=False`` means correction 0): sum((x - mean)^2) / (N - correction). As in PyTorch,
    a bool first argument is ``unbiased`` (``x.var(False)``: every element, correction 0)."""
    dim, unbiased = unbiased_first(dim, unbiased)
    return composite.var(self, _axes(dim, axis, self._data.ndim), keepdim,
                         _correction(unbiased, correction))


def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
    """Square root of ``var`` (same arguments); its gradient is 0 where the variance is 0."""
    dim, unbiased = unbiased_first(dim, unbiased)
    return composite.std(self, _axes(dim, axis, self._data.ndim), keepdim,
                         _correction(unbiased, correction))


def amax(self, dim=None, keepdim=False, axis=None):
    """Largest value over ``dim``; the gradient is shared evenly among ties."""
    return ops.Max.apply(self, _axes(dim, axis, self._data.ndim), keepdim)


def amin(self, dim=None, keepdim=False, axis=None):
    """Smallest value over ``dim``; the gradient is shared evenly among ties."""
    return -ops.Max.apply(-self, _axes(dim, axis, self._data.ndim), keepdim)


def max(self, dim=None, keepdim=False, axis=None):
    """Like PyTorch: ``max()`` is the largest element (gradient shared among ties), ``max(dim)``
    a named tuple (values, indices) whose gradient goes to the element at ``indices``;
    ``max(other_tensor)`` is ``maximum``."""
    if isinstance(dim, Tensor):
        return composite.maximum(self, dim)
    dim = dim if axis is None else axis
    return self.amax() if dim is None else composite.max_along(self, dim, keepdim, largest=True)


def min(self, dim=None, keepdim=False, axis=None):
    """Like ``max``, for the smallest element."""
    if isinstance(dim, Tensor):
        return composite.minimum(self, dim)
    dim = dim if axis is None else axis
    return self.amin() if dim is None else composite.max_along(self, dim, keepdim, largest=False)


def logsumexp(self, dim=None, keepdim=False, axis=None):
    return composite.logsumexp(self, _axes(dim, axis, self._data.ndim), keepdim)


def argmax(self, dim=None, keepdim=False, axis=None):
    return _arg_reduce(np.argmax, self, dim if axis is None else axis, keepdim)


def argmin(self, dim=None, keepdim=False, axis=None):
    return _arg_reduce(np.argmin, self, dim if axis is None else axis, keepdim)


def all(self, dim=None, keepdim=False):
    return Tensor._make(np.asarray(np.all(self._data, axis=_axes(dim, None, self.ndim), keepdims=keepdim)))


def any(self, dim=None, keepdim=False):
    return Tensor._make(np.asarray(np.any(self._data, axis=_axes(dim, None, self.ndim), keepdims=keepdim)))


def _arg_reduce(fn, tensor, dim, keepdim):
    if tensor._data.size == 0:
        raise RuntimeError(f"{fn.__name__} of an empty tensor of shape {tensor.shape}")
    if dim is None:
        out = fn(tensor._data)
        return Tensor._make(np.asarray(np.reshape(out, (1,) * tensor.ndim) if keepdim else out, np.int64))
    axis = _dim(dim, tensor.ndim, fn.__name__)
    data = tensor._data if tensor.ndim else tensor._data.reshape(1)
    return Tensor._make(np.asarray(fn(data, axis=axis, keepdims=keepdim and tensor.ndim > 0), np.int64))


for _name in ('sum', 'mean', 'var', 'std', 'amax', 'amin', 'max', 'min', 'logsumexp', 'argmax', 'argmin', 'all', 'any'):
    setattr(Tensor, _name, globals()[_name])
del _name
