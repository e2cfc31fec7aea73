"""Loss layers: Modules that hold a loss's settings and call ``nn.functional`` (formulas in
``nn.loss_functions``). Called as ``criterion(input, target)``."""
from __future__ import annotations

import numpy as np

from autograd_lite.tensor import Tensor

from . import loss_functions as L
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        L._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction


def _constant(value, name):
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=np.float32 if not isinstance(value, np.ndarray)
                             else value.dtype))


class MSELoss(_Loss):
    """Mean squared error (x - y)^2."""

    def forward(self, input, target):
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - y|."""

    def forward(self, input, target):
        return L.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Quadratic for |x - y| < delta, linear beyond."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input, target):
        return L.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (after a sigmoid)."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = _constant(weight, "weight")

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, numerically stable; ``pos_weight`` scales positives."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight = _constant(weight, "weight")
        self.pos_weight = _constant(pos_weight, "pos_weight")

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class KLDivLoss(Module):
    """KL divergence of the target distribution from the input's log-probabilities
    (``nn.functional.kl_div``); ``reduction='batchmean'`` gives the KL divergence per sample."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__()
        if reduction not in L._REDUCTIONS + ("batchmean",):
            raise ValueError(f"KLDivLoss: reduction must be 'none', 'batchmean', 'mean' or 'sum', "
                             f"got {reduction!r}")
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):
        return L.kl_div(input, target, self.reduction, self.log_target)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, on log-probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = _constant(weight, "weight"), ignore_index

    def forward(self, input, target):
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits; target = class indices or class probabilities."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.weight, self.ignore_index = _constant(weight, "weight"), ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return L.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)
