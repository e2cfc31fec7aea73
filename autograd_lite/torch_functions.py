"""PyTorch's top-level functions (``torch.add``, ``torch.matmul``, ``torch.gather``, ...) with its
argument names: the tensor may be passed positionally or as ``input=``, the other operands by
PyTorch's names (``other=``, ``mat2=``, ``dim=``, ``keepdim=``), and ``out=`` receives the result
where PyTorch has it. Most are the functional form of a Tensor method; the legacy type constructors
``FloatTensor`` & co. are here too.
"""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from .creation import tensor as _new_tensor, zeros as _zeros
from .dtypes import as_dtype
from .function import no_grad
from .ops import composite, indexing, mathops, products
from .tensor import Tensor
from . import tensor_api, tensor_reductions


def _as_tensor(x, like=None):
    return x if isinstance(x, Tensor) else mathops._tensor(x, like)


def _write_out(result, out):
    """PyTorch's ``out=``: ``out`` takes the result's values (and shape), and is returned."""
    if out is None:
        return result
    if isinstance(result, tuple):
        for r, o in zip(result, out):
            _write_out(r, o)
        return out
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, got {type(out).__name__}")
    if out.requires_grad:
        raise RuntimeError("out=... arguments don't support automatic differentiation, but one of "
                           "the arguments requires grad")
    with no_grad():
        if out.shape == result.shape:
            out._data[...] = result._data
        else:
            out._data = result._data.astype(out.dtype, copy=True)
        out._version_counter[0] += 1
    return out


def _method_function(name, method=None):
    """``torch.<name>(input, *args, out=None, **kwargs)`` from ``Tensor.<method or name>``."""
    def call(*args, out=None, **kwargs):
        if "input" in kwargs:
            x = kwargs.pop("input")
        elif args:
            x, args = args[0], args[1:]
        else:
            raise TypeError(f"{name}() missing its input tensor")
        result = getattr(_as_tensor(x), method or name)(*args, **kwargs)
        return _write_out(result, out)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Functional form of ``Tensor.{method or name}`` (input positional or ``input=``)."
    return call


METHOD_FUNCTIONS = (
    "exp log sqrt rsqrt sin cos tanh sigmoid abs sum mean var std amax amin max min logsumexp "
    "softmax log_softmax argmax argmin reshape transpose permute flatten squeeze unsqueeze t clone "
    "log1p expm1 erf square reciprocal log2 log10 sign floor ceil round trunc fix frac relu "
    "cumsum cumprod prod norm flip fliplr flipud roll repeat_interleave tile tril triu diag diagonal "
    "trace sort argsort topk kthvalue median gather scatter scatter_add index_select masked_select "
    "masked_fill take_along_dim narrow split chunk unbind all any nan_to_num clamp clip numel "
    "detach lerp hypot remainder fmod atan2 arctan2 dot inner mv bmm outer ger maximum minimum "
    "isnan isinf isposinf isneginf isfinite isclose allclose equal nonzero argwhere count_nonzero "
    "unique logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
    "bitwise_not tan atan arctan asin arcsin acos arccos sinh cosh movedim moveaxis swapaxes swapdims "
    "unflatten logaddexp diff").split()
for _name in METHOD_FUNCTIONS:  # note: this binds sum, max, all, ... here (use builtins.all)
    globals()[_name] = _method_function(_name)
del _name


# --------------------------------------------------------------------- arithmetic with PyTorch's names
def add(input, other, *, alpha=1, out=None):
    """input + alpha * other."""
    return _write_out(_as_tensor(input, other).add(other, alpha=alpha), out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    return _write_out(_as_tensor(input, other).sub(other, alpha=alpha), out)


def mul(input, other, *, out=None):
    return _write_out(_as_tensor(input, other) * other, out)


def div(input, other, *, rounding_mode=None, out=None):
    """input / other, or its quotient rounded by ``rounding_mode`` ('trunc' or 'floor')."""
    return _write_out(tensor_api.div(_as_tensor(input, other), other, rounding_mode=rounding_mode), out)


def pow(input, exponent, *, out=None):  # noqa: A001  (PyTorch's name; kept out of __all__)
    """input ** exponent (either may be a number)."""
    base = input if isinstance(input, Tensor) else _as_tensor(input, exponent if isinstance(exponent, Tensor) else None)
    return _write_out(base ** exponent, out)


def neg(input, *, out=None):
    return _write_out(-_as_tensor(input), out)


def matmul(input, other, *, out=None):
    return _write_out(composite.matmul(input, other), out)


def mm(input, mat2, *, out=None):
    return _write_out(composite.mm(input, mat2), out)


def einsum(equation, *operands):
    return products.einsum(equation, *operands)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    return _write_out(products.addmm(input, mat1, mat2, beta=beta, alpha=alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    return _write_out(products.addmv(input, mat, vec, beta=beta, alpha=alpha), out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    return _write_out(products.baddbmm(input, batch1, batch2, beta=beta, alpha=alpha), out)


def where(condition, input=None, other=None, *, out=None):
    """``where(condition, input, other)``: input where condition holds, else other;
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return tensor_api.nonzero(condition, as_tuple=True)
    return _write_out(composite.where(condition, input, other), out)


def cat(tensors, dim=0, *, out=None, axis=None):
    return _write_out(composite.cat(tensors, dim if axis is None else axis), out)


def stack(tensors, dim=0, *, out=None):
    return _write_out(composite.stack(tensors, dim), out)


def hstack(tensors):
    tensors = [_as_tensor(t) for t in tensors]
    return composite.cat(tensors, 0 if builtins.all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors):
    return composite.cat([t.reshape(1, -1) if t.ndim < 2 else t for t in map(_as_tensor, tensors)], 0)


def repeat(input, *sizes):
    return indexing.repeat(input, *sizes)


def _spread_and_mean(name):
    def spread_and_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
        x = _as_tensor(input)
        dim, unbiased = tensor_reductions.unbiased_first(dim, unbiased)
        return getattr(x, name)(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)
    spread_and_mean.__name__ = f"{name}_mean"
    spread_and_mean.__doc__ = f"({name}, mean) of ``input`` over ``dim`` (``{name}``'s arguments)."
    return spread_and_mean


var_mean, std_mean = _spread_and_mean("var"), _spread_and_mean("std")


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: with indexing='ij' output k varies along dim k; 'xy'
    swaps the first two dims (NumPy's and MATLAB's convention). Without ``indexing`` 'ij', with
    PyTorch's warning that it will be required."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' or 'xy' (PyTorch will require it); using 'ij'",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = [_as_tensor(t) for t in tensors]
    for position, t in enumerate(tensors):
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expected 0-d or 1-d tensors, got shape {tuple(t.shape)} "
                             f"at position {position}")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for axis, size in zip(axes, sizes):
        shape[axis] = size
    grids = []
    for axis, t in zip(axes, tensors):
        view = [1] * len(tensors)
        view[axis] = t.numel()
        grids.append(t.reshape(*view).expand(*shape))
    return tuple(grids)


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
concat = concatenate = cat
one_hot = tensor_api.one_hot


# --------------------------------------------------------------------- legacy type constructors
class _TensorType(type):
    """``FloatTensor([1, 2])`` (from data), ``FloatTensor(2, 3)`` (zeros of that size), and
    ``isinstance(t, FloatTensor)`` (a Tensor of that dtype)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls._dtype

    def __call__(cls, *args):
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return _new_tensor(args[0], dtype=cls._dtype)
        return _zeros(*args, dtype=cls._dtype)


def _tensor_type(name, dtype):
    return _TensorType(name, (), {"_dtype": as_dtype(dtype), "__doc__": f"Legacy {name}: a "
                                  f"Tensor of dtype {dtype}."})


FloatTensor = _tensor_type("FloatTensor", "float32")
DoubleTensor = _tensor_type("DoubleTensor", "float64")
HalfTensor = _tensor_type("HalfTensor", "float16")
LongTensor = _tensor_type("LongTensor", "int64")
IntTensor = _tensor_type("IntTensor", "int32")
ShortTensor = _tensor_type("ShortTensor", "int16")
CharTensor = _tensor_type("CharTensor", "int8")
ByteTensor = _tensor_type("ByteTensor", "uint8")
BoolTensor = _tensor_type("BoolTensor", "bool")

# ``from autograd_lite import *`` must not shadow Python's builtins: those names stay ag.sum, ag.max...
BUILTIN_NAMES = {"sum", "max", "min", "abs", "round", "pow", "all", "any"}
__all__ = sorted((set(METHOD_FUNCTIONS) | {
    "add", "sub", "mul", "div", "neg", "matmul", "mm", "einsum", "addmm", "addmv", "baddbmm",
    "where", "cat", "stack", "hstack", "vstack", "repeat", "subtract", "multiply", "divide",
    "true_divide", "negative", "concat", "concatenate", "one_hot", "FloatTensor", "DoubleTensor",
    "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor",
    "BoolTensor", "var_mean", "std_mean", "meshgrid"}) - BUILTIN_NAMES)
