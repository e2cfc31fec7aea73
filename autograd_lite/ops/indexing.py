"""Selecting, rearranging and sorting elements, with PyTorch's names and arguments. All composites
of the ``GetItem`` / ``IndexAdd`` / ``Where`` / ``Reshape`` / ``Expand`` primitives, so each gradient
is the matching scatter or gather and second derivatives come for free.

``gather scatter scatter_add index_select masked_select take_along_dim narrow split chunk unbind roll
repeat tile repeat_interleave tril triu diag diagonal trace sort argsort topk kthvalue median``
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..arguments import check_dim, shape_from_args
from ..tensor import Tensor
from .elementwise import Where
from .shape import GetItem, IndexAdd, Expand
from .mathops import _tensor

_make = Tensor._make
SortResult = namedtuple("SortResult", ["values", "indices"])  # torch.return_types.sort & co


def _index_array(index, what, name="index"):
    array = np.asarray(index._data if isinstance(index, Tensor) else index)
    if array.dtype.kind not in "iu" and not (array.size == 0):
        raise TypeError(f"{what}: {name} must be an integer (int64) tensor, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _dim_index(index, dim, what, size):
    """The advanced-indexing tuple that reads ``x[..., index[...], ...]`` along ``dim`` elementwise
    (index has x's number of dims), after checking the index values against ``size``."""
    if index.size and (index.min() < -size or index.max() >= size):
        bad = index[(index < -size) | (index >= size)].flat[0]
        raise IndexError(f"{what}: index {bad} is out of bounds for dim {dim} of size {size}")
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def gather(x, dim, index, *, sparse_grad=False):
    """out[i][j][k] = x[i][index[i][j][k]][k] for dim=1 (index has x's number of dims and sizes no
    larger than x's outside ``dim``); the gradient is scatter-added back."""
    x = _tensor(x)
    index = _index_array(index, "gather")
    dim = check_dim(dim, x.ndim, "gather")
    if index.ndim != x.ndim:
        raise ValueError(f"gather: index must have as many dims as input ({x.ndim}), got index shape "
                         f"{index.shape} for input shape {x.shape}")
    for d, (i, s) in enumerate(zip(index.shape, x.shape)):
        if d != dim and i > s:
            raise ValueError(f"gather: index shape {index.shape} is larger than input shape "
                             f"{x.shape} in dim {d}")
    return GetItem.apply(x, _dim_index(index, dim, "gather", x.shape[dim] if x.ndim else 1))


def take_along_dim(x, indices, dim=None):
    """``gather`` with broadcasting of the other dims; ``dim=None`` indexes the flattened tensor."""
    x = _tensor(x)
    indices = _index_array(indices, "take_along_dim", "indices")
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    dim = check_dim(dim, x.ndim, "take_along_dim")
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices must have as many dims as input ({x.ndim}), got "
                         f"shape {indices.shape}")
    try:
        others = np.broadcast_shapes(tuple(1 if d == dim else s for d, s in enumerate(x.shape)),
                                     tuple(1 if d == dim else s for d, s in enumerate(indices.shape)))
    except ValueError:
        raise ValueError(f"take_along_dim: input of shape {tuple(x.shape)} and indices of shape "
                         f"{tuple(indices.shape)} cannot be broadcast together in the dims other "
                         f"than dim={dim} (each must be equal or 1)") from None
    x_shape = tuple(x.shape[d] if d == dim else s for d, s in enumerate(others))
    i_shape = tuple(indices.shape[d] if d == dim else s for d, s in enumerate(others))
    x = x if x.shape == x_shape else Expand.apply(x, x_shape)
    return gather(x, dim, np.broadcast_to(indices, i_shape))


def _scatter_parts(x, dim, index, what):
    x = _tensor(x)
    index = _index_array(index, what)
    dim = check_dim(dim, x.ndim, what)
    if index.ndim != x.ndim:
        raise ValueError(f"{what}: index must have as many dims as self ({x.ndim}), got index shape "
                         f"{index.shape}")
    return x, dim, _dim_index(index, dim, what, x.shape[dim] if x.ndim else 1), index.shape


def _source(src, shape, x, what):
    src = _tensor(src, x)
    if src.ndim != len(shape) or any(s < i for s, i in zip(src.shape, shape)):
        raise ValueError(f"{what}: src of shape {src.shape} must be at least as large as index "
                         f"{shape} in every dim")
    return src if src.shape == shape else src[tuple(slice(0, s) for s in shape)]


def scatter(x, dim, index, src=None, value=None, *, reduce=None):
    """A copy of x with x[i][index[i][j]] = src[i][j] (dim=1); ``value=`` a number instead of src;
    ``reduce='add'`` is ``scatter_add``. Positions written twice are undefined, as in PyTorch."""
    if reduce == "add":
        return scatter_add(x, dim, index, src if src is not None else _tensor(value))
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported (use None or 'add')")
    if src is not None and not isinstance(src, Tensor) and np.ndim(src) == 0:
        src, value = None, src
    x, dim, where, shape = _scatter_parts(x, dim, index, "scatter")
    mask = np.zeros(x.shape, bool)
    mask[where] = True
    if src is None:
        if value is None:
            raise TypeError("scatter: pass src (a tensor) or value (a number)")
        return Where.apply(mask, value, x)
    return Where.apply(mask, IndexAdd.apply(_source(src, shape, x, "scatter"), x.shape, where), x)


def scatter_add(x, dim, index, src):
    """A copy of x with src[i][j] added at x[i][index[i][j]] (dim=1); repeated indices accumulate."""
    x, dim, where, shape = _scatter_parts(x, dim, index, "scatter_add")
    return x + IndexAdd.apply(_source(src, shape, x, "scatter_add"), x.shape, where)


def index_select(x, dim, index):
    """The entries of x at the 1-D ``index`` along ``dim``."""
    x = _tensor(x)
    index = _index_array(index, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {index.shape}")
    dim = check_dim(dim, x.ndim, "index_select")
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(())
    return GetItem.apply(x, (slice(None),) * dim + (index.reshape(-1),))


def masked_select(x, mask):
    """The 1-D tensor of x's entries where the (broadcast) boolean ``mask`` holds."""
    x = _tensor(x)
    mask = np.asarray(mask._data if isinstance(mask, Tensor) else mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    x = x if x.shape == shape else Expand.apply(x, shape)
    return GetItem.apply(x, np.broadcast_to(mask, shape))


def narrow(x, dim, start, length):
    """x[..., start:start + length, ...] along ``dim`` (a view)."""
    x = _tensor(x)
    dim = check_dim(dim, x.ndim, "narrow")
    size = x.shape[dim]
    start = int(start)
    start = start + size if start < 0 else start
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise IndexError(f"narrow: start {start} and length {length} exceed dim {dim} of size {size}")
    return x[(slice(None),) * dim + (slice(start, start + length),)]


def split(x, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes."""
    x = _tensor(x)
    dim = check_dim(dim, x.ndim, "split")
    size = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and size:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != size:
            raise ValueError(f"split: sections {sizes} sum to {sum(sizes)}, but dim {dim} has size {size}")
    pieces, start = [], 0
    for s in sizes:
        pieces.append(x[(slice(None),) * dim + (slice(start, start + s),)])
        start += s
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer when they run out), as PyTorch."""
    x = _tensor(x)
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    size = x.shape[check_dim(dim, x.ndim, "chunk")]
    return split(x, max(-(-size // chunks), 1), dim)


def unbind(x, dim=0):
    """The slices of x along ``dim``, that dim removed."""
    x = _tensor(x)
    dim = check_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * dim + (i,)] for i in range(x.shape[dim]))


def roll(x, shifts, dims=None):
    """Elements shifted by ``shifts`` along ``dims`` (the flattened tensor when dims is None),
    wrapping around."""
    x = _tensor(x)
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            shifts, = shifts
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    out = x
    for shift, dim in zip(shifts, dims):
        dim = check_dim(dim, x.ndim, "roll")
        n = x.shape[dim]
        if n:
            out = GetItem.apply(out, (slice(None),) * dim + ((np.arange(n) - shift) % n,))
    return out


def repeat(x, *sizes):
    """x tiled ``sizes`` times along each dim (extra leading sizes add dims), as ``Tensor.repeat``."""
    x = _tensor(x)
    sizes = shape_from_args(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: got {len(sizes)} repeat counts for a tensor with {x.ndim} dims "
                         f"(shape {x.shape}); give at least {x.ndim}")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    spread = x.reshape(tuple(v for s in shape for v in (1, s)))                   # (1, s0, 1, s1, ...)
    target = tuple(v for r, s in zip(sizes, shape) for v in (r, s))               # (r0, s0, r1, s1, ...)
    return Expand.apply(spread, target).reshape(tuple(r * s for r, s in zip(sizes, shape)))


def tile(x, dims):
    """``repeat`` whose counts are padded with ones on the left to x's number of dims."""
    x = _tensor(x)
    dims = shape_from_args((dims,))
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)


def repeat_interleave(x, repeats, dim=None, *, output_size=None):
    """Each element repeated ``repeats`` times (an int, or one count per element) along ``dim``
    (the flattened tensor when None)."""
    x = _tensor(x)
    if dim is None:
        x, dim = x.reshape(-1), 0
    dim = check_dim(dim, x.ndim, "repeat_interleave")
    counts = _index_array(repeats, "repeat_interleave", "repeats").reshape(-1)
    n = x.shape[dim] if x.ndim else 1
    if counts.size not in (1, n) or (counts < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be non-negative, one or {n} of them, got "
                         f"{counts.tolist()}")
    return GetItem.apply(x if x.ndim else x.reshape(1), (slice(None),) * dim + (np.repeat(np.arange(n), counts),))


def _triangle(x, diagonal, keep, what):
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{what}: expected a tensor with at least 2 dims, got shape {x.shape}")
    mask = keep(np.ones(x.shape[-2:], bool), diagonal)
    return Where.apply(mask, x, np.zeros((), x.dtype))


def tril(x, diagonal=0):
    """The lower triangle (entries on and below ``diagonal``), the rest zero."""
    return _triangle(x, diagonal, np.tril, "tril")


def triu(x, diagonal=0):
    """The upper triangle (entries on and above ``diagonal``), the rest zero."""
    return _triangle(x, diagonal, np.triu, "triu")


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes, moved to the last dim (a 1-D result for a matrix)."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: expected a tensor with at least 2 dims, got shape {x.shape}")
    d1, d2 = check_dim(dim1, x.ndim, "diagonal"), check_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    rest = [d for d in range(x.ndim) if d not in (d1, d2)]
    moved = x.permute(*rest, d1, d2)
    rows, cols = moved.shape[-2:]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(min(rows - start_row, cols - start_col), 0)
    i = np.arange(length)
    return GetItem.apply(moved, (Ellipsis, i + start_row, i + start_col))


def diag(x, diagonal=0):
    """A 1-D x: the square matrix with x on its ``diagonal``; a matrix: its ``diagonal`` as 1-D."""
    x = _tensor(x)
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
    n = x.shape[0] + abs(diagonal)
    i = np.arange(x.shape[0])
    rows, cols = (i, i + diagonal) if diagonal >= 0 else (i - diagonal, i)
    return IndexAdd.apply(x, (n, n), (rows, cols))


def trace(x):
    """Sum of the main diagonal of a matrix."""
    x = _tensor(x)
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix, got shape {x.shape}")
    return diagonal(x).sum()


# ------------------------------------------------------------------------------- ordering
def _order(x, dim, descending, stable):
    data = x._data
    if descending:  # a stable sort of the negation keeps equal elements in order; NaN sorts first
        keys = -data.astype(np.float64) if data.dtype.kind in "fiu" else ~data
        keys = np.where(np.isnan(keys), -np.inf, keys) if keys.dtype.kind == "f" else keys
    else:
        keys = data
    return np.argsort(keys, axis=dim, kind="stable").astype(np.int64)


def argsort(x, dim=-1, descending=False, stable=False):
    """Indices that sort x along ``dim`` (ties in their original order)."""
    x = _tensor(x)
    if x.ndim == 0:
        return _make(np.zeros((), np.int64))
    return _make(_order(x, check_dim(dim, x.ndim, "argsort"), descending, stable))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along ``dim``; the gradient goes back to each element's place."""
    x = _tensor(x)
    if x.ndim == 0:
        return SortResult(x * 1, _make(np.zeros((), np.int64)))
    dim = check_dim(dim, x.ndim, "sort")
    indices = _order(x, dim, descending, stable)
    return SortResult(gather(x, dim, indices), _make(indices))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) entries along ``dim``, largest first."""
    x = _tensor(x)
    dim = check_dim(dim, x.ndim, "topk")
    size = x.shape[dim] if x.ndim else 1
    if not 0 <= k <= size:
        raise ValueError(f"topk: k ({k}) must be in [0, {size}] (the size of dim {dim})")
    if x.ndim == 0:
        return SortResult(x * 1, _make(np.zeros((), np.int64)))
    indices = _order(x, dim, largest, True)[(slice(None),) * dim + (slice(0, k),)]
    return SortResult(gather(x, dim, indices), _make(np.array(indices)))


def kthvalue(x, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest entry along ``dim`` (k counts from 1)."""
    x = _tensor(x)
    dim = check_dim(dim, x.ndim, "kthvalue")
    size = x.shape[dim] if x.ndim else 1
    if not 1 <= k <= size:
        raise ValueError(f"kthvalue: k ({k}) must be in [1, {size}] (the size of dim {dim})")
    if x.ndim == 0:
        return SortResult(x * 1, _make(np.zeros((), np.int64)))
    indices = _order(x, dim, False, True)[(slice(None),) * dim + (slice(k - 1, k),)]
    values = gather(x, dim, indices)
    if not keepdim:
        values, indices = values.squeeze(dim), indices.squeeze(dim)
    return SortResult(values, _make(np.array(indices)))


def median(x, dim=None, keepdim=False):
    """The lower median (the ((n - 1) // 2)-th smallest, as PyTorch): a 0-d tensor over all
    elements, or (values, indices) along ``dim``. The gradient goes to the median element along
    ``dim``, and over all elements is shared evenly among the elements equal to it (PyTorch's
    rules for the two)."""
    x = _tensor(x)
    missing = np.isnan(x._data) if x._data.dtype.kind == "f" else None
    if missing is not None and not missing.any():
        missing = None  # (NaN, where there is one, is the median: PyTorch propagates it)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise RuntimeError("median of an empty tensor")
        if missing is not None:  # the first NaN; the NaNs are the ties
            ties = missing.reshape(-1)
            value = flat[int(np.argmax(ties))]
        else:
            value = kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
            ties = flat._data == value._data
        if not value.requires_grad or ties.sum() < 2:
            return value
        share = flat * _make((ties / ties.sum()).astype(flat.dtype))
        spread = share.sum()
        return value.detach() + (spread - spread.detach())  # the value exactly, the shared gradient
    size = x.shape[check_dim(dim, x.ndim, "median")] if x.ndim else 1
    result = kthvalue(x, (size + 1) // 2, dim, keepdim)
    if missing is None or x.ndim == 0:
        return result
    axis = check_dim(dim, x.ndim, "median")
    chosen = result.indices._data if keepdim else np.expand_dims(result.indices._data, axis)
    chosen = np.where(missing.any(axis=axis, keepdims=True),
                      np.argmax(missing, axis=axis, keepdims=True), chosen)  # the first NaN
    values = gather(x, axis, chosen)
    if not keepdim:
        values, chosen = values.squeeze(axis), chosen.squeeze(axis)
    return SortResult(values, _make(np.array(chosen)))
