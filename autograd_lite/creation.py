"""Constructors: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``, ``ones``, ``full``,
``arange``, ``linspace``, ``eye``, ``randn``, ``rand``, ``randint``, ``randperm`` and their ``*_like``
forms. Float results default to float32."""
from __future__ import annotations

import numpy as np

from .random import generator
from .tensor import Tensor, _shape_arg, as_dtype


def _dtype(dtype, default=np.float32):
    return as_dtype(dtype) if dtype is not None else np.dtype(default)


def _make(array, requires_grad):
    t = Tensor._make(array)
    return t.requires_grad_() if requires_grad else t


def tensor(data, dtype=None, requires_grad=False):
    """Copy ``data`` (numbers, nested lists, an array or a Tensor) into a new leaf tensor."""
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    if isinstance(data, (np.ndarray, Tensor)) and t._data is (data._data if isinstance(data, Tensor) else data):
        t._data = t._data.copy()
        t._version_counter = [0]  # its own memory now
    return t


def as_tensor(data, dtype=None):
    """``data`` as a Tensor without a copy when it already is one (or an array) of that dtype."""
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.dtype):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(array):
    """A Tensor sharing ``array``'s memory and dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def zeros(*shape, dtype=None, requires_grad=False):
    return _make(np.zeros(_shape_arg(shape), _dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return _make(np.ones(_shape_arg(shape), _dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    return _make(np.full(_shape_arg((shape,)), fill_value, _dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    return _make(np.empty(_shape_arg(shape), _dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return _make(np.zeros(t.shape, _dtype(dtype, t.dtype)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _make(np.ones(t.shape, _dtype(dtype, t.dtype)), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _make(np.full(t.shape, fill_value, _dtype(dtype, t.dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _make(np.arange(start, end, step, dtype=_dtype(dtype, np.int64 if is_int else np.float32)),
                 requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    return _make(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    return _make(generator().standard_normal(_shape_arg(shape)).astype(_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    return _make(generator().random(_shape_arg(shape)).astype(_dtype(dtype)), requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    return _make(generator().integers(low, high, size=_shape_arg((size,))).astype(_dtype(dtype, np.int64)),
                 False)


def randperm(n, dtype=None):
    return _make(generator().permutation(n).astype(_dtype(dtype, np.int64)), False)
