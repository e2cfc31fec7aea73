"""Broadcasting for the binary ops: NumPy's broadcasting with PyTorch's result dtypes (``_binary``),
and its reverse for gradients: ``unbroadcast`` sums a gradient back to its input's shape through
recorded ops (``backward``), ``unbroadcast_plain`` on the arrays (``backward_plain``; ``unbroadcast_plain_to``
takes the argument instead of its shape); both sum the same axes (``summed_axes``)."""
from __future__ import annotations

import numpy as np

from ..dtypes import default_float, result_type
from ..function import InputRef
from ..tensor import Tensor

_make = Tensor._make
_ndarray = np.ndarray
_add_reduce = np.add.reduce
_PYTHON_NUMBERS = (int, float, bool)


def _data(x):
    return x._data if isinstance(x, Tensor) else x


def _shape(x):
    """The shape of an op's argument: a Tensor, a node's record of one (``InputRef``) or a number."""
    if x.__class__ is InputRef:
        return x.shape
    return x._data.shape if isinstance(x, Tensor) else np.shape(x)


def summed_axes(grad_shape, shape):
    """The axes of a gradient of ``grad_shape`` that broadcasting added or stretched from ``shape``."""
    extra = len(grad_shape) - len(shape)
    return tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad_shape[extra + i] != 1)


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``."""
    grad_shape = grad._data.shape
    if grad_shape == shape:
        return grad
    axes = summed_axes(grad_shape, shape)
    if axes:
        grad = Sum.apply(grad, axes, False)
    return grad if grad._data.shape == shape else Reshape.apply(grad, shape)


def unbroadcast_plain(grad, shape):
    """``unbroadcast`` on the arrays, for ``backward_plain`` (the same sums, no graph)."""
    data = grad._data
    grad_shape = data.shape
    if grad_shape == shape:
        return grad
    axes = summed_axes(grad_shape, shape)
    if axes:
        data = _add_reduce(data, axis=axes)
    if data.__class__ is not _ndarray:
        data = np.asarray(data)
    return _make(data if data.shape == shape else data.reshape(shape))


def unbroadcast_plain_to(grad, x):
    """``unbroadcast_plain`` to the shape of an op's tensor argument ``x`` (a Tensor, or the node's
    ``InputRef`` for one): one call for the common case, where the shapes already agree."""
    shape = x.shape if x.__class__ is InputRef else x._data.shape
    return grad if grad._data.shape == shape else unbroadcast_plain(grad, shape)


def _binary(name, ufunc, a, b, true_divide=False):
    """``ufunc(a, b)`` as a Tensor: NumPy's broadcasting, PyTorch's result dtype, clear errors."""
    x = a._data if isinstance(a, Tensor) else a
    y = b._data if isinstance(b, Tensor) else b
    try:
        out = ufunc(x, y)
    except ValueError:
        try:
            np.broadcast_shapes(np.shape(x), np.shape(y))
        except ValueError:
            raise ValueError(f"{name}: shapes {np.shape(x)} and {np.shape(y)} cannot be broadcast "
                             "together (trailing dimensions must be equal or 1)") from None
        raise
    if out.__class__ is _ndarray and x.__class__ is _ndarray and y.__class__ is _ndarray:
        dtype = out.dtype  # (the common case of _promoted, inlined: arrays of the result's dtype)
        if x.dtype is dtype and y.dtype is dtype:
            return _make(out)
    return _make(_promoted(out, a, b, x, y, true_divide))


def _promoted(out, a, b, x, y, true_divide=False):
    """``out`` (NumPy's result for operands a, b with data x, y) in PyTorch's result dtype.

    NumPy agrees with PyTorch when some array operand has the result's dtype and every other
    operand is an array of that dtype, a bool array or a Python number; otherwise PyTorch's rule is
    applied (int * float32 is float32, int / int is float32, float32 (3,) + float64 () is float32).
    """
    if out.__class__ is not _ndarray:
        out = np.asarray(out)
    dtype = out.dtype
    x_class, y_class = x.__class__, y.__class__
    if x_class is _ndarray and x.dtype is dtype:
        if y_class is _ndarray and (y.dtype is dtype or y.dtype.kind == "b") or y_class in _PYTHON_NUMBERS:
            return out
    elif y_class is _ndarray and y.dtype is dtype:
        if x_class is _ndarray and x.dtype.kind == "b" or x_class in _PYTHON_NUMBERS:
            return out
    expected = result_type(a, b)
    if true_divide and expected.kind != "f":
        expected = default_float()
    return out if expected == dtype else out.astype(expected)


from .reduce import Sum  # noqa: E402
from .shape import Reshape  # noqa: E402
