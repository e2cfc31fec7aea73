"""Composite operations: built only from primitives, so they need no backward of their own (and
their second derivatives come for free)."""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ..dtypes import result_type
from ..arguments import reduction_axes as _axes
from ..tensor import Tensor, _dim, _raw
from . import LinearFn, MatMul, Sum, Where, Cat, Expand, GetItem, ReLU, Abs, Maximum, Minimum, Clamp

MinMax = namedtuple("MinMax", ["values", "indices"])


def _tensor(x, like=None):
    """``x`` as a Tensor; Python/NumPy numbers take ``like``'s float dtype."""
    if isinstance(x, Tensor):
        return x
    dtype = like.dtype if like is not None and like.dtype.kind == "f" and np.ndim(x) == 0 else None
    return Tensor(np.asarray(x, dtype=dtype) if dtype is not None else x)


def matmul(a, b):
    """Like ``np.matmul``/``torch.matmul``: 1-D operands are promoted to matrices and the added dim
    removed from the result."""
    a, b = _tensor(a, b), _tensor(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {a.shape} and "
                         f"{b.shape} (use * for scalars)")
    if a.ndim >= 2 and b.ndim >= 2:
        return MatMul.apply(a, b)
    squeeze_first, squeeze_last = a.ndim == 1, b.ndim == 1
    if squeeze_first and b.ndim >= 2 and a.shape[0] != b.shape[-2] or \
            squeeze_last and a.shape[-1] != b.shape[0]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                         f"{a.shape[-1]} (last dim of the first) != "
                         f"{b.shape[0] if squeeze_last else b.shape[-2]} (the matching dim of the second)")
    out = MatMul.apply(a.reshape(1, -1) if squeeze_first else a,
                       b.reshape(-1, 1) if squeeze_last else b)
    if squeeze_first and squeeze_last:
        return out.reshape(out.shape[:-2])
    if squeeze_first:
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    return out.reshape(out.shape[:-1])


def mm(a, b):
    """Product of two matrices (``torch.mm``); ``matmul`` handles other shapes."""
    a, b = _tensor(a, b), _tensor(b, a)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: both operands must be 2-D, got shapes {a.shape} and {b.shape} (use "
                         "matmul or @ for other shapes)")
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, one fused node (see ops.linalg.Linear)."""
    weight = _tensor(weight, x if isinstance(x, Tensor) else None)
    if not isinstance(x, Tensor):  # data (NumPy, lists) takes the weight's float dtype, as in nn.Linear
        x = Tensor(np.asarray(x), dtype=weight.dtype if weight.dtype.kind == "f" else None)
    bias = bias if bias is None else _tensor(bias, weight)
    return LinearFn.apply(x, weight, bias) if bias is not None else LinearFn.apply(x, weight)


def where(condition, a, b):
    """a where ``condition`` holds, else b (broadcast together); the condition gets no gradient."""
    condition = np.asarray(_raw(condition))
    if condition.dtype != np.bool_:
        raise TypeError(f"where: the condition must be a bool tensor or array, got dtype {condition.dtype}")
    _broadcastable("where", condition.shape, np.shape(_raw(a)), np.shape(_raw(b)))
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):  # numbers: PyTorch's dtype
        return Tensor(np.asarray(np.where(condition, a, b)).astype(result_type(a, b)))
    return Where.apply(condition, a, b)


def relu(x):
    """max(x, 0), one recorded ``ReLU`` node (gradient 0 at 0, PyTorch's convention)."""
    return ReLU.apply(_tensor(x))


def abs(x):
    """|x|, one recorded ``Abs`` node; the gradient at 0 is 0, as in PyTorch."""
    return Abs.apply(_tensor(x))


def _broadcastable(name, *shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{name}: shapes {' and '.join(map(str, shapes))} cannot be broadcast "
                         "together") from None


def maximum(a, b):
    """Elementwise max (NaN wins, as in PyTorch); on ties each operand gets half of the gradient."""
    a, b = _tensor(a, b), _tensor(b, a)
    _broadcastable("maximum", a.shape, b.shape)
    return Maximum.apply(a, b)


def minimum(a, b):
    """Elementwise min (NaN wins, as in PyTorch); on ties each operand gets half of the gradient."""
    a, b = _tensor(a, b), _tensor(b, a)
    _broadcastable("minimum", a.shape, b.shape)
    return Minimum.apply(a, b)


def clip(x, low=None, high=None):
    """Clamp to [low, high] (numbers or tensors), one recorded ``Clamp`` node. The gradient passes
    to x where low <= x <= high (the boundary included, PyTorch's rule) and to a tensor bound where
    it is the value taken."""
    if low is None and high is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clamp.apply(_tensor(x), low, high)


def _count(x, axes):
    return x._data.size if axes is None else math.prod([x.shape[a] for a in axes])


def mean(x, axes=None, keepdim=False):
    """sum / N. Integer and bool tensors give float32 (PyTorch raises there)."""
    if x._data.dtype.kind != "f":
        x = x.to(np.float32)
    count = _count(x, axes)
    total = Sum.apply(x, axes, keepdim)
    return total * (1.0 / count) if count else total / 0.0


def var(x, axes=None, keepdim=False, correction=1):
    """sum((x - mean)^2) / (N - correction); correction=1 is the unbiased estimate (PyTorch's
    default). N - correction <= 0 gives inf/NaN, as in PyTorch."""
    if x._data.dtype.kind != "f":
        x = x.to(np.float32)
    count = _count(x, axes)
    centred = x - mean(x, axes, keepdim=True)
    total = Sum.apply(centred * centred, axes, keepdim)
    denominator = count - correction
    with np.errstate(divide="ignore", invalid="ignore"):
        return total * (1.0 / denominator) if denominator > 0 else total / 0.0


def std(x, axes=None, keepdim=False, correction=1):
    """sqrt(var). Where the variance is exactly 0 (a constant input) the gradient is 0, as in
    PyTorch, not 0 * d sqrt(v)/dv = 0 * inf = NaN: the square root is taken of 1 there and the
    result replaced by 0, so no infinite local derivative enters the graph."""
    variance = var(x, axes, keepdim, correction)
    zero = variance._data == 0
    if not zero.any():
        return variance ** 0.5
    return where(zero, 0.0, where(zero, 1.0, variance) ** 0.5)


def logsumexp(x, axes=None, keepdim=False):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max(x) held constant (the
    result does not depend on m, so it needs no gradient)."""
    m = np.max(x._data, axis=axes, keepdims=True, initial=-np.inf)  # (-inf over no element)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore"):
        out = Sum.apply((x - m).exp(), axes, True).log() + m
    if not keepdim:
        out = out.reshape(np.sum(m, axis=axes).shape if axes is not None else ())
    return out


def max_along(x, dim, keepdim=False, largest=True):
    """``x.max(dim)`` / ``x.min(dim)``: (values, indices), the gradient going to the element at
    ``indices`` only (PyTorch's rule for max/min with a dim; ``amax`` shares it among ties)."""
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"max/min: dim must be an int, got {dim!r} (use amax/amin for several dims)")
    axis = _dim(dim, x.ndim, "max" if largest else "min")
    if x.ndim and x.shape[axis] == 0:  # (an empty tensor along another dim gives empty results)
        raise RuntimeError(f"max/min along dim {dim} of an empty tensor of shape {x.shape}: "
                           "that dim has no element to choose from")
    if x.ndim == 0:
        return MinMax(x * 1, Tensor._make(np.zeros((), np.int64)))
    indices = (np.argmax if largest else np.argmin)(x._data, axis=axis, keepdims=True)
    index = list(np.indices(indices.shape, sparse=True))
    index[axis] = indices
    values = GetItem.apply(x, tuple(index))
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return MinMax(values, Tensor._make(np.asarray(indices, np.int64)))


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    start, end = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
    return x.reshape(shape)


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = _axes(dim, None, x.ndim)
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return x.reshape(shape)


def unsqueeze(x, dim):
    dim = _dim(dim, x.ndim + 1, "unsqueeze")
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


def expand(x, shape):
    """Broadcast ``x`` to ``shape`` (-1 keeps a size); the gradient is summed back."""
    if len(shape) < x.ndim:
        raise ValueError(f"expand: the target shape {tuple(shape)} has fewer dims than the tensor's "
                         f"shape {x.shape}")
    shape = tuple(old if new == -1 else new for old, new in
                  zip((None,) * (len(shape) - x.ndim) + x.shape, shape))
    return x if shape == x.shape else Expand.apply(x, shape)


def cat(tensors, dim=0):
    """Concatenate along ``dim``; the gradient is sliced back into pieces."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    for position, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(f"cat: the tensor at position {position} is 0-d and cannot be "
                             "concatenated (use stack)")
    return Cat.apply(_dim(dim, tensors[0].ndim, "cat"), *tensors)


def stack(tensors, dim=0):
    """Join same-shape tensors along a new ``dim``."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    dim = _dim(dim, tensors[0].ndim + 1, "stack")
    return Cat.apply(dim, *[unsqueeze(t, dim) for t in tensors])


__all__ = ["MinMax", "matmul", "mm", "linear", "where", "relu", "abs", "maximum", "minimum", "clip", "mean",
           "var", "std", "logsumexp", "max_along", "flatten", "squeeze", "unsqueeze", "expand", "cat",
           "stack"]
