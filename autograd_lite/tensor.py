"""`Tensor`: a NumPy array that remembers how it was computed.

``t._data`` is the NumPy array (``t.data`` is, as in PyTorch, a Tensor sharing it, outside the
graph), ``t.grad`` the accumulated gradient (a Tensor or None), ``t._ctx`` the op that produced it
(None for leaves), ``t._version`` a counter bumped by every in-place method (so that backward can
refuse a tensor modified after it was saved). Every differentiable method here is a thin
call into ``ops`` (primitives with their backward) or ``ops.composite`` (built from primitives); the
in-place methods, which record no graph, live in ``tensor_inplace``, the shape methods in
``tensor_shape``, the reductions in ``tensor_reductions``.
"""
from __future__ import annotations

import warnings
from operator import attrgetter as _attrgetter

import numpy as np

from . import function as _function
from .exported import export as _export
from .arguments import check_dim as _dim, to_array as _to_array
from .arguments import dtype_of_to as _dtype_of_to
from .dtypes import (as_dtype, float16, float32, float64, int8, int16, int32, int64, uint8,  # noqa: F401
                     bool_)


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats become float32 (the default float
    dtype), Python ints int64; a NumPy array keeps its dtype (float64 stays float64) and is not copied.
    """
    __slots__ = ("_data", "_grad", "requires_grad", "_ctx", "_out_index", "_version_counter", "name",
                 "_retains_grad", "_backward_hooks", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self._data = _to_array(data, dtype)
        self._grad = self._ctx = self._backward_hooks = None
        self._out_index = 0
        # a Tensor made from a Tensor shares its memory, so it shares its version counter too
        self._version_counter = (data._version_counter if isinstance(data, Tensor) and
                                 self._data is data._data else [0])
        self.name = name
        self._retains_grad = self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(array):
        """Fast constructor for the ops: wraps the ndarray ``array`` as it is (a NumPy scalar, which
        ufuncs return for 0-d inputs, becomes a 0-d array)."""
        t = _new(Tensor)
        t._data = array if array.__class__ is _ndarray else np.asarray(array)
        t._grad = t._ctx = t.name = t._backward_hooks = None
        t._out_index = 0
        t._version_counter = [0]
        t._retains_grad = t.requires_grad = False
        return t

    def _share_version(self, base):
        """Make this tensor, a view of ``base``'s memory, share its version counter (an in-place
        change through either one then invalidates what backward saved of the other)."""
        self._version_counter = base._version_counter
        return self

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (shared by views)."""
        return self._version_counter[0]

    @_version.setter
    def _version(self, value):
        self._version_counter[0] = value

    # ----------------------------------------------------------------- properties
    shape = property(lambda self: self._data.shape)
    ndim = property(_attrgetter("_data.ndim"))  # C-level getters: these are read on hot paths
    dtype = property(_attrgetter("_data.dtype"))
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))
    is_floating_point = lambda self: self._data.dtype.kind == "f"
    device = property(lambda self: "cpu")  # PyTorch code runs unchanged: the CPU is the only device

    def size(self, dim=None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self):
        return self._data.size

    def dim(self):
        return self._data.ndim

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __contains__(self, element):
        """``element in t``: whether any element of t equals ``element`` (a number or a tensor
        that broadcasts against t), at any shape, as in PyTorch."""
        if not isinstance(element, (Tensor, bool, int, float, np.generic)):
            raise TypeError(f"'in' with a tensor takes a number or a Tensor, got "
                            f"{type(element).__name__}")
        return bool(np.any(self._data == _raw(element)))

    def __hash__(self):
        return id(self)

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def numpy(self, *, force=False):
        """A NumPy array over this tensor's memory (shared, not a copy; a new array object each
        call, as in PyTorch). Refused while the tensor requires grad, as in PyTorch: write
        ``t.detach().numpy()``.

        NumPy cannot tell the version counter about writes through the returned array, so while
        it (or a view of it) is alive the memory is fingerprinted (``autograd_lite.exported``): if
        a tensor saved for a pending backward is changed through it, backward raises instead of
        returning a wrong gradient.
        To change values between forward and backward use the in-place methods (``t[0] = 5``,
        ``t.add_(...)``), or write into ``t.numpy().copy()``."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return _export(self)

    def _set_grad(self, value):
        """``t.grad = g`` checks ``g`` as PyTorch does: a Tensor (or None) of the same shape and dtype,
        so that a wrong gradient is refused here rather than broadcast by an optimizer's ``step()``."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size {list(value.shape)} to a "
                                   f"tensor of size {list(self.shape)}: the gradient and the tensor "
                                   "must have the same size (assigned grad has data of a different size)")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype {value.dtype} to a "
                                   f"tensor with dtype {self.dtype}: they must match (assigned grad has "
                                   "data of a different type)")
        self._grad = value

    grad = property(_attrgetter("_grad"), _set_grad, None,
                    "The accumulated gradient (a Tensor of this tensor's shape and dtype), or None.")

    @property
    def data(self):
        """As in PyTorch: a Tensor sharing this tensor's memory, detached from the graph, whose
        in-place changes (``p.data.add_(...)``) are not seen by the version counter."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        """``p.data = other``: this tensor now holds ``other``'s memory (any shape), outside autograd."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be set to a Tensor, got {type(value).__name__}; wrap arrays "
                            "with ag.tensor(...) or ag.from_numpy(...)")
        self._data = value._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous: "
                               "use .any() or .all()")
        return bool(self._data)

    __float__ = lambda self: float(self.item())
    __int__ = lambda self: int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only integer tensors with one element can be used as an index, got "
                            f"dtype {self.dtype} and shape {self.shape}")
        return int(self._data.item())

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad (see
        ``autodiff.backward``); ``gradient`` is required unless ``self`` has one element."""
        if inputs is None:  # (autodiff.backward's common case, one call less)
            _autodiff.run_backward((self,), (gradient,), create_graph if retain_graph is None
                                   else retain_graph, create_graph)
        else:
            _autodiff.backward(self, gradient, retain_graph, create_graph, inputs)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype "
                               f"{self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A new leaf sharing this tensor's data (and version counter), outside any graph."""
        return Tensor._make(self._data)._share_version(self)

    def detach_(self):
        self._ctx, self.requires_grad = None, False
        return self

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward (leaves always do)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that has requires_grad=False")
        if self._ctx is not None:
            self._retains_grad = True
            self._ctx.retains_grad = True
        return self

    @property
    def retains_grad(self):
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad) -> Tensor or None`` every time backward (or ``ag.grad``) computes the
        gradient with respect to this tensor; a returned Tensor (same shape and dtype) is used instead
        of ``grad`` from then on: for a leaf, before it is accumulated into ``.grad``. Several hooks
        run in registration order, each on the previous one's result; they should not modify ``grad``
        in place. With ``create_graph=True`` the hook sees a differentiable gradient. Returns a handle
        whose ``remove()`` unregisters the hook. Example (teaching): ``h.register_hook(print)``."""
        return _hooks.register_hook(self, hook)

    # ----------------------------------------------------------------- conversions
    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``: a recorded
        cast (the gradient flows back in the old dtype); ``"cpu"`` is the only device."""
        dtype = _dtype_of_to(args, dtype, device)
        return self if dtype is None or dtype == self._data.dtype else ops.Cast.apply(self, dtype)

    float = lambda self: self.to(np.float32)
    double = lambda self: self.to(np.float64)
    half = lambda self: self.to(np.float16)
    long = lambda self: self.to(np.int64)
    int = lambda self: self.to(np.int32)
    bool = lambda self: self.to(np.bool_)
    type = lambda self, dtype: self.to(dtype)
    type_as = lambda self, other: self.to(other.dtype)
    cpu = lambda self: self  # (contiguous, is_contiguous and stride: tensor_shape)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _Add(self, other if isinstance(other, _DIRECT) else _operand(other))

    def __radd__(self, other):
        return _Add(other if isinstance(other, _DIRECT) else _operand(other), self)

    def __sub__(self, other):
        return _Sub(self, other if isinstance(other, _DIRECT) else _operand(other))

    def __rsub__(self, other):
        return _Sub(other if isinstance(other, _DIRECT) else _operand(other), self)

    def __mul__(self, other):
        return _Mul(self, other if isinstance(other, _DIRECT) else _operand(other))

    def __rmul__(self, other):
        return _Mul(other if isinstance(other, _DIRECT) else _operand(other), self)

    def __truediv__(self, other):
        return _Div(self, other if isinstance(other, _DIRECT) else _operand(other))

    def __rtruediv__(self, other):
        return _Div(other if isinstance(other, _DIRECT) else _operand(other), self)

    def __pow__(self, other):
        return _Pow(self, other if isinstance(other, _DIRECT) else _operand(other))

    def __rpow__(self, other):
        return _Pow(other if isinstance(other, _DIRECT) else _operand(other), self)

    def __matmul__(self, other):
        return composite.matmul(self, _operand(other))

    def __rmatmul__(self, other):
        return composite.matmul(_operand(other), self)

    def __neg__(self):
        return _Neg(self)

    __pos__ = lambda self: self
    __abs__ = lambda self: composite.abs(self)
    add = lambda self, other, alpha=1: self + (other if alpha == 1 else other * alpha)
    sub = lambda self, other, alpha=1: self - (other if alpha == 1 else other * alpha)
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    mm = lambda self, other: composite.mm(self, other)
    neg = __neg__

    # comparisons and logic: no gradient, bool result (like PyTorch, == is elementwise)
    __lt__ = lambda self, other: _no_grad_binary(np.less, "<", self, other)
    __le__ = lambda self, other: _no_grad_binary(np.less_equal, "<=", self, other)
    __gt__ = lambda self, other: _no_grad_binary(np.greater, ">", self, other)
    __ge__ = lambda self, other: _no_grad_binary(np.greater_equal, ">=", self, other)
    # t == None is False and t != None True, as in PyTorch (so `None in list_of_tensors` works)
    __eq__ = lambda self, other: False if other is None else _no_grad_binary(np.equal, "==", self, other)
    __ne__ = lambda self, other: True if other is None else _no_grad_binary(np.not_equal, "!=", self, other)
    __and__ = lambda self, other: _no_grad_binary(np.bitwise_and, "&", self, other)
    __or__ = lambda self, other: _no_grad_binary(np.bitwise_or, "|", self, other)
    __xor__ = lambda self, other: _no_grad_binary(np.bitwise_xor, "^", self, other)

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise TypeError(f"~ is only defined for bool or integer tensors, got dtype {self.dtype}")
        return Tensor._make(np.asarray(~self._data))
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    equal = lambda self, other: bool(np.array_equal(self._data, _raw(other)))
    isnan = lambda self: Tensor._make(np.asarray(np.isnan(self._data)))
    isfinite = lambda self: Tensor._make(np.asarray(np.isfinite(self._data)))

    # ----------------------------------------------------------------- elementwise
    exp = lambda self: ops.Exp.apply(self)
    log = lambda self: ops.Log.apply(self)
    sin = lambda self: ops.Sin.apply(self)
    cos = lambda self: ops.Cos.apply(self)
    tanh = lambda self: ops.Tanh.apply(self)
    sigmoid = lambda self: ops.Sigmoid.apply(self)
    sqrt = lambda self: ops.Pow.apply(self, 0.5)
    rsqrt = lambda self: ops.Pow.apply(self, -0.5)
    square = lambda self: ops.Mul.apply(self, self)
    reciprocal = lambda self: ops.Div.apply(1.0, self)
    abs = lambda self: composite.abs(self)
    relu = lambda self: composite.relu(self)
    log1p = lambda self: (self + 1.0).log()
    sign = lambda self: Tensor._make(np.sign(self._data))  # no gradient (PyTorch's is 0)
    round = lambda self: Tensor._make(np.round(self._data))  # half to even, as in PyTorch
    floor = lambda self: Tensor._make(np.floor(self._data))
    ceil = lambda self: Tensor._make(np.ceil(self._data))
    maximum = lambda self, other: composite.maximum(self, other)
    minimum = lambda self, other: composite.minimum(self, other)
    clip = lambda self, min=None, max=None: composite.clip(self, min, max)
    clamp = clip
    where = lambda self, condition, other: composite.where(condition, self, other)
    masked_fill = lambda self, mask, value: composite.where(mask, value, self)
    softmax = lambda self, dim=-1: ops.Softmax.apply(self, _dim(dim, self._data.ndim, "softmax"))
    log_softmax = lambda self, dim=-1: ops.LogSoftmax.apply(self, _dim(dim, self._data.ndim, "log_softmax"))
    clone = lambda self: ops.Clone.apply(self)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, _index(index))


_new = object.__new__
_ndarray = np.ndarray
_DIRECT = (Tensor, int, float)  # operands passed to the ops as they are (bool is an int)


def _raw(value):
    return value._data if isinstance(value, Tensor) else value


def _operand(value):
    """An operand that is not a Tensor or Python number: NumPy scalars become Python numbers (as in
    PyTorch's type promotion), NumPy arrays and lists constant tensors."""
    if isinstance(value, Tensor) or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, list, tuple)):
        return Tensor(value)
    raise TypeError(f"unsupported operand type {type(value).__name__} for a Tensor")


def _no_grad_binary(ufunc, symbol, tensor, other):
    """A comparison or logical operator: a bool (or integer) tensor without gradient, with errors
    that name the operator, shapes and dtypes instead of NumPy's."""
    other = _raw(other)
    try:
        return Tensor._make(np.asarray(ufunc(tensor._data, other)))
    except ValueError:
        raise ValueError(f"{symbol}: shapes {tensor.shape} and {np.shape(other)} cannot be broadcast "
                         "together") from None
    except TypeError:
        raise TypeError(f"{symbol} is only defined for bool or integer tensors, got dtypes "
                        f"{tensor.dtype} and {np.asarray(other).dtype}") from None


def _index(index):
    """Index arguments: Tensors become arrays; everything else is NumPy indexing as is."""
    if isinstance(index, Tensor):
        return _index_tensor(index)
    if isinstance(index, tuple):
        parts = []
        for i in index:  # (a loop, not a generator: the uint8 warning points at the caller)
            parts.append(_index_tensor(i) if isinstance(i, Tensor) else i)
        return tuple(parts)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _index_tensor(index):
    """A Tensor used as an index, as an array. A uint8 tensor is a mask, as in PyTorch (which
    warns that this is deprecated), not the integer positions NumPy would read it as."""
    array = index._data
    if array.dtype == np.uint8:
        warnings.warn("indexing with a uint8 tensor is deprecated (as in PyTorch): it is read as a "
                      "mask; use a bool tensor instead", UserWarning, stacklevel=4)
        return array.astype(bool)
    return array


_function.Tensor = Tensor
from . import ops  # noqa: E402  (the ops need the Tensor class)
from .ops import composite  # noqa: E402
from . import autodiff as _autodiff  # noqa: E402
from . import hooks as _hooks  # noqa: E402
from . import tensor_shape  # noqa: E402,F401  (adds reshape, permute, transpose, ... to Tensor)
from . import tensor_reductions  # noqa: E402,F401  (adds sum, mean, var, max, ... to Tensor)
from . import tensor_inplace  # noqa: E402,F401  (adds the in-place methods to Tensor)
from . import tensor_api  # noqa: E402,F401  (adds the rest of PyTorch's Tensor methods)

_Add, _Sub, _Mul, _Div, _Pow, _Neg = (ops.Add.apply, ops.Sub.apply, ops.Mul.apply, ops.Div.apply,
                                      ops.Pow.apply, ops.Neg.apply)
