"""Composite operations: built only from primitives, so they need no backward of their own."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..tensor import Tensor, _axes, _raw
from . import LinearFn, MatMul, Max, Reshape, Sum, Where, Cat, Expand

MinMax = namedtuple("MinMax", ["values", "indices"])


def _tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    dtype = like.dtype if like is not None and like.dtype.kind == "f" else None
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
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    out = MatMul.apply(a.reshape(1, -1) if squeeze_first else a,
                       b.reshape(-1, 1) if squeeze_last else b)
    if squeeze_first and squeeze_last:
        return out.reshape(out.shape[:-2])
    if squeeze_first:
        return out.reshape(out.shape[:-2] + out.shape[-1:])
    return out.reshape(out.shape[:-1])


def linear(x, weight, bias=None):
    """x @ weight.T + bias, one fused node (see ops.linalg.Linear)."""
    return LinearFn.apply(x, weight, bias) if bias is not None else LinearFn.apply(x, weight)


def where(condition, a, b):
    condition = np.asarray(_raw(condition), dtype=bool)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return Tensor(np.where(condition, a, b))
    return Where.apply(condition, a, b)


def relu(x):
    """max(x, 0), with gradient 0 at 0 (PyTorch's convention)."""
    return x * (x.data > 0)


def abs(x):
    """|x| = x * sign(x); the gradient at 0 is 0, as in PyTorch."""
    return x * np.sign(x.data)


def maximum(a, b):
    a, b = _tensor(a, b), _tensor(b, a)
    return Where.apply(a.data >= b.data, a, b)


def minimum(a, b):
    a, b = _tensor(a, b), _tensor(b, a)
    return Where.apply(a.data <= b.data, a, b)


def clip(x, low=None, high=None):
    """Clamp to [low, high]; the gradient passes where low <= x <= high (PyTorch's rule)."""
    if low is None and high is None:
        raise ValueError("clip: at least one of min and max must be given")
    clipped = np.clip(x.data, _raw(low), _raw(high)).astype(x.dtype, copy=False)
    inside = clipped == x.data
    return Where.apply(inside, x, clipped)


def mean(x, axes=None, keepdim=False):
    count = x.data.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    return Sum.apply(x, axes, keepdim) * (1.0 / count) if count else Sum.apply(x, axes, keepdim) / count


def var(x, axes=None, keepdim=False, correction=1):
    """sum((x - mean)^2) / (N - correction); correction=1 is the unbiased estimate (PyTorch's
    default)."""
    count = x.data.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    centred = x - mean(x, axes, keepdim=True)
    return Sum.apply(centred * centred, axes, keepdim) / max(count - correction, 0)


def logsumexp(x, axes=None, keepdim=False):
    """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max(x) held constant."""
    m = np.max(x.data, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = Sum.apply((x - m).exp(), axes, True).log() + m
    if not keepdim:
        out = out.reshape(np.sum(m, axis=axes).shape if axes is not None else ())
    return out


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return x.reshape(shape)


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = _axes(dim, None, x.ndim)
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return x.reshape(shape)


def unsqueeze(x, dim):
    dim = dim % (x.ndim + 1)
    return x.reshape(x.shape[:dim] + (1,) + x.shape[dim:])


def expand(x, shape):
    shape = tuple(old if new == -1 else new for old, new in
                  zip((None,) * (len(shape) - x.ndim) + x.shape, shape))
    return x if shape == x.shape else Expand.apply(x, shape)


def cat(tensors, dim=0):
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return Cat.apply(dim, *tensors)


def stack(tensors, dim=0):
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return Cat.apply(dim, *[unsqueeze(t, dim) for t in tensors])
