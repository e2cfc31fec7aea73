"""Row-sparse gradients, as an embedding table's: zero except in the few rows a batch looked up.

A lookup of T tokens in a table of N rows gives the table a gradient whose only non-zero rows are
the (at most T) distinct rows looked up. A backward formula may return it as

    RowSparseGrad(rows, values, shape)   dense[rows[k], :] = values[k, :], every other row zero
                                         rows (U,) distinct integers, values (U, D), shape (N, D)

instead of the dense (N, D) array. The engine (``autodiff.run_backward``) hands it to a leaf's
``.grad`` with ``add_to``, in time O(U D) whatever N:

* ``.grad`` None (every step after ``optimizer.zero_grad()``): ``.grad`` becomes a
  ``RowSparseGradTensor``, a Tensor that keeps only (rows, values) and builds its dense (N, D)
  array the first time anything reads it (any Tensor method or op, ``.numpy()``, printing,
  ``clip_grad_norm_``, ``+=``, a state dict...): the user sees an ordinary dense ``.grad`` with the
  same values. A second row-sparse gradient before that merges its rows in (still O(U D)). The
  optimizers in ``optim`` recognise a gradient not yet made dense (``pending_rows``) and update
  from its rows without building the table.
* ``.grad`` a dense Tensor: a scatter-add into it, in place, ``grad[rows] += values``.

Everywhere a gradient must be a Tensor (it flows on into a non-leaf, a tensor hook, ``ag.grad``,
``create_graph=True``, ``detect_anomaly``, the teaching stepper) the engine makes it dense first
with ``densify``.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor

_slot = Tensor.__dict__["_data"]  # Tensor's own storage for its array, below any subclass property
_held, _hold = _slot.__get__, _slot.__set__


class RowSparseGrad:
    """A gradient of ``shape`` (N, D): ``values[k]`` in row ``rows[k]``, zero elsewhere. Whoever
    receives one owns its arrays (a backward formula returns fresh ones)."""
    __slots__ = ("rows", "values", "shape")

    def __init__(self, rows, values, shape):
        self.rows, self.values, self.shape = rows, values, tuple(shape)  # (U,), (U, D), (N, D)

    def dense_array(self, dtype=None):
        """The (N, D) array: a zero table with ``values`` written into their rows."""
        table = np.zeros(self.shape, self.values.dtype if dtype is None else dtype)
        table[self.rows] = self.values
        return table

    def dense(self, dtype=None):
        """The (N, D) Tensor (see ``dense_array``)."""
        return Tensor._make(self.dense_array(dtype))

    def merged(self, other):
        """``self + other`` as one RowSparseGrad over the union of their rows. Each row's sum is
        the one a dense table would get: ``self``'s values written, then ``other``'s added."""
        rows = np.union1d(self.rows, other.rows)  # sorted, distinct
        values = np.zeros((rows.size,) + self.shape[1:], self.values.dtype)
        values[np.searchsorted(rows, self.rows)] = self.values
        values[np.searchsorted(rows, other.rows)] += other.values
        return RowSparseGrad(rows, values, self.shape)

    def add_to(self, leaf, handed):
        """``leaf.grad += self``. A None ``.grad`` becomes a ``RowSparseGradTensor`` holding these
        rows; one not yet made dense merges them in. An existing dense ``.grad`` is updated in
        place, in its rows ``rows`` only, unless its array is in ``handed`` (the engine's ids of
        arrays shared with gradients still in flight) or read-only: then the sum goes into a copy,
        as for dense gradients."""
        if leaf.shape != self.shape:
            raise RuntimeError(f"a row-sparse gradient of shape {self.shape} for a tensor of shape "
                               f"{leaf.shape}")
        current = leaf._grad
        if current is None:
            values = self.values
            if values.dtype != leaf.dtype:
                values = values.astype(leaf.dtype)
            leaf._grad = RowSparseGradTensor._of(RowSparseGrad(self.rows, values, self.shape))
            return
        pending = pending_rows(current)
        if pending is not None:
            _hold(current, pending.merged(self))
            return
        data = current._data
        if id(data) in handed or not data.flags.writeable:
            data = current._data = data.copy()
        data[self.rows] += self.values  # rows are distinct: a plain indexed add is a scatter-add


class RowSparseGradTensor(Tensor):
    """A leaf's ``.grad`` that holds a ``RowSparseGrad`` until something reads its array.

    Tensor keeps its array in the slot ``_data``; here ``_data`` is a property in front of that
    slot. While the slot holds a ``RowSparseGrad``, the first read of ``_data`` (which every Tensor
    method, op, property and conversion goes through) writes the dense (N, D) array into the slot
    and turns the object into a plain ``Tensor`` (``__class__`` assignment: same slots), so from
    then on it is one, at no extra cost. Until then ``pending_rows`` gives its rows without making
    it dense. Not thread-safe while pending, like any in-place change of a ``.grad``."""
    __slots__ = ()

    @staticmethod
    def _of(sparse):
        t = Tensor._make(np.empty(0))  # every slot initialised as for any new tensor...
        t.__class__ = RowSparseGradTensor
        _hold(t, sparse)  # ...then the pending rows in place of the array
        return t

    @property
    def _data(self):
        held = _held(self)
        if held.__class__ is RowSparseGrad:
            held = held.dense_array()
            _hold(self, held)
        self.__class__ = Tensor
        return held

    @_data.setter
    def _data(self, array):
        _hold(self, array)
        self.__class__ = Tensor

    def __reduce_ex__(self, protocol):  # copy, deepcopy, pickle: those of the dense tensor
        self._data  # noqa: B018  (the read makes it dense, and a plain Tensor)
        return Tensor.__reduce_ex__(self, protocol)


def pending_rows(grad):
    """The ``RowSparseGrad`` behind ``grad`` if it is a ``RowSparseGradTensor`` not yet made dense,
    else None (reads it without making it dense). Its arrays must not be modified."""
    if grad.__class__ is RowSparseGradTensor:
        held = _held(grad)
        if held.__class__ is RowSparseGrad:
            return held
    return None


def densify(grad):
    """``grad`` as a dense Tensor if it is a ``RowSparseGrad``; anything else unchanged."""
    return grad.dense() if grad.__class__ is RowSparseGrad else grad
