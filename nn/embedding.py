"""``Embedding`` (a lookup table of learnable rows) and ``embedding``, its functional form.

    out[..., :] = weight[indices[...], :]          weight (num_embeddings, embedding_dim)

The gradient with respect to the table is a scatter-add of the output gradient's rows into the rows
that were used (a row used twice gets both contributions). The T looked-up indices are sorted and
each run of equal indices summed with one sparse product (O(T log T + T D)); the backward returns
those U distinct rows and their sums as a ``RowSparseGrad`` (``autograd_lite/sparse_grad.py``), and
the engine hands them to the table's ``.grad`` touching U rows whatever the table's size: added in
place into an existing ``.grad``; when ``.grad`` is None (after ``zero_grad()``) kept as rows in a
``RowSparseGradTensor``, which becomes the dense table the first time it is read, and from which
the optimizers update without building it. Where a dense gradient is needed (the table is not a
leaf, has a hook, ``ag.grad``, ``create_graph=True``, ...) it is made dense; with ``create_graph``
the gradient is ``EmbeddingGrad``, a differentiable node, so double backward works.

``padding_idx``: that row's output is used as is but receives no gradient (and is initialised to
zeros). ``max_norm``: before the lookup, every referenced row whose ``norm_type``-norm exceeds
``max_norm`` is rescaled in place to norm ``max_norm`` (under no_grad, as PyTorch does).
``scale_grad_by_freq``: each row's gradient is divided by how often it occurs in the batch.
``sparse=True`` is accepted, as in PyTorch, but ``.grad`` reads as a dense Tensor (optimizers need
no sparse variants); the backward is row-sparse either way.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import Function, is_grad_enabled, no_grad
from autograd_lite.sparse_grad import RowSparseGrad
from autograd_lite.tensor import Tensor, as_dtype

from . import init
from .module import Module, Parameter

_make = Tensor._make


def _indices(input, num_embeddings):
    """The index array of ``input`` (an integer Tensor, array or list), checked against the table."""
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor (int64 or int32), got dtype "
                        f"{data.dtype}")
    if data.size:
        low, high = int(data.min()), int(data.max())
        bad = high if high >= num_embeddings else low
        if high >= num_embeddings or low < 0:
            raise IndexError(f"embedding: index {bad} is out of range for a table of "
                             f"{num_embeddings} rows (valid indices: 0 to {num_embeddings - 1})")
    return data


def _row_sums(indices, rows):
    """(distinct indices U, their summed rows (U, D), how often each occurs) of a scatter-add.

    The sum is a sparse (U, T) 0/1 matrix, built from the sorted indices, times rows (T, D): SciPy's
    compiled sparse product, one pass over the rows."""
    flat = indices.reshape(-1)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if flat.size else \
        np.zeros(0, np.intp)
    pointers = np.r_[starts, flat.size]
    from scipy.sparse import csr_matrix  # scipy comes with scikit-learn; imported on first use (slow)
    selector = csr_matrix((np.ones(flat.size, rows.dtype), order, pointers),
                          shape=(starts.size, flat.size))
    return ordered[starts], np.asarray(selector @ rows), np.diff(pointers)


def _table_gradient(grad, indices, num_embeddings, padding_idx, scale_grad_by_freq):
    """The table's gradient from the output gradient ``grad`` (*indices.shape, D), an array: the
    distinct rows used and their summed gradients, as a ``RowSparseGrad`` (row ``padding_idx``
    left out; each row divided by its count with ``scale_grad_by_freq``)."""
    dim = grad.shape[-1]
    rows, sums, counts = _row_sums(indices, grad.reshape(-1, dim))
    if scale_grad_by_freq:
        sums /= counts[:, None]
    if padding_idx is not None:
        used = rows != padding_idx
        rows, sums = rows[used], sums[used]
    return RowSparseGrad(rows, sums, (num_embeddings, dim))


class EmbeddingFn(Function):
    """out = weight[indices]; the gradient scatters into the rows used (row-sparse, or
    ``EmbeddingGrad`` when it must be differentiable)."""
    rule = {"en": "grad added into the rows used (EmbeddingGrad)",
            "es": "grad sumado en las filas usadas (EmbeddingGrad)"}
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        indices = indices._data if isinstance(indices, Tensor) else indices  # the checked index tensor
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale_grad_by_freq
        ctx.num_embeddings = weight.shape[0]
        return _make(np.take(weight._data, indices, axis=0))

    @staticmethod
    def backward(ctx, grad):
        arguments = (ctx.indices, ctx.num_embeddings, ctx.padding_idx, ctx.scale)
        if is_grad_enabled():  # create_graph=True: the gradient must itself be differentiable
            return EmbeddingGrad.apply(grad, *arguments), None, None, None
        return _table_gradient(grad._data, *arguments), None, None, None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        indices = g.op("Cast", [inputs[1]], to=g.onnx.TensorProto.INT64)[0]
        g.op("Gather", [inputs[0], indices], outputs, axis=0)


class EmbeddingGrad(Function):
    """table = zeros(num_embeddings, D); table[indices[t]] += grad[t] (row ``padding_idx`` left at
    zero; each row divided by its count with ``scale_grad_by_freq``): the dense, differentiable
    form of the table gradient, used with ``create_graph``. Linear in grad: its backward gathers
    the same rows, h[indices] (zero at padding, scaled likewise)."""
    rule = {"en": "linear in g: d/dg gathers the same rows",
            "es": "lineal en g: d/dg toma las mismas filas"}
    _fresh_gradients = True

    @staticmethod
    def forward(ctx, grad, indices, num_embeddings, padding_idx, scale_grad_by_freq):
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale_grad_by_freq
        return _table_gradient(grad._data, indices, num_embeddings, padding_idx,
                               scale_grad_by_freq).dense()

    @staticmethod
    def backward(ctx, h):
        out = EmbeddingFn.apply(h, ctx.indices, None, False)
        if ctx.padding_idx is not None or ctx.scale:
            factor = np.ones(ctx.indices.shape, h.dtype)
            if ctx.scale:
                values, counts = np.unique(ctx.indices, return_counts=True)
                factor = (1.0 / counts[np.searchsorted(values, ctx.indices)]).astype(h.dtype)
            if ctx.padding_idx is not None:
                factor[ctx.indices == ctx.padding_idx] = 0
            out = out * _make(factor[..., None])
        return out, None, None, None, None


def _renorm_(weight, indices, max_norm, norm_type):
    """Rescale, in place, each row in ``indices`` whose norm exceeds ``max_norm`` to that norm."""
    rows = np.unique(indices)
    with no_grad():
        table = weight._data
        norms = np.linalg.norm(table[rows], ord=norm_type, axis=1)
        too_long = norms > max_norm
        if too_long.any():
            scale = max_norm / (norms[too_long] + 1e-7)
            table[rows[too_long]] *= scale[:, None].astype(table.dtype)
            weight._version += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, D) at the integer ``input`` indices: shape (*input, D).

    ``sparse`` is accepted for PyTorch's signature; ``weight.grad`` is dense either way (the
    backward itself only touches the rows used, see the module docstring)."""
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), "
                         f"got {getattr(weight, 'shape', type(weight).__name__)}")
    num_embeddings = weight.shape[0]
    indices = _indices(input, num_embeddings)
    if padding_idx is not None:
        padding_idx = _padding_index(padding_idx, num_embeddings)
    if max_norm is not None:
        _renorm_(weight, indices, max_norm, norm_type)
    # the index tensor itself is the node's argument (not a copy), so that an exported graph
    # (ag.onnx.export) reads the indices from its input
    index_tensor = input if isinstance(input, Tensor) else Tensor._make(indices)
    return EmbeddingFn.apply(weight, index_tensor, padding_idx, scale_grad_by_freq)


def _padding_index(padding_idx, num_embeddings):
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx {padding_idx} must be within the table of {num_embeddings} "
                         "rows")
    return padding_idx % num_embeddings


class Embedding(Module):
    """A table of ``num_embeddings`` rows of size ``embedding_dim``, initialised from N(0, 1) (row
    ``padding_idx`` zeroed); ``forward(indices)`` returns the rows, shape (*indices.shape, dim).
    ``sparse=True`` is accepted as in PyTorch, but ``weight.grad`` stays a dense Tensor."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            padding_idx = _padding_index(padding_idx, self.num_embeddings)
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dtype = np.dtype(np.float32) if dtype is None else as_dtype(dtype)
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight of shape {tuple(_weight.shape)} does not match "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is (a copy of) ``embeddings`` (2-D); frozen by default."""
        data = embeddings._data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if data.ndim != 2:
            raise ValueError(f"Embeddings parameter is expected to be 2-dimensional, got shape "
                             f"{data.shape}")
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type,
                   scale_grad_by_freq, sparse, _weight=np.array(data), _freeze=freeze)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text
