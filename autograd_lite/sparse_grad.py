"""``RowSparseGrad``: a gradient that is zero except in a few rows, as an embedding table's is.

A lookup of T tokens in a table of N rows gives the table a gradient whose only non-zero rows are
the (at most T) distinct rows looked up. A backward formula may return it as

    RowSparseGrad(rows, values, shape)   dense[rows[k], :] = values[k, :], every other row zero
                                         rows (U,) distinct integers, values (U, D), shape (N, D)

instead of the dense (N, D) array. The engine (``autodiff.run_backward``) adds it into a leaf's
``.grad`` by a scatter-add, ``grad[rows] += values``: in place into an existing ``.grad`` (time
O(U D), whatever N), or into a new zero table when ``.grad`` is None. Everywhere a gradient must be
a Tensor (it flows on into a non-leaf, a tensor hook, ``ag.grad``, ``create_graph=True``,
``detect_anomaly``, the teaching stepper) the engine makes it dense first with ``densify``, so no
other code sees it: ``.grad`` is always a dense Tensor, as the optimizers expect.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor


class RowSparseGrad:
    """A gradient of ``shape`` (N, D): ``values[k]`` in row ``rows[k]``, zero elsewhere."""
    __slots__ = ("rows", "values", "shape")

    def __init__(self, rows, values, shape):
        self.rows, self.values, self.shape = rows, values, tuple(shape)  # (U,), (U, D), (N, D)

    def dense(self, dtype=None):
        """The (N, D) Tensor: a zero table with ``values`` written into their rows."""
        table = np.zeros(self.shape, self.values.dtype if dtype is None else dtype)
        table[self.rows] = self.values
        return Tensor._make(table)

    def add_to(self, leaf, handed):
        """``leaf.grad += self``. An existing ``.grad`` is updated in place, in its rows ``rows``
        only, unless its array is in ``handed`` (the engine's ids of arrays shared with gradients
        still in flight) or read-only: then the sum goes into a copy, as for dense gradients."""
        if leaf.shape != self.shape:
            raise RuntimeError(f"a row-sparse gradient of shape {self.shape} for a tensor of shape "
                               f"{leaf.shape}")
        current = leaf._grad
        if current is None:
            leaf._grad = self.dense(leaf.dtype)  # a new array: nobody else holds it
            return
        data = current._data
        if id(data) in handed or not data.flags.writeable:
            data = current._data = data.copy()
        data[self.rows] += self.values  # rows are distinct: a plain indexed add is a scatter-add


def densify(grad):
    """``grad`` as a dense Tensor if it is a ``RowSparseGrad``; anything else unchanged."""
    return grad.dense() if grad.__class__ is RowSparseGrad else grad
