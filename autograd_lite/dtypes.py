"""Dtypes and PyTorch's type-promotion rule.

Default float dtype float32, default integer dtype int64. When two operands meet in a binary op the
result dtype follows PyTorch, which differs from NumPy in three places:

* categories bool < integer < float decide first: int32 tensor * float32 tensor is float32 (NumPy:
  float64), an integer tensor times a Python float is float32 (NumPy: float64);
* a 0-d tensor only matters when its category is higher than every dimensioned operand's:
  float32 (3,) + float64 () is float32; Python numbers and NumPy scalars only matter when their
  category is higher than every tensor's, and then give the default dtype of that category;
* true division of integers gives the default float dtype (float32).
"""
from __future__ import annotations

import numpy as np

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
DEFAULT_FLOAT = np.dtype(np.float32)
DEFAULT_INT = np.dtype(np.int64)
_ALIASES = {"float": np.float32, "double": np.float64, "long": np.int64, "int": np.int32,
            "bool": np.bool_, "half": np.float16}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULT_FOR = {0: np.dtype(np.bool_), 1: DEFAULT_INT, 2: DEFAULT_FLOAT}


def as_dtype(dtype):
    """NumPy dtype from a NumPy type, a dtype, or a name ('float32', 'double', ...); None stays None."""
    if dtype is None:
        return None
    if isinstance(dtype, str):
        dtype = _ALIASES.get(dtype, dtype)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    if dtype.kind not in "fiub":
        raise TypeError(f"unsupported dtype {dtype}: use a float, integer or bool dtype")
    return dtype


def _operand_kind(x):
    """(priority, dtype): 0 for tensors/arrays with dims, 1 for 0-d ones, 2 for Python numbers and
    NumPy scalars (which PyTorch treats like Python numbers)."""
    data = x if isinstance(x, (bool, int, float, np.generic, np.ndarray)) else x._data  # a Tensor
    if isinstance(data, np.ndarray):
        return (0 if data.ndim else 1), data.dtype
    if isinstance(data, np.generic):
        return 2, _DEFAULT_FOR[_CATEGORY[data.dtype.kind]]
    if isinstance(data, bool):
        return 2, np.dtype(np.bool_)
    if isinstance(data, int):
        return 2, DEFAULT_INT
    if isinstance(data, float):
        return 2, _DEFAULT_FOR[2]
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def result_type(*operands):
    """The dtype PyTorch gives an op on ``operands`` (Tensors, arrays or Python numbers)."""
    kinds = [_operand_kind(x) for x in operands]
    top = max(_CATEGORY[dtype.kind] for _, dtype in kinds)
    for priority in (0, 1, 2):
        members = [dtype for p, dtype in kinds if p == priority and _CATEGORY[dtype.kind] == top]
        if members:
            return np.result_type(*members) if priority < 2 else _DEFAULT_FOR[top]
    raise AssertionError("unreachable")


def default_float():
    """The dtype of tensors made from Python floats (float32 unless ``set_default_dtype`` changed it)."""
    return _DEFAULT_FOR[2]


def floating(array):
    """``array`` as PyTorch computes a floating-point function of it (exp, log, sin, tanh,
    sigmoid, erf, ...): as it is when it holds floats; integers and bools in the default float
    dtype (``torch.arange(3).exp()`` is float32), never computed in integers."""
    return array if array.dtype.kind in "fc" else array.astype(_DEFAULT_FOR[2])


def require_floating(array, op):
    """Raise for an integer or bool ``array`` given to ``op``, a function PyTorch has no integer
    kernel for (softmax, softplus, ELU, ...): computed in integers its result would be silently
    wrong (leaky_relu of -2 is 0), and PyTorch raises too."""
    if array.dtype.kind not in "fc":
        raise NotImplementedError(
            f"{op}: not implemented for {array.dtype} tensors (PyTorch has no integer version "
            "either); convert the input to floats first, e.g. x.float()")


def get_default_dtype():
    """PyTorch's ``torch.get_default_dtype()``: the current default float dtype (float32)."""
    return _DEFAULT_FOR[2].type


def set_default_dtype(dtype):
    """PyTorch's ``torch.set_default_dtype``: float32 or float64 becomes the dtype of tensors made
    from Python floats, of float factories (``zeros``, ``randn``, ...) and of integer division."""
    chosen = as_dtype(dtype)
    if chosen not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {chosen}")
    _DEFAULT_FOR[2] = chosen


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
