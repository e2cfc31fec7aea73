"""Keras-style weight penalties: L1, L2 and both.

    L1(w)    = l1 * sum |w|
    L2(w)    = l2 * sum w^2            (Keras' convention: no factor 1/2)
    L1L2(w)  = l1 * sum |w| + l2 * sum w^2

Attach one to a layer's parameter (``nn.Linear(64, 10, kernel_regularizer=l1_l2(l1=1e-4,
l2=1e-3))`` or ``module.register_regularizer("weight", l2(1e-3))``) and add
``nn.regularization_loss(model)`` to the loss; or call a penalty directly on chosen parameters:
``loss = loss + l2(1e-3)(model.fc.weight)``.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.tensor import Tensor

__all__ = ["Regularizer", "L1L2", "L1", "L2", "l1", "l2", "l1_l2", "regularization_loss"]


class Regularizer:
    """A callable penalty: ``penalty(tensor)`` returns a differentiable 0-d Tensor."""

    def __call__(self, tensor):
        raise NotImplementedError


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{type(self).__name__}: {name} must be a non-negative number, "
                                 f"got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"a regularizer takes a Tensor, got {type(tensor).__name__}")
        penalty = None
        if self.l1:
            penalty = tensor.abs().sum() * self.l1
        if self.l2:
            squares = (tensor * tensor).sum() * self.l2
            penalty = squares if penalty is None else penalty + squares
        return penalty if penalty is not None else (tensor * 0.0).sum()

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


def l1(l1=0.01):
    """Keras' ``regularizers.l1``."""
    return L1(l1)


def l2(l2=0.01):
    """Keras' ``regularizers.l2``."""
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    """Keras' ``regularizers.l1_l2``."""
    return L1L2(l1, l2)


def regularization_loss(model):
    """Sum of every penalty attached to the parameters of ``model`` and its submodules (a 0-d
    Tensor; 0 when none is attached). Add it to the data loss before ``backward()``."""
    total = None
    for module in model.modules():
        for name, regularizer in module._regularizers.items():
            parameter = module._parameters.get(name)
            if parameter is None:
                continue
            penalty = regularizer(parameter)
            total = penalty if total is None else total + penalty
    if total is None:
        dtype = next((p.dtype for p in model.parameters()), np.dtype(np.float32))
        return Tensor(np.zeros((), dtype))
    return total
