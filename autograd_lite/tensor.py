"""`Tensor`: a NumPy array that remembers how it was computed.

``t.data`` is the NumPy array, ``t.grad`` the accumulated gradient (a Tensor or None), ``t._ctx`` the op
that produced it (None for leaves). Every method here is a thin call into ``ops`` (primitives with their
backward) or ``ops.composite`` (everything built from primitives).
"""
from __future__ import annotations

import numpy as np

from . import function as _function
from .function import _GradMode

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
_DTYPE_ALIASES = {"float": np.float32, "double": np.float64, "long": np.int64, "int": np.int32,
                  "bool": np.bool_, "half": np.float16}


def as_dtype(dtype):
    """NumPy dtype from a NumPy type, a dtype, or a name ('float32', 'double', ...)."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        dtype = _DTYPE_ALIASES.get(dtype, dtype)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    if dtype.kind not in "fiub":
        raise TypeError(f"unsupported dtype {dtype}: use a float, integer or bool dtype")
    return dtype


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"unsupported NumPy dtype {array.dtype}: use a float, integer or bool array")
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.data if isinstance(x, Tensor) else x for x in data]
        array = np.asarray(data)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)  # Python floats become float32, as in PyTorch
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        elif array.dtype.kind != "b":
            raise TypeError(f"cannot make a tensor from {type(data).__name__} (NumPy dtype "
                            f"{array.dtype}): expected numbers, nested lists of numbers or an array")
    if dtype is not None:
        array = array.astype(as_dtype(dtype), copy=False)
    return array


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats become float32 (the default float
    dtype), Python ints int64; a NumPy array keeps its dtype (float64 stays float64) and is not copied.
    """
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_out_index", "_version", "name",
                 "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ctx = None
        self._out_index = 0
        self._version = 0
        self.name = name
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, array):
        """Fast constructor for the ops: wraps ``array`` as it is."""
        t = object.__new__(Tensor)
        t.data, t.grad, t._ctx, t._out_index, t._version = array, None, None, 0, 0
        t.name, t._retains_grad, t.requires_grad = None, False, False
        return t

    # ----------------------------------------------------------------- properties
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __hash__(self):
        return id(self)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def numpy(self):
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor of shape {self.shape} is ambiguous: "
                               "use .any() or .all()")
        return bool(self.data)

    __float__ = lambda self: float(self.item())
    __int__ = lambda self: int(self.item())
    __index__ = lambda self: int(self.item()) if self.dtype.kind in "iu" else _no_index(self)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        from .autodiff import backward
        backward(self, gradient, retain_graph, create_graph)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, got dtype "
                               f"{self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        return Tensor._make(self.data)

    def detach_(self):
        self._ctx, self.requires_grad = None, False
        return self

    def retain_grad(self):
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    # ----------------------------------------------------------------- conversions
    def to(self, dtype):
        dtype = as_dtype(dtype)
        return self if dtype == self.dtype else ops.Cast.apply(self, dtype)

    float = lambda self: self.to(np.float32)
    double = lambda self: self.to(np.float64)
    half = lambda self: self.to(np.float16)
    long = lambda self: self.to(np.int64)
    int = lambda self: self.to(np.int32)
    bool = lambda self: self.to(np.bool_)
    type = lambda self, dtype: self.to(dtype)

    # ----------------------------------------------------------------- in-place (no graph)
    def _inplace(self, name):
        if _GradMode.enabled and self.requires_grad:
            kind = "a leaf tensor that requires grad" if self._ctx is None else "a tensor in a graph"
            raise RuntimeError(f"{name}: in-place operation on {kind} (shape {self.shape}); wrap it "
                               "in `with ag.no_grad():` or use the out-of-place version")
        self._version += 1
        return self.data

    def _set(self, name, value):
        array = self._inplace(name)
        array[...] = value
        return self

    def zero_(self):
        return self._set("zero_", 0)

    def fill_(self, value):
        return self._set("fill_", _raw(value))

    def copy_(self, source):
        source = _raw(source)
        if np.shape(source) != self.shape and np.broadcast_shapes(np.shape(source), self.shape) != self.shape:
            raise RuntimeError(f"copy_: source of shape {np.shape(source)} does not fit {self.shape}")
        return self._set("copy_", source)

    def add_(self, other, alpha=1):
        array = self._inplace("add_")
        array += _raw(other) if alpha == 1 else alpha * _raw(other)
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        self._inplace("mul_")[...] *= _raw(other)
        return self

    def div_(self, other):
        self._inplace("div_")[...] /= _raw(other)
        return self

    def clamp_(self, min=None, max=None):
        array = self._inplace("clamp_")
        np.clip(array, min, max, out=array)
        return self

    def uniform_(self, low=0.0, high=1.0):
        from .random import generator
        return self._set("uniform_", generator().uniform(low, high, self.shape))

    def normal_(self, mean=0.0, std=1.0):
        from .random import generator
        return self._set("normal_", generator().normal(mean, std, self.shape))

    def __setitem__(self, index, value):
        self._inplace("__setitem__")[_index(index)] = _raw(value)

    # ----------------------------------------------------------------- arithmetic
    __add__ = lambda self, other: ops.Add.apply(self, _operand(other, self))
    __radd__ = lambda self, other: ops.Add.apply(_operand(other, self), self)
    __sub__ = lambda self, other: ops.Sub.apply(self, _operand(other, self))
    __rsub__ = lambda self, other: ops.Sub.apply(_operand(other, self), self)
    __mul__ = lambda self, other: ops.Mul.apply(self, _operand(other, self))
    __rmul__ = lambda self, other: ops.Mul.apply(_operand(other, self), self)
    __truediv__ = lambda self, other: ops.Div.apply(self, _operand(other, self))
    __rtruediv__ = lambda self, other: ops.Div.apply(_operand(other, self), self)
    __pow__ = lambda self, other: ops.Pow.apply(self, _operand(other, self))
    __rpow__ = lambda self, other: ops.Pow.apply(_operand(other, self), self)
    __matmul__ = lambda self, other: composite.matmul(self, _operand(other, self))
    __rmatmul__ = lambda self, other: composite.matmul(_operand(other, self), self)
    __neg__ = lambda self: ops.Neg.apply(self)
    __pos__ = lambda self: self
    __abs__ = lambda self: composite.abs(self)
    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    matmul = __matmul__
    neg = __neg__

    # comparisons: no gradient, bool result
    __lt__ = lambda self, other: Tensor._make(self.data < _raw(other))
    __le__ = lambda self, other: Tensor._make(self.data <= _raw(other))
    __gt__ = lambda self, other: Tensor._make(self.data > _raw(other))
    __ge__ = lambda self, other: Tensor._make(self.data >= _raw(other))
    __eq__ = lambda self, other: Tensor._make(self.data == _raw(other))
    __ne__ = lambda self, other: Tensor._make(self.data != _raw(other))
    __invert__ = lambda self: Tensor._make(~self.data)
    __and__ = lambda self, other: Tensor._make(self.data & _raw(other))
    __or__ = lambda self, other: Tensor._make(self.data | _raw(other))
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

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
    sign = lambda self: Tensor._make(np.sign(self.data))
    maximum = lambda self, other: composite.maximum(self, other)
    minimum = lambda self, other: composite.minimum(self, other)
    clip = lambda self, min=None, max=None: composite.clip(self, min, max)
    clamp = clip
    where = lambda self, condition, other: composite.where(condition, self, other)
    softmax = lambda self, dim=-1: ops.Softmax.apply(self, dim)
    log_softmax = lambda self, dim=-1: ops.LogSoftmax.apply(self, dim)
    clone = lambda self: ops.Clone.apply(self)

    # ----------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim=False, axis=None):
        return ops.Sum.apply(self, _axes(dim, axis, self.ndim), keepdim)

    def mean(self, dim=None, keepdim=False, axis=None):
        return composite.mean(self, _axes(dim, axis, self.ndim), keepdim)

    def var(self, dim=None, keepdim=False, axis=None, correction=1, unbiased=None):
        if unbiased is not None:
            correction = int(unbiased)
        return composite.var(self, _axes(dim, axis, self.ndim), keepdim, correction)

    def std(self, dim=None, keepdim=False, axis=None, correction=1, unbiased=None):
        return self.var(dim, keepdim, axis, correction, unbiased) ** 0.5

    def amax(self, dim=None, keepdim=False, axis=None):
        return ops.Max.apply(self, _axes(dim, axis, self.ndim), keepdim)

    def amin(self, dim=None, keepdim=False, axis=None):
        return -ops.Max.apply(-self, _axes(dim, axis, self.ndim), keepdim)

    def max(self, dim=None, keepdim=False, axis=None):
        """Like PyTorch: ``max()`` is the largest element; ``max(dim)`` is (values, indices)."""
        axes = _axes(dim, axis, self.ndim)
        if axes is None:
            return self.amax()
        return composite.MinMax(self.amax(axes, keepdim), self.argmax(axes[0], keepdim))

    def min(self, dim=None, keepdim=False, axis=None):
        axes = _axes(dim, axis, self.ndim)
        if axes is None:
            return self.amin()
        return composite.MinMax(self.amin(axes, keepdim), self.argmin(axes[0], keepdim))

    def logsumexp(self, dim=None, keepdim=False, axis=None):
        return composite.logsumexp(self, _axes(dim, axis, self.ndim), keepdim)

    def argmax(self, dim=None, keepdim=False, axis=None):
        dim = axis if dim is None else dim
        return Tensor._make(np.asarray(np.argmax(self.data, axis=dim, keepdims=keepdim), np.int64))

    def argmin(self, dim=None, keepdim=False, axis=None):
        dim = axis if dim is None else dim
        return Tensor._make(np.asarray(np.argmin(self.data, axis=dim, keepdims=keepdim), np.int64))

    def all(self, dim=None):
        return Tensor._make(np.all(self.data, axis=dim))

    def any(self, dim=None):
        return Tensor._make(np.any(self.data, axis=dim))

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        return self if shape == self.shape else ops.Reshape.apply(self, shape)

    view = reshape

    def permute(self, *dims):
        return ops.Permute.apply(self, tuple(d % self.ndim for d in _shape_arg(dims)))

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return ops.Permute.apply(self, tuple(axes))

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

    def __getitem__(self, index):
        return ops.GetItem.apply(self, _index(index))


def _no_index(tensor):
    raise TypeError(f"only integer tensors can be used as an index, got dtype {tensor.dtype}")


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _operand(value, like):
    """Second operand of an arithmetic op: a Tensor, or a Python number kept as a number (so that
    ``float32_tensor * 2.0`` stays float32); NumPy arrays become constant tensors."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        if like.data.dtype.kind != "f" and isinstance(value, float):
            return np.float32(value)
        return value
    if isinstance(value, (np.ndarray, np.generic, list, tuple)):
        return Tensor(value if isinstance(value, (np.ndarray, np.generic)) else np.asarray(value, like.dtype))
    raise TypeError(f"unsupported operand type {type(value).__name__} for a Tensor")


def _axes(dim, axis, ndim):
    """Normalise a ``dim``/``axis`` argument to a sorted tuple of non-negative axes (or None)."""
    if dim is None:
        dim = axis
    elif axis is not None:
        raise TypeError("pass dim or axis, not both")
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dim {d} is out of range for a tensor with {ndim} dimension(s)")
        out.append(d % max(ndim, 1))
    return tuple(sorted(out))


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _index(index):
    """Index arguments: Tensors become arrays; everything else is NumPy indexing as is."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


_function.Tensor = Tensor
from . import ops  # noqa: E402  (the ops need the Tensor class)
from .ops import composite  # noqa: E402
