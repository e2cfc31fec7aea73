"""The rest of PyTorch's Tensor API, added to ``Tensor`` (as ``tensor_inplace`` adds the in-place
methods): ``size()`` as an ``ag.Size``, ``f"{loss:.3f}"``, devices (``.device``, ``.cpu()``,
``.cuda()`` refused), ``.type()``, ``new_*`` factories, and the methods of ``ops.mathops``,
``ops.indexing`` and ``ops.products``; plus the logical functions that have no gradient
(``isinf isclose allclose nonzero unique one_hot logical_* bitwise_*``).
"""
from __future__ import annotations

import math

import numpy as np

from .device import CPU, CPU_ONLY_HINT
from .dtypes import as_dtype
from .ops import indexing, mathops, products, trig
from .tensor import Tensor, _raw

_make = Tensor._make


class Size(tuple):
    """PyTorch's ``torch.Size``: a tuple of ints (``x.shape``, ``x.size()``) with ``numel()``.
    It prints as the plain tuple ``(2, 3)``, so shapes read the same in every message."""

    __repr__ = __str__ = tuple.__repr__

    def numel(self):
        return math.prod(self)

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


def size(self, dim=None):
    """The shape as an ``ag.Size``, or the size of ``dim``."""
    if dim is None:
        return Size(self._data.shape)
    ndim = self._data.ndim
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"size: dim {dim} is out of range for a tensor with {ndim} dims")
    return self._data.shape[dim] if ndim else 1


def __format__(self, spec):
    """0-d tensors format like Python numbers (``f"{loss:.3f}"``); others only with an empty spec."""
    if self._data.ndim == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


# ---------------------------------------------------------------------------- devices and types
_TYPE_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor",
               "float16": "torch.HalfTensor", "int64": "torch.LongTensor", "int32": "torch.IntTensor",
               "int16": "torch.ShortTensor", "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
               "bool": "torch.BoolTensor"}
_TYPE_DTYPES = {name: dtype for dtype, name in _TYPE_NAMES.items()}


def type_(self, dtype=None, non_blocking=False):
    """``t.type()`` is the PyTorch type name ('torch.FloatTensor'); ``t.type(dtype)`` casts
    (a dtype or such a name)."""
    if dtype is None:
        return _TYPE_NAMES[str(self.dtype)]
    if isinstance(dtype, str) and dtype.startswith("torch."):
        if dtype.startswith("torch.cuda."):
            raise RuntimeError(f"type({dtype!r}): {CPU_ONLY_HINT}")
        if dtype not in _TYPE_DTYPES:
            raise ValueError(f"type: unknown tensor type {dtype!r}; known: {sorted(_TYPE_DTYPES)}")
        dtype = _TYPE_DTYPES[dtype]
    elif isinstance(dtype, type) and hasattr(dtype, "_dtype"):  # ag.FloatTensor & co.
        dtype = dtype._dtype
    return self.to(dtype)


def cuda(self, device=None, non_blocking=False, memory_format=None):
    raise RuntimeError(f".cuda() was called, but {CPU_ONLY_HINT}")


def _new(fill):
    def new(self, *size, dtype=None, device=None, requires_grad=False, **ignored):
        from .creation import _finish, _shape
        shape = _shape(size, ignored.pop("size", None), fill.__name__)
        array = fill(shape, as_dtype(dtype) if dtype is not None else self.dtype)
        return _finish(array, requires_grad, device, None, f"new_{fill.__name__}")
    return new


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from .creation import full
    return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    from .creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------------------- no gradient
def _bool(array):
    return _make(np.asarray(array, dtype=bool))


def _array(x):
    return np.asarray(_raw(x))


def isinf(x):
    return _bool(np.isinf(_array(x)))


def isposinf(x):
    return _bool(np.isposinf(_array(x)))


def isneginf(x):
    return _bool(np.isneginf(_array(x)))


def isnan(x):
    return _bool(np.isnan(_array(x)))


def isfinite(x):
    return _bool(np.isfinite(_array(x)))


def isclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|x - other| <= atol + rtol |other|, elementwise (PyTorch's defaults)."""
    return _bool(np.isclose(_array(x), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(_array(x), _array(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(x, other):
    """True when both have the same shape and elements."""
    a, b = _array(x), _array(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


def nonzero(x, *, as_tuple=False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    array = _array(x)
    if as_tuple:
        return tuple(_make(i.astype(np.int64)) for i in np.nonzero(array if array.ndim else array.reshape(1)))
    return _make(np.argwhere(array).astype(np.int64))


argwhere = nonzero


def count_nonzero(x, dim=None):
    return _make(np.asarray(np.count_nonzero(_array(x), axis=dim), np.int64))


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values in ascending order, optionally with the inverse indices (x's shape) and
    counts; ``dim`` picks distinct slices along it instead."""
    array = _array(x)
    values, inverse, counts = np.unique(array, return_inverse=True, return_counts=True, axis=dim)
    out = [_make(values)]
    if return_inverse:
        out.append(_make(inverse.reshape(array.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def one_hot(tensor, num_classes=-1):
    """Class indices (int64, any shape) -> one-hot int64 tensor with a last dim of ``num_classes``
    (max + 1 when -1)."""
    index = _array(tensor)
    if index.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (int64) tensor of class indices, got {index.dtype}")
    if index.size and index.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {index.min()}")
    if num_classes == -1:
        if not index.size:
            raise RuntimeError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(index.max()) + 1
    if index.size and index.max() >= num_classes:
        raise ValueError(f"one_hot: class index {index.max()} is out of range for num_classes={num_classes}")
    return _make((index[..., None] == np.arange(num_classes)).astype(np.int64))


def _logical(name, fn):
    def op(x, *others):
        return _bool(fn(*(_array(v).astype(bool) for v in (x,) + others)))
    op.__name__ = name
    return op


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)
logical_not = _logical("logical_not", np.logical_not)


def _bitwise(name, fn):
    def op(x, *others):
        arrays = [_array(v) for v in (x,) + others]
        if any(a.dtype.kind not in "iub" for a in arrays):
            raise TypeError(f"{name}: expected integer or bool tensors, got {[str(a.dtype) for a in arrays]}")
        return _make(np.asarray(fn(*arrays)))
    op.__name__ = name
    return op


bitwise_and = _bitwise("bitwise_and", np.bitwise_and)
bitwise_or = _bitwise("bitwise_or", np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor)
bitwise_not = _bitwise("bitwise_not", np.invert)
bitwise_left_shift = _bitwise("bitwise_left_shift", np.left_shift)
bitwise_right_shift = _bitwise("bitwise_right_shift", np.right_shift)


def div(x, other, *, rounding_mode=None):
    """x / other; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient (gradient 0, as in
    PyTorch; integer inputs stay integer)."""
    if rounding_mode is None:
        return x / other
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    a, b = _array(x), _array(other)
    if a.dtype.kind in "iub" and b.dtype.kind in "iub" and not isinstance(other, float):
        quotient = np.floor_divide(a, b) if rounding_mode == "floor" else np.trunc(a / b).astype(np.result_type(a, b))
        return _make(np.asarray(quotient))
    value = (x / other)._data
    return mathops.zero_gradient(x, (np.floor if rounding_mode == "floor" else np.trunc)(value))


# ---------------------------------------------------------------------------- binding
_METHODS = {
    "size": size, "__format__": __format__, "type": type_, "cuda": cuda,
    "new_zeros": _new(np.zeros), "new_ones": _new(np.ones), "new_empty": _new(np.empty),
    "new_full": new_full, "new_tensor": new_tensor,
    "element_size": lambda self: self._data.itemsize, "nelement": lambda self: self._data.size,
    "ndimension": lambda self: self._data.ndim,
    "isinf": isinf, "isposinf": isposinf, "isneginf": isneginf, "isnan": isnan, "isfinite": isfinite,
    "isclose": isclose, "allclose": allclose, "equal": equal, "nonzero": nonzero, "argwhere": argwhere,
    "count_nonzero": count_nonzero, "unique": unique,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not, "div": div, "divide": div,
    "true_divide": lambda self, other: self / other, "multiply": lambda self, other: self * other,
    "subtract": lambda self, other, alpha=1: self.sub(other, alpha),
    "__mod__": mathops.remainder, "__rmod__": lambda self, other: mathops.remainder(other, self),
    "__floordiv__": lambda self, other: div(self, other, rounding_mode="floor"),
    "__rfloordiv__": lambda self, other: div(Tensor(other, dtype=self.dtype if isinstance(other, float) and self.is_floating_point() else None), self, rounding_mode="floor"),
    "__lshift__": bitwise_left_shift, "__rshift__": bitwise_right_shift,
    "atan2": lambda self, other: mathops.Atan2.apply(self, mathops._tensor(other, self)),
    "log1p": lambda self: mathops.Log1p.apply(self), "expm1": lambda self: mathops.Expm1.apply(self),
    "erf": lambda self: mathops.Erf.apply(self),
    "tan": lambda self: trig.Tan.apply(self), "atan": lambda self: trig.Atan.apply(self),
    "asin": lambda self: trig.Asin.apply(self), "acos": lambda self: trig.Acos.apply(self),
    "sinh": lambda self: trig.Sinh.apply(self), "cosh": lambda self: trig.Cosh.apply(self),
    "cumsum": mathops.cumsum, "cumprod": mathops.cumprod, "prod": mathops.prod, "flip": None,
    "floor": mathops.floor, "ceil": mathops.ceil, "trunc": mathops.trunc, "fix": mathops.trunc,
    "round": mathops.round, "sign": mathops.sign, "frac": mathops.frac, "log2": mathops.log2,
    "log10": mathops.log10, "hypot": mathops.hypot, "lerp": mathops.lerp,
    "logaddexp": mathops.logaddexp, "diff": mathops.diff,
    "remainder": mathops.remainder, "fmod": mathops.fmod, "nan_to_num": mathops.nan_to_num,
    "norm": mathops.norm,
    "dot": products.dot, "inner": products.dot, "mv": products.mv, "bmm": products.bmm,
    "outer": products.outer, "ger": products.outer, "addmm": products.addmm,
    "gather": indexing.gather, "scatter": indexing.scatter, "scatter_add": indexing.scatter_add,
    "index_select": indexing.index_select, "masked_select": indexing.masked_select,
    "take_along_dim": indexing.take_along_dim, "narrow": indexing.narrow, "split": indexing.split,
    "chunk": indexing.chunk, "unbind": indexing.unbind, "roll": indexing.roll,
    "repeat": indexing.repeat, "tile": indexing.tile, "repeat_interleave": indexing.repeat_interleave,
    "tril": indexing.tril, "triu": indexing.triu, "diag": indexing.diag, "diagonal": indexing.diagonal,
    "trace": indexing.trace, "sort": indexing.sort, "argsort": indexing.argsort, "topk": indexing.topk,
    "kthvalue": indexing.kthvalue, "median": indexing.median,
}


def _flip(self, *dims):
    return mathops.flip(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)


_METHODS["flip"] = _flip
_METHODS["arctan2"] = _METHODS["atan2"]
for _name in ("tan", "sin", "cos"):  # NumPy's spellings too, as PyTorch has them
    _METHODS["arc" + _name] = _METHODS["a" + _name]
_METHODS["fliplr"] = lambda self: mathops.flip(self, (1,))
_METHODS["flipud"] = lambda self: mathops.flip(self, (0,))

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
del _name, _fn

Tensor.shape = property(lambda self: Size(self._data.shape))
Tensor.device = property(lambda self: CPU)
Tensor.is_cuda = property(lambda self: False)
Tensor.is_mps = property(lambda self: False)
