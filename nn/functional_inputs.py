"""How ``nn.functional`` takes its inputs: ``_tensor`` (any array-like as a Tensor, in a layer's
dtype) and ``_floating`` (the same, refusing integers for the activations PyTorch has no integer
kernel for). One module so that ``functional`` and ``functional_activations`` share them."""
from __future__ import annotations

import numpy as np

from autograd_lite.dtypes import require_floating
from autograd_lite.tensor import Tensor


def _tensor(x, name="input", like=None):
    """``x`` as a Tensor. Data that is not a Tensor (a NumPy array, nested lists) takes the float
    dtype of the layer weight ``like``, as Python numbers do in the engine: a float64 NumPy array
    fed to a float32 layer computes in float32. A Tensor keeps its dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (np.ndarray, np.generic, list, tuple, float, int)):
        if like is not None and np.asarray(x).dtype.kind in "fiub":
            return Tensor(np.asarray(x), dtype=like.dtype)
        return Tensor(x)
    raise TypeError(f"{name} must be a Tensor or an array, got {type(x).__name__}")


def _floating(x, op):
    """``x`` as a Tensor, which must hold floats: ``op`` is an activation PyTorch has no integer
    kernel for (``dtypes.require_floating``)."""
    x = _tensor(x)
    require_floating(x._data, op)
    return x
