"""PyTorch's ``torch.linalg`` norms: ``vector_norm`` and ``norm`` (vectors, and the Frobenius norm
of matrices), composites with gradients (see ``ops.mathops.norm``)."""
from __future__ import annotations

from .ops.mathops import norm as _norm, _tensor


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements by default); ord may be inf, -inf or 0."""
    return _norm(_tensor(x), ord, dim, keepdim, dtype)


def norm(x, ord=None, dim=None, keepdim=False, *, dtype=None):
    """The 2-norm of a vector or the Frobenius norm of a matrix (``ord=None`` or ``'fro'``), or
    ``vector_norm(x, ord, dim)``; matrix norms other than Frobenius are not supported."""
    x = _tensor(x)
    if ord in (None, "fro"):
        return _norm(x, 2, dim, keepdim, dtype)
    if isinstance(ord, str) or (x.ndim == 2 and dim is None) or (isinstance(dim, tuple) and len(dim) == 2):
        raise NotImplementedError(f"linalg.norm: the matrix norm ord={ord!r} is not supported; use "
                                  "ord=None / 'fro', or linalg.vector_norm")
    return _norm(x, ord, dim, keepdim, dtype)


def matrix_norm(x, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The Frobenius norm of the matrices in the last two dims (the only matrix norm supported)."""
    if ord != "fro":
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} is not supported (only 'fro')")
    return _norm(_tensor(x), 2, dim, keepdim, dtype)


__all__ = ["vector_norm", "norm", "matrix_norm"]
