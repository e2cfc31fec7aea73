"""In-place Tensor methods: ``add_ sub_ mul_ div_ pow_ sqrt_ exp_ neg_ abs_ clamp_ zero_ fill_ copy_
addcmul_ addcdiv_ lerp_ uniform_ normal_ masked_fill_ scatter_ scatter_add_``, item assignment
``t[i] = v`` and ``+= -= *= /=``.

They change ``t._data`` where it lies and record no graph. Each one bumps ``t._version``, so that a
backward which saved the old value raises (naming the op) instead of silently using the new one.
While a graph is being recorded they refuse a tensor that requires grad, and an operand that requires
grad (its gradient would be lost): optimizers run their updates under ``with ag.no_grad():``.

``x += y`` is in place too, except while recording when ``x`` is an intermediate result of the graph
or ``y`` requires grad: then it is ``x = x + y`` (the gradient is right; other references to the old
``x`` do not see the change).
"""
from __future__ import annotations

import numpy as np

from .function import _GradMode, no_grad as _no_grad
from .tensor import Tensor, _raw


def _inplace(tensor, name, *operands):
    """The array to modify, after the checks; bumps the version counter."""
    if _GradMode.enabled:
        if tensor.requires_grad:
            kind = "a leaf tensor that requires grad" if tensor._ctx is None else "a tensor in a graph"
            raise RuntimeError(
                f"{name}: in-place operation on {kind} (shape {tensor.shape}) while recording a graph; "
                "wrap it in `with ag.no_grad():` or use the out-of-place version")
        for operand in operands:
            if isinstance(operand, Tensor) and operand.requires_grad:
                raise RuntimeError(
                    f"{name}: an operand of shape {operand.shape} requires grad, but in-place "
                    "operations are not recorded in the graph; use the out-of-place version")
    tensor._version_counter[0] += 1
    return tensor._data


def _update(tensor, name, compute, *operands):
    """``tensor._data[...] = compute(tensor._data)`` with clear shape errors."""
    array = _inplace(tensor, name, *operands)
    try:
        compute(array)
    except ValueError as error:
        shapes = [np.shape(_raw(o)) for o in operands]
        raise ValueError(f"{name}: operand shape(s) {shapes} do not broadcast to the tensor's shape "
                         f"{tensor.shape} ({error})") from None
    except TypeError as error:  # NumPy's casting errors
        dtypes = [str(np.result_type(_raw(o))) for o in operands if o is not None]
        raise TypeError(f"{name}: the result for operand dtype(s) {dtypes} cannot be stored in place "
                        f"in a tensor of dtype {tensor.dtype} ({error})") from None
    return tensor


def zero_(self):
    return _update(self, "zero_", lambda a: a.fill(0))


def fill_(self, value):
    return _update(self, "fill_", lambda a: a.fill(_raw(value)), value)


def copy_(self, source):
    return _update(self, "copy_", lambda a: np.copyto(a, _raw(source), casting="unsafe"), source)


def add_(self, other, alpha=1):
    other_data = _raw(other)
    return _update(self, "add_", lambda a: np.add(a, other_data if alpha == 1 else alpha * other_data,
                                                  out=a, casting="same_kind"), other)


def sub_(self, other, alpha=1):
    other_data = _raw(other)
    return _update(self, "sub_", lambda a: np.subtract(a, other_data if alpha == 1 else alpha * other_data,
                                                       out=a, casting="same_kind"), other)


def mul_(self, other):
    return _update(self, "mul_", lambda a: np.multiply(a, _raw(other), out=a, casting="same_kind"), other)


def div_(self, other):
    return _update(self, "div_", lambda a: np.true_divide(a, _raw(other), out=a, casting="same_kind"), other)


def pow_(self, exponent):
    return _update(self, "pow_", lambda a: np.power(a, _raw(exponent), out=a, casting="same_kind"), exponent)


def sqrt_(self):
    return _update(self, "sqrt_", lambda a: np.sqrt(a, out=a))


def exp_(self):
    return _update(self, "exp_", lambda a: np.exp(a, out=a))


def neg_(self):
    return _update(self, "neg_", lambda a: np.negative(a, out=a))


def abs_(self):
    return _update(self, "abs_", lambda a: np.abs(a, out=a))


def clamp_(self, min=None, max=None):
    if min is None and max is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    return _update(self, "clamp_", lambda a: np.clip(a, _raw(min), _raw(max), out=a), min, max)


def addcmul_(self, tensor1, tensor2, value=1):
    """self += value * tensor1 * tensor2."""
    return _update(self, "addcmul_", lambda a: np.add(a, value * _raw(tensor1) * _raw(tensor2), out=a,
                                                      casting="same_kind"), tensor1, tensor2)


def addcdiv_(self, tensor1, tensor2, value=1):
    """self += value * tensor1 / tensor2."""
    return _update(self, "addcdiv_", lambda a: np.add(a, value * _raw(tensor1) / _raw(tensor2), out=a,
                                                      casting="same_kind"), tensor1, tensor2)


def lerp_(self, end, weight):
    """self += weight * (end - self)."""
    return _update(self, "lerp_", lambda a: np.add(a, _raw(weight) * (_raw(end) - a), out=a,
                                                   casting="same_kind"), end, weight)


def uniform_(self, low=0.0, high=1.0):
    from .random import generator
    return _update(self, "uniform_", lambda a: np.copyto(a, generator().uniform(low, high, a.shape),
                                                         casting="unsafe"))


def normal_(self, mean=0.0, std=1.0):
    from .random import generator
    return _update(self, "normal_", lambda a: np.copyto(a, generator().normal(mean, std, a.shape),
                                                        casting="unsafe"))


def masked_fill_(self, mask, value):
    """self[mask] = value (mask: a bool tensor that broadcasts to self)."""
    mask_array = np.asarray(_raw(mask))
    if mask_array.dtype != np.bool_:
        raise TypeError(f"masked_fill_: mask must be a bool tensor, got dtype {mask_array.dtype}")
    return _update(self, "masked_fill_", lambda a: np.copyto(
        a, _raw(value), casting="unsafe", where=np.broadcast_to(mask_array, a.shape)), value)


def _written_back(self, name, out_of_place, *operands):
    """``out_of_place(self)`` (the op's own checks and formula, off the graph) copied into self."""
    with _no_grad():
        result = out_of_place(self.detach())
    return _update(self, name, lambda a: np.copyto(a, result._data, casting="unsafe"), *operands)


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    """``scatter`` (``ops.indexing``) written into self: self[i][index[i][j]] = src[i][j] (dim=1),
    or the number ``value``; ``zeros(n, c).scatter_(1, y.unsqueeze(1), 1)`` is the one-hot idiom."""
    from .ops import indexing
    return _written_back(self, "scatter_", lambda x: indexing.scatter(x, dim, index, src, value,
                                                                      reduce=reduce), src, value)


def scatter_add_(self, dim, index, src):
    """``scatter_add`` written into self: src[i][j] added at self[i][index[i][j]] (dim=1)."""
    from .ops import indexing
    return _written_back(self, "scatter_add_", lambda x: indexing.scatter_add(x, dim, index, src), src)


def __setitem__(self, index, value):
    from .tensor import _index
    array = _inplace(self, "__setitem__ (t[...] = value)", value)
    try:
        array[_index(index)] = _raw(value)
    except IndexError as error:
        raise IndexError(f"t[{index!r}] = value on a tensor of shape {self.shape}: {error}") from None
    except ValueError as error:
        raise ValueError(f"t[{index!r}] = value: a value of shape {np.shape(_raw(value))} does not fit "
                         f"the selection of a tensor of shape {self.shape} ({error})") from None


def _augmented(name, method, out_of_place):
    def operator(self, other):
        if _GradMode.enabled and ((self.requires_grad and self._ctx is not None)
                                  or (isinstance(other, Tensor) and other.requires_grad)):
            return out_of_place(self, other)
        return method(self, other)
    operator.__name__ = name
    operator.__doc__ = f"``t {name}`` in place (see the module docstring for when it is not)."
    return operator


for _method in (zero_, fill_, copy_, add_, sub_, mul_, div_, pow_, sqrt_, exp_, neg_, abs_, clamp_,
                addcmul_, addcdiv_, lerp_, uniform_, normal_, masked_fill_, scatter_, scatter_add_,
                __setitem__):
    setattr(Tensor, _method.__name__, _method)
Tensor.clip_ = clamp_
Tensor.__iadd__ = _augmented("+=", add_, Tensor.__add__)
Tensor.__isub__ = _augmented("-=", sub_, Tensor.__sub__)
Tensor.__imul__ = _augmented("*=", mul_, Tensor.__mul__)
Tensor.__itruediv__ = _augmented("/=", div_, Tensor.__truediv__)
del _method
