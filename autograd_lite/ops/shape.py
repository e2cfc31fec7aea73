"""Shape primitives: reshape, permute, expand, indexing (with its scatter-add adjoint) and cat.

Each backward is the adjoint shape operation, itself written with these primitives, so gradients of
gradients flow through them too.
"""
from __future__ import annotations

import numpy as np

from ..function import Function, shape_of
from ..tensor import Tensor
from .onnx_mapping import basic_index

_make = Tensor._make


def _view(array, base):
    """``array`` (a view of ``base``'s memory, or a copy) as a Tensor that shares ``base``'s
    version counter when it is a view."""
    out = _make(array)
    if array.base is not None:
        out._version_counter = base._version_counter
    return out


class Reshape(Function):
    """a viewed with another shape (``-1`` infers one size); backward reshapes the gradient back."""
    rule = {"en": "grad reshaped back", "es": "grad devuelto a la forma original"}

    @staticmethod
    def forward(ctx, a, shape):
        try:
            out = a._data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {a.shape} ({a._data.size} "
                             f"elements) as shape {tuple(shape)}") from None
        return _view(out, a)

    @staticmethod
    def backward(ctx, grad):
        return Reshape.apply(grad, shape_of(ctx.inputs[0])), None

    @staticmethod
    def backward_plain(ctx, grad):
        return _make(grad._data.reshape(shape_of(ctx.inputs[0]))), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        source, shape = node.inputs
        g.op("Reshape", [inputs[0], g.reshape_target(source.shape, shape)], outputs)


class Permute(Function):
    """a with its axes reordered; backward applies the inverse permutation."""
    rule = {"en": "grad permuted back", "es": "grad con la permutación inversa"}

    @staticmethod
    def forward(ctx, a, axes):
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {a.ndim} dims of a "
                             f"tensor of shape {a.shape}")
        return _view(a._data.transpose(axes), a)

    @staticmethod
    def backward(ctx, grad):
        return Permute.apply(grad, tuple(np.argsort(ctx.inputs[1]).tolist())), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("Transpose", [inputs[0]], outputs, perm=[int(a) for a in node.inputs[1]])


class Expand(Function):
    """Broadcast to ``shape`` (materialised: cheaper than a broadcast view for the small arrays
    autodiff mostly expands, and the result owns writable memory); backward sums back."""
    rule = {"en": "grad summed over the expanded dims", "es": "grad sumado en las dims expandidas"}

    @staticmethod
    def forward(ctx, a, shape):
        try:
            out = np.empty(shape, dtype=a._data.dtype)
            out[...] = a._data
            return _make(out)
        except ValueError:
            raise ValueError(f"expand: a tensor of shape {a.shape} cannot be expanded to "
                             f"{tuple(shape)} (only size-1 dims can grow)") from None

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, shape_of(ctx.inputs[0])), None

    @staticmethod
    def backward_plain(ctx, grad):
        return unbroadcast_plain(grad, shape_of(ctx.inputs[0])), None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("Expand", [inputs[0], g.constant(np.array(node.inputs[1], np.int64))], outputs)


def _is_basic(index):
    """True when ``index`` uses only ints, slices, None and Ellipsis (NumPy basic indexing, whose
    elements are all distinct, so a plain assignment scatters the gradient)."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class GetItem(Function):
    """a[index] with NumPy indexing (ints, slices, None, Ellipsis, integer and boolean arrays).
    Backward scatter-adds the gradient into zeros of a's shape: repeated indices accumulate."""
    rule = {"en": "grad scattered back to the indexed places",
            "es": "grad repartido a las posiciones indexadas"}

    @staticmethod
    def forward(ctx, a, index):
        try:
            out = np.asarray(a._data[index])
        except IndexError as error:
            raise IndexError(f"index {index!r} into a tensor of shape {a.shape}: {error}") from None
        return _view(out, a) if _is_basic(index) else _make(out)  # advanced indexing copies

    @staticmethod
    def backward(ctx, grad):
        a, index = ctx.inputs
        return IndexAdd.apply(grad, a.shape, index), None

    onnx = staticmethod(basic_index)


class IndexAdd(Function):
    """zeros(shape) with ``source`` scatter-added at ``index`` (repeated indices accumulate);
    backward gathers the gradient at ``index``."""
    rule = {"en": "grad gathered from the indexed places",
            "es": "grad tomado de las posiciones indexadas"}

    @staticmethod
    def forward(ctx, source, shape, index):
        out = np.zeros(shape, dtype=source.dtype)
        if _is_basic(index):
            out[index] = source._data
        else:
            np.add.at(out, index, source._data)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        return GetItem.apply(grad, ctx.inputs[2]), None, None


class ConstantPad(Function):
    """x with ``widths`` ((before, after) per dim, each >= 0) entries of ``value`` added around it;
    the gradient is the incoming one's middle part (the padding does not depend on x)."""
    rule = {"en": "grad without its padding", "es": "grad sin su relleno"}

    @staticmethod
    def forward(ctx, x, widths, value):
        return _make(np.pad(x._data, widths, constant_values=value))

    @staticmethod
    def backward(ctx, grad):
        x, widths, _ = ctx.inputs
        index = tuple(slice(before, before + size) for (before, _), size in zip(widths, shape_of(x)))
        return GetItem.apply(grad, index), None, None


class Cat(Function):
    """cat(tensors, dim) (``Cat.apply(dim, *tensors)``); backward slices the gradient back into
    pieces. Mixed dtypes promote like PyTorch."""
    rule = {"en": "grad split back into the pieces", "es": "grad dividido en los trozos"}

    @staticmethod
    def forward(ctx, dim, *tensors):
        arrays = [t._data for t in tensors]
        try:
            out = np.concatenate(arrays, axis=dim)
        except (ValueError, np.exceptions.AxisError):
            shapes = [a.shape for a in arrays]
            raise ValueError(f"cat along dim {dim}: shapes {shapes} must match except in that "
                             "dim") from None
        if any(a.dtype != out.dtype for a in arrays):
            expected = result_type(*tensors)
            out = out if out.dtype == expected else out.astype(expected)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        dim, *tensors = ctx.inputs
        dim %= grad.ndim
        pieces, start = [None], 0
        for tensor, needed in zip(tensors, ctx.needs_input_grad[1:]):
            size = tensor.shape[dim]
            index = (slice(None),) * dim + (slice(start, start + size),)
            pieces.append(GetItem.apply(grad, index) if needed else None)
            start += size
        return tuple(pieces)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("Concat", inputs[1:], outputs, axis=int(node.inputs[0]))


from ..dtypes import result_type  # noqa: E402
from .broadcasting import unbroadcast, unbroadcast_plain  # noqa: E402
