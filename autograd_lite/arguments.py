"""Normalising what users pass to Tensor methods: data, dims, reduction axes, shapes, var/std's
correction, ``to(...)``'s dtype and device. Each function either returns the canonical form or raises
an error naming the argument."""
from __future__ import annotations

import operator

import numpy as np

from . import device as _device
from .dtypes import as_dtype, default_float


def to_array(data, dtype):
    """The ndarray behind a Tensor made from ``data``: NumPy arrays keep their dtype (and memory),
    Python floats become float32 and ints int64, as in PyTorch; Tensors inside lists are read
    through ``__array__``."""
    data = getattr(data, "_data", data) if not isinstance(data, (np.ndarray, np.generic, list, tuple)) \
        else data  # a Tensor: its array
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"unsupported NumPy dtype {array.dtype}: use a float, integer or bool array")
    else:
        array = _from_python(data, dtype)
        if array.dtype.kind == "f":
            array = array.astype(default_float())  # Python floats become float32, as in PyTorch
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        elif array.dtype.kind != "b":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} (NumPy dtype "
                            f"{array.dtype}): expected numbers, nested lists of numbers or an array")
    if dtype is not None:
        array = array.astype(as_dtype(dtype), copy=False)
    return array


class IntegerOverflowError(OverflowError, ValueError):
    """A Python int that does not fit int64 (PyTorch raises ValueError "Overflow when unpacking long
    long" there; Python's own conversions raise OverflowError: both catch this)."""


_INT64_LIMIT = 2.0 ** 63


def _from_python(data, dtype):
    """``np.asarray(data)`` for Python numbers and nested lists, refusing integers outside int64
    (NumPy would store them as uint64, float64 or objects, and the int64 cast would wrap) unless a
    float ``dtype`` asks for them as floats, as PyTorch does."""
    if dtype is not None and as_dtype(dtype).kind == "f":
        try:
            return np.asarray(data, dtype=as_dtype(dtype))
        except (TypeError, ValueError):
            pass  # the generic error below names what was wrong
    try:
        array = np.asarray(data)
    except ValueError:
        raise ValueError(f"cannot make a tensor from ragged nested lists: the lists at each level must "
                         f"have the same length (got {_outline(data)})") from None
    kind = array.dtype.kind
    if (kind in "uO" or kind == "f" and array.size and np.abs(array).max() >= _INT64_LIMIT) \
            and _has_huge_int(data):
        if _has_float(data):  # a float among them makes the whole tensor float, as in PyTorch
            return np.asarray(data, dtype=np.float64)
        raise IntegerOverflowError("Overflow when unpacking long long: an integer in the data does not "
                                   "fit int64 (expected values in [-2**63, 2**63 - 1]; pass "
                                   "dtype=float64 or Python floats for larger numbers)")
    return array


def _outline(data):
    """The lengths in a nested list, for messages: [[1, 2], [3]] -> '[2 item(s), 1 item(s)]'."""
    if len(data) > 4:
        return f"{len(data)} items"
    return "[" + ", ".join(f"{len(item)} item(s)" if isinstance(item, (list, tuple)) else type(item).__name__
                           for item in data) + "]"


def _walk(data):
    if isinstance(data, (list, tuple)):
        for item in data:
            yield from _walk(item)
    else:
        yield data


def _has_huge_int(data):
    return any(isinstance(v, int) and not -2 ** 63 <= v < 2 ** 63 for v in _walk(data))


def _has_float(data):
    return any(isinstance(v, (float, np.floating)) for v in _walk(data))


def check_dim(d, ndim, what):
    """A dim argument in [-ndim, ndim) as a non-negative int (0-d tensors accept 0 and -1)."""
    size = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise TypeError(f"{what}: dim must be an int, got {d!r}")
    if not -size <= d < size:
        raise IndexError(f"{what}: dim {d} is out of range for a tensor with {ndim} dimension(s) "
                         f"(expected a dim in [{-size}, {size - 1}])")
    return d % size


def reduction_axes(dim, axis, ndim):
    """A ``dim``/``axis`` argument as a sorted tuple of non-negative axes, or None for every axis
    (``dim=()`` too, as in PyTorch)."""
    if dim is None:
        dim = axis
    elif axis is not None:
        raise TypeError("pass dim or axis, not both")
    if dim is None:
        return None
    if not isinstance(dim, (int, np.integer, tuple, list)):
        raise TypeError(f"reduction: dim must be an int or a tuple of ints, got {dim!r}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    axes = tuple(sorted({check_dim(d, ndim, "reduction") for d in dims}))
    if len(axes) != len(dims):
        raise ValueError(f"dim {dim} names the same dimension twice")
    return axes if ndim else ()


def var_correction(unbiased, correction):
    """Bessel's correction from PyTorch's two spellings (default 1; unbiased=False means 0)."""
    if unbiased is not None and correction is not None:
        raise TypeError("var/std: pass unbiased or correction, not both")
    if unbiased is not None:
        return int(bool(unbiased))
    return 1 if correction is None else correction


def shape_from_args(shape):
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all give the shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)  # 2.5 and "2" are refused, not truncated
    except TypeError:
        raise TypeError(f"a shape must be ints, got {tuple(shape)!r}") from None


def check_sizes(shape, what):
    """``shape`` (ints) for a new tensor: every size must be >= 0."""
    for size in shape:
        if size < 0:
            raise ValueError(f"{what}: negative dimension {size} in shape {shape} (sizes must be >= 0)")
    return shape


def check_count(value, name, what):
    """A non-negative int argument such as ``steps`` or ``n``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what}: {name} must be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{what}: {name} must be a non-negative int, got {value}")
    return int(value)


def check_device(device, where="device"):
    """Accept PyTorch code's ``device`` arguments: the CPU (``"cpu"``, ``"cpu:0"``, a
    ``torch.device("cpu")``) is the only device; anything else raises naming it."""
    return _device.check_device(device, where)


def dtype_of_to(args, dtype, device):
    """The dtype named by ``to(*args, dtype=, device=)`` (``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(other_tensor)``), or None to keep the current one."""
    for arg in args:
        if _device.is_device_like(arg) or isinstance(arg, int) and not isinstance(arg, bool):
            device = arg
        elif hasattr(arg, "data") and hasattr(arg, "dtype") and not isinstance(arg, (type, np.dtype)):
            dtype = arg.dtype  # another tensor: take its dtype
        else:
            dtype = arg
    check_device(device, "to(device)")
    return as_dtype(dtype)
