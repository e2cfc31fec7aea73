"""Tensor's shape methods (reshape/view, permute, t, transpose/swapaxes, movedim, flatten,
unflatten, squeeze, unsqueeze, expand) and memory layout (contiguous, is_contiguous, stride):
thin calls into ``ops`` or ``ops.composite`` with PyTorch's argument forms and errors that name
the shapes; ``tensor`` attaches them to the class when it is imported."""
from __future__ import annotations

import numpy as np

from . import ops
from .arguments import check_dim as _dim, shape_from_args as _shape_arg
from .ops import composite
from .tensor import Tensor


def reshape(self, *shape):
    shape = _shape_arg(shape)
    if shape == self._data.shape:
        return self
    if shape.count(-1) > 1 or any(size < -1 for size in shape):
        raise ValueError(f"reshape: invalid shape {shape}: sizes must be >= 0, and only one "
                         "dimension can be -1")
    return ops.Reshape.apply(self, shape)


def permute(self, *dims):
    dims = _shape_arg(dims)
    if len(dims) != self.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor of shape {self.shape}")
    return ops.Permute.apply(self, tuple(_dim(d, self.ndim, "permute") for d in dims))


def t(self):
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are, as in PyTorch)."""
    if self.ndim > 2:
        raise ValueError(f"t() expects a tensor with at most 2 dims, got shape {self.shape}; use "
                         "transpose(dim0, dim1), permute or .mT")
    return self if self.ndim < 2 else ops.Permute.apply(self, (1, 0))


def transpose(self, dim0, dim1):
    axes = list(range(self.ndim))
    dim0, dim1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return ops.Permute.apply(self, tuple(axes))


def movedim(self, source, destination):
    """The dims ``source`` (an int or a sequence) moved to the positions ``destination``, the
    others keeping their order (a ``permute``)."""
    sources = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    targets = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(sources) != len(targets):
        raise ValueError(f"movedim: {len(sources)} source dims but {len(targets)} destinations")
    sources = tuple(_dim(d, self.ndim, "movedim") for d in sources)
    targets = tuple(_dim(d, self.ndim, "movedim") for d in targets)
    if len(set(sources)) != len(sources) or len(set(targets)) != len(targets):
        raise ValueError(f"movedim: repeated dims in source {source} or destination {destination}")
    order = [None] * self.ndim
    for s, t in zip(sources, targets):
        order[t] = s
    rest = iter(d for d in range(self.ndim) if d not in sources)
    return permute(self, *[d if d is not None else next(rest) for d in order])


def unflatten(self, dim, sizes):
    """Dim ``dim`` split into ``sizes`` (one of them may be -1)."""
    axis = _dim(dim, self.ndim, "unflatten")
    shape = tuple(self.shape)
    return reshape(self, shape[:axis] + tuple(sizes) + shape[axis + 1:])


def flatten(self, start_dim=0, end_dim=-1):
    return composite.flatten(self, start_dim, end_dim)


def squeeze(self, dim=None):
    return composite.squeeze(self, dim)


def unsqueeze(self, dim):
    return composite.unsqueeze(self, dim)


def expand(self, *shape):
    return composite.expand(self, _shape_arg(shape))


def expand_as(self, other):
    return composite.expand(self, other.shape)


def view(self, *shape):
    """``reshape`` that shares memory, as PyTorch's ``view``: a tensor whose memory is not laid out
    for the new shape (a transpose, a strided slice) raises instead of being copied, so that a
    write through the view never silently misses the original."""
    shape = _shape_arg(shape)
    data = self._data
    if shape != data.shape and data.size and not data.flags.c_contiguous:
        try:
            moved = data.reshape(shape)
        except ValueError:  # (the wrong number of elements: reshape says so below)
            moved = None
        if moved is not None and not np.may_share_memory(moved, data):
            raise RuntimeError(
                f"view: a tensor of shape {tuple(data.shape)} whose elements are not laid out "
                f"contiguously (a transpose or a strided slice) cannot be viewed as shape "
                f"{tuple(shape)} without a copy; use .reshape(...), which copies when it must, or "
                ".contiguous().view(...)")
    return reshape(self, shape)


def contiguous(self, memory_format=None):
    """self if its elements lie in row-major order, else a row-major copy (in the graph), as
    PyTorch: ``x.t().contiguous().view(-1)``."""
    return self if self._data.flags.c_contiguous else ops.Clone.apply(self)


def is_contiguous(self, memory_format=None):
    return bool(self._data.flags.c_contiguous)


def stride(self, dim=None):
    """Steps between neighbouring elements of each dim, in elements (PyTorch's strides)."""
    steps = tuple(step // self._data.itemsize for step in self._data.strides)
    return steps if dim is None else steps[_dim(dim, self._data.ndim, "stride")]


def view_as(self, other):
    return view(self, other.shape)


for _name in ("reshape", "view", "view_as", "permute", "t", "transpose", "flatten", "squeeze",
              "unsqueeze", "expand", "expand_as", "movedim", "unflatten", "contiguous",
              "is_contiguous", "stride"):
    setattr(Tensor, _name, globals()[_name])
Tensor.moveaxis = movedim
Tensor.swapaxes = Tensor.swapdims = transpose
Tensor.reshape_as = lambda self, other: reshape(self, other.shape)
del _name
