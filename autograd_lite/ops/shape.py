"""Shape primitives: reshape, permute, expand, indexing (with its scatter-add adjoint) and cat.

Each backward is the adjoint shape operation, itself written with these primitives, so gradients of
gradients flow through them too.
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ..tensor import Tensor

_make = Tensor._make


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return _make(a.data.reshape(shape))
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {a.shape} ({a.data.size} "
                             f"elements) as shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad):
        return Reshape.apply(grad, ctx.shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {a.ndim} dims of a "
                             f"tensor of shape {a.shape}")
        ctx.inverse = tuple(np.argsort(axes))
        return _make(a.data.transpose(axes))

    @staticmethod
    def backward(ctx, grad):
        return Permute.apply(grad, ctx.inverse), None


class Expand(Function):
    """Broadcast to ``shape`` (materialised: cheaper than a broadcast view for the small arrays
    autodiff mostly expands, and the result owns writable memory); backward sums back."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            out = np.empty(shape, dtype=a.dtype)
            out[...] = a.data
            return _make(out)
        except ValueError:
            raise ValueError(f"expand: a tensor of shape {a.shape} cannot be expanded to "
                             f"{tuple(shape)} (only size-1 dims can grow)") from None

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


def _is_basic(index):
    """True when ``index`` uses only ints, slices, None and Ellipsis (NumPy basic indexing, whose
    elements are all distinct, so a plain assignment scatters the gradient)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        try:
            return _make(np.asarray(a.data[index]))
        except IndexError as error:
            raise IndexError(f"index {index!r} into a tensor of shape {a.shape}: {error}") from None

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.shape, ctx.index), None


class IndexAdd(Function):
    """zeros(shape) with ``source`` scatter-added at ``index`` (repeated indices accumulate)."""

    @staticmethod
    def forward(ctx, source, shape, index):
        ctx.index = index
        out = np.zeros(shape, dtype=source.dtype)
        if _is_basic(index):
            out[index] = source.data
        else:
            np.add.at(out, index, source.data)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.index), None, None


class Cat(Function):
    """cat(tensors, dim); backward slices the gradient back into pieces."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        arrays = [t.data for t in tensors]
        try:
            out = np.concatenate(arrays, axis=dim)
        except ValueError:
            shapes = [a.shape for a in arrays]
            raise ValueError(f"cat along dim {dim}: shapes {shapes} must match except in that "
                             "dim") from None
        ctx.dim = dim % out.ndim
        ctx.sizes = [a.shape[ctx.dim] for a in arrays]
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        pieces, start = [None], 0
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            index = (slice(None),) * ctx.dim + (slice(start, start + size),)
            pieces.append(GetItem.apply(grad, index) if needed else None)
            start += size
        return tuple(pieces)


from .elementwise import unbroadcast  # noqa: E402
