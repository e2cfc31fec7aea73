"""Constructors with PyTorch's signatures: ``tensor``, ``as_tensor``, ``from_numpy``, ``zeros``,
``ones``, ``full``, ``empty``, ``arange``, ``linspace``, ``logspace``, ``eye``, ``randn``, ``rand``,
``randint``, ``randperm`` and the ``*_like`` forms.

Every factory takes PyTorch's keywords where PyTorch has them: ``dtype=``, ``device=`` (the CPU
only; a GPU raises, see ``device.py``), ``requires_grad=``, ``out=`` (the result is written into that
tensor, which is returned), ``generator=`` for the random ones (an ``ag.Generator``), and the shape
as ``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros([2, 3])`` or ``zeros(size=(2, 3))``. Float results take
the default float dtype (float32, see ``set_default_dtype``).
"""
from __future__ import annotations

import numpy as np

from .arguments import check_count, check_sizes
from .device import check_device
from .dtypes import default_float
from .random import generator as _framework_generator
from .arguments import shape_from_args as _shape_arg
from .tensor import Tensor, as_dtype


def _dtype(dtype, default=None):
    return as_dtype(dtype) if dtype is not None else np.dtype(default or default_float())


def _shape(args, size, what):
    if size is not None:
        if args:
            raise TypeError(f"{what}: pass the shape positionally or as size=, not both")
        args = (size,)
    return check_sizes(_shape_arg(args), what)


def _finish(array, requires_grad=False, device=None, out=None, what="factory"):
    """The new tensor (or ``out``, now holding ``array``), after checking ``device``."""
    check_device(device, f"{what}(device)")
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"{what}: out must be a Tensor, got {type(out).__name__}")
        if out.shape == array.shape and out.dtype == array.dtype:
            out._data[...] = array
        else:  # PyTorch resizes ``out``; the tensor takes the result's memory
            out._data = array.astype(out.dtype, copy=False) if out.dtype != array.dtype else array
        out._version_counter[0] += 1
        return out
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_()
    return t


def _generator(generator):
    if generator is None:
        return _framework_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be an ag.Generator, got {type(generator).__name__}")
    return generator


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Copy ``data`` (numbers, nested lists, an array or a Tensor) into a new leaf tensor."""
    check_device(device, "tensor(device)")
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype)
    if isinstance(data, (np.ndarray, Tensor)) and t._data is (data._data if isinstance(data, Tensor) else data):
        t._data = t._data.copy()
        t._version_counter = [0]  # its own memory now
    return t


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor without a copy when it already is one (or an array) of that dtype."""
    check_device(device, "as_tensor(device)")
    if isinstance(data, Tensor) and (dtype is None or as_dtype(dtype) == data.dtype):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(array):
    """A Tensor sharing ``array``'s memory and dtype (float64 stays float64)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    """Number of elements of ``input`` (``torch.numel``)."""
    return input.numel()


# ------------------------------------------------------------------------------- filled
def zeros(*shape, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.zeros(_shape(shape, size, "zeros"), _dtype(dtype)), requires_grad, device, out, "zeros")


def ones(*shape, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _finish(np.ones(_shape(shape, size, "ones"), _dtype(dtype)), requires_grad, device, out, "ones")


def empty(*shape, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _finish(np.empty(_shape(shape, size, "empty"), _dtype(dtype)), requires_grad, device, out, "empty")


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return as_dtype(dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    return default_float()


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    array = np.full(check_sizes(_shape_arg((size,)), "full"), _raw_value(fill_value),
                    _fill_dtype(fill_value, dtype))
    return _finish(array, requires_grad, device, out, "full")


def _raw_value(value):
    return value.item() if isinstance(value, Tensor) else value


def _like(input, dtype):
    return input.shape, _dtype(dtype, input.dtype)


def zeros_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    shape, dtype = _like(input, dtype)
    return _finish(np.zeros(shape, dtype), requires_grad, device, None, "zeros_like")


def ones_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    shape, dtype = _like(input, dtype)
    return _finish(np.ones(shape, dtype), requires_grad, device, None, "ones_like")


def empty_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    shape, dtype = _like(input, dtype)
    return _finish(np.empty(shape, dtype), requires_grad, device, None, "empty_like")


def full_like(input, fill_value, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    shape, dtype = _like(input, dtype)
    return _finish(np.full(shape, _raw_value(fill_value), dtype), requires_grad, device, None, "full_like")


# ------------------------------------------------------------------------------- ranges
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """[start, end) by ``step``; int64 when all three are ints, else the default float dtype."""
    if end is None:
        start, end = 0, start
    start, end, step = (_raw_value(v) for v in (start, end, step))
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange: {name} must be a number, got {value!r}")
        if not np.isfinite(value):
            raise ValueError(f"arange: {name} must be finite, got {value}")
    if step == 0:
        raise ValueError("arange: step must be non-zero, got 0")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign: step "
                         f"{step} cannot go from start {start} to end {end}")
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    array = np.arange(start, end, step, dtype=_dtype(dtype, np.int64 if is_int else None))
    return _finish(array, requires_grad, device, out, "arange")


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    steps = check_count(steps, "steps", "linspace")
    array = np.linspace(_raw_value(start), _raw_value(end), steps).astype(_dtype(dtype))
    return _finish(array, requires_grad, device, out, "linspace")


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """base ** linspace(start, end, steps)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative int, got {steps!r}")
    array = np.logspace(_raw_value(start), _raw_value(end), steps, base=base).astype(_dtype(dtype))
    return _finish(array, requires_grad, device, out, "logspace")


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    n, m = check_count(n, "n", "eye"), None if m is None else check_count(m, "m", "eye")
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad, device, out, "eye")


# ------------------------------------------------------------------------------- random
def randn(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples, from ``generator`` or the framework's (``ag.manual_seed``)."""
    array = _generator(generator).standard_normal(_shape(shape, size, "randn")).astype(_dtype(dtype))
    return _finish(array, requires_grad, device, out, "randn")


def rand(*shape, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples on [0, 1)."""
    array = _generator(generator).random(_shape(shape, size, "rand")).astype(_dtype(dtype))
    return _finish(array, requires_grad, device, out, "rand")


def randn_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return randn(*input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def rand_like(input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    return rand(*input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False):
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if high is not None and size is None and isinstance(high, (tuple, list, Tensor)):
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None:
        low, high = 0, low  # randint(high, size=...)
    if size is None:
        raise TypeError("randint: missing the size argument, e.g. randint(10, (3,)) or "
                        "randint(0, 10, (3,))")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    array = _generator(generator).integers(low, high, size=check_sizes(_shape_arg((size,)), "randint"))
    return _finish(array.astype(_dtype(dtype, np.int64)), requires_grad, device, out, "randint")


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device,
                   requires_grad=requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    n = check_count(n, "n", "randperm")
    array = _generator(generator).permutation(n).astype(_dtype(dtype, np.int64))
    return _finish(array, requires_grad, device, out, "randperm")
