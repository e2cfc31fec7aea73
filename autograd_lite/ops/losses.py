"""Fused loss primitives: one graph node where the composite would need several.

``CrossEntropyIndices`` is softmax + negative log-likelihood for logits (N, C) and class indices
(N,). With p = softmax(x) and w_i the weight of sample i's class (0 for ignored samples):

    loss_i = -w_i log p[i, t_i] = w_i (logsumexp(x_i) - x[i, t_i])
    d loss_i / d x_i = w_i (p_i - onehot(t_i))

``reduction='mean'`` divides the sum by sum_i w_i (PyTorch's weighted mean); 'sum' and 'none' do what
they say. The log-sum-exp subtracts the row maximum first, so logits of size 1e4 are fine.
"""
from __future__ import annotations

import numpy as np

from ..function import Function, _GradMode
from ..tensor import Tensor
from .nnops import Softmax

_make = Tensor._make


class CrossEntropyIndices(Function):
    """Fused softmax cross-entropy. Forward caches p = softmax(x); backward is

        grad_x = (p - onehot(t)) * (grad * w / denominator)[:, None]

    written with Tensor ops. Under ``create_graph=True`` p is recomputed as a differentiable
    ``Softmax(x)`` so that second derivatives flow through it; otherwise the cached p is used."""

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction):
        x = logits.data                                   # (N, C)
        rows = np.arange(x.shape[0])
        valid = target != ignore_index                    # (N,)
        safe_target = np.where(valid, target, 0)
        shifted = x - x.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        picked = shifted[rows, safe_target] - np.log(total[:, 0])   # log p[i, t_i]
        if weight is None:
            sample_weight = valid.astype(x.dtype)
        else:
            sample_weight = weight[safe_target].astype(x.dtype) * valid
        losses = -sample_weight * picked
        if reduction == "none":
            out, coef = losses, sample_weight
        elif reduction == "sum":
            out, coef = losses.sum(), sample_weight
        else:
            denominator = sample_weight.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                out = losses.sum() / denominator       # NaN when every sample is ignored, as in PyTorch
                coef = sample_weight / denominator
        ctx.probabilities = exp / total
        ctx.onehot_rows, ctx.onehot_cols = rows[valid], target[valid]
        ctx.coef, ctx.reduction = coef.reshape(-1, 1).astype(x.dtype, copy=False), reduction
        ctx.save_for_backward(logits)
        return _make(np.asarray(out, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):
        logits, = ctx.saved_tensors
        if _GradMode.enabled:   # create_graph: differentiable softmax
            probabilities = Softmax.apply(logits, 1)
        else:
            probabilities = _make(ctx.probabilities)
        onehot = np.zeros(logits.shape, logits.dtype)
        onehot[ctx.onehot_rows, ctx.onehot_cols] = 1
        scale = (grad.reshape(-1, 1) if ctx.reduction == "none" else grad) * _make(ctx.coef)
        return (probabilities - _make(onehot)) * scale, None, None, None, None
