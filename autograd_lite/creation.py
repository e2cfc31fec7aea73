"""Constructors: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``, ``ones``, ``full``,
``arange``, ``linspace``, ``eye``, ``randn``, ``rand``, ``randint``, ``randperm`` and their ``*_like``
forms. Float results default to float32."""
from __future__ import annotations

import numpy as np

from .random import generator
from .arguments import check_count, check_sizes
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
    return _make(np.zeros(_sizes(shape, "zeros"), _dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return _make(np.ones(_sizes(shape, "ones"), _dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    return _make(np.full(_sizes((shape,), "full"), fill_value, _dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    return _make(np.empty(_sizes(shape, "empty"), _dtype(dtype)), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return _make(np.zeros(t.shape, _dtype(dtype, t.dtype)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _make(np.ones(t.shape, _dtype(dtype, t.dtype)), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _make(np.full(t.shape, fill_value, _dtype(dtype, t.dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` in steps of ``step``."""
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, (Tensor, np.ndarray)) and np.ndim(v) == 0 else v
                        for v in (start, end, step))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value}")
    if step == 0:
        raise ValueError("arange: step must be non-zero, got 0")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign: step "
                         f"{step} cannot go from start {start} to end {end}")
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    return _make(np.arange(start, end, step, dtype=_dtype(dtype, np.int64 if is_int else np.float32)),
                 requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    steps = check_count(steps, "steps", "linspace")
    return _make(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    n = check_count(n, "n", "eye")
    m = None if m is None else check_count(m, "m", "eye")
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    return _make(generator().standard_normal(_sizes(shape, "randn")).astype(_dtype(dtype)), requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    return _make(generator().random(_sizes(shape, "rand")).astype(_dtype(dtype)), requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype=None):
    if high is None:
        low, high = 0, low
    if not low < high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    return _make(generator().integers(low, high, size=_sizes((size,), "randint")).astype(
        _dtype(dtype, np.int64)), False)


def randperm(n, dtype=None):
    n = check_count(n, "n", "randperm")
    return _make(generator().permutation(n).astype(_dtype(dtype, np.int64)), False)


def _sizes(shape, what):
    return check_sizes(_shape_arg(shape), what)
