"""Normalising what users pass to Tensor methods: data, dims, reduction axes, shapes, var/std's
correction, ``to(...)``'s dtype and device. Each function either returns the canonical form or raises
an error naming the argument."""
from __future__ import annotations

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
        array = np.asarray(data)
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
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"a shape must be ints, got {shape!r}") from None


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
