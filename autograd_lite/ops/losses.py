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
from .broadcasting import unbroadcast
from .nnops import Softmax

_make = Tensor._make
_add_reduce, _max_reduce = np.add.reduce, np.maximum.reduce
_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's clamp is the float32 1e-12, in every dtype


class CrossEntropyIndices(Function):
    """Fused softmax cross-entropy. Forward caches p = softmax(x); backward is

        grad_x = (p - onehot(t)) * (grad * w / denominator)[:, None]

    With ``create_graph=True`` it is built from Tensor ops on a differentiable ``Softmax(x)``, so
    second derivatives flow through it; otherwise the same formula runs on the cached p in NumPy
    (no graph), which is what a training step pays for.

    The arrays are worked on transposed, classes along rows and samples along columns (C, N): NumPy
    pays a fixed cost per row of a broadcast or a reduction, so with few classes (C = 10, N = 64)
    the row maxima, sums and the broadcasts cost a third as much over C rows of N as over N rows
    of C. ``ignore_index`` None: the caller checked that every target is a class."""
    rule = "loss = -log softmax(z)[target]\ndL/dz = softmax(z) - onehot(target)"
    _records_nothing = True   # forward computes on arrays only (no Tensor op to keep off the graph)
    _fresh_gradients = True   # backward returns a new gradient, never a saved tensor

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction):
        x = logits._data                                   # (N, C)
        count = x.shape[0]
        any_ignored = False
        if ignore_index is not None:
            ignored = target == ignore_index              # (N,)
            any_ignored = ignored.any()
            if any_ignored:
                target = np.where(ignored, 0, target)
        x_t = np.ascontiguousarray(x.T)                   # (C, N)
        shifted = x_t - _max_reduce(x_t, axis=0)
        exp = np.exp(shifted)
        total = _add_reduce(exp, axis=0)                  # (N,)
        picked = shifted[target, np.arange(count)] - np.log(total)   # log p[i, t_i]
        if weight is None and not any_ignored:             # every sample weighs 1
            sample_weight, denominator, losses = None, count, -picked
        else:
            sample_weight = np.ones(count, x.dtype) if weight is None else weight[target]
            if any_ignored:
                sample_weight[ignored] = 0
            denominator = sample_weight.sum()
            losses = -sample_weight * picked
        coef = sample_weight
        if reduction == "none":
            out = losses
        elif reduction == "sum":
            out = losses.sum()
        elif denominator == 0:                             # every sample ignored: NaN, as in PyTorch
            out, coef = np.full((), np.nan, x.dtype), sample_weight
        else:
            out = losses.sum() / denominator
            coef = 1.0 / denominator if sample_weight is None else sample_weight / denominator
        exp /= total
        ctx.probabilities, ctx.target, ctx.reduction = exp, target, reduction   # p: (C, N)
        ctx.coef = coef                                    # None, a number, or (N,)
        ctx.save_for_backward(logits)
        return _make(np.asarray(out, dtype=x.dtype))

    @staticmethod
    def backward(ctx, grad):
        logits, = ctx.saved_tensors
        coef = ctx.coef
        if _GradMode.enabled:   # create_graph: differentiable in the logits and in grad
            onehot = np.zeros(logits.shape, logits.dtype)
            onehot[np.arange(logits.shape[0]), ctx.target] = 1
            scale = grad.reshape(-1, 1) if ctx.reduction == "none" else grad
            if coef is not None:
                scale = scale * (_make(coef.reshape(-1, 1)) if isinstance(coef, np.ndarray)
                                 else float(coef))
            return (Softmax.apply(logits, 1) - _make(onehot)) * scale, None, None, None, None
        probabilities = ctx.probabilities                 # (C, N)
        classes = np.arange(len(probabilities)).reshape(-1, 1)
        out = probabilities - (ctx.target == classes)     # p - onehot(t), a new array
        scale = grad._data                                 # () or, for 'none', (N,)
        if coef is not None:
            scale = scale * coef
        out *= scale
        return _make(out.T), None, None, None, None       # (N, C), a transposed view


class BinaryCrossEntropy(Function):
    """Per-element binary cross-entropy of probabilities x against targets y (PyTorch's clamps):

        loss = -w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)]
        d loss / dx = w (x - y) / max(x (1 - x), 1e-12)
        d loss / dy = w [max(log(1 - x), -100) - max(log x, -100)]
        d loss / dw = loss / w

    The clamps keep loss and gradients finite where a sigmoid saturated to exactly 0 or 1 (a
    composite of log and clip would give 0 * inf = NaN there). The target's gradient uses the
    clamped logs too, so it stays finite where PyTorch's is +-inf. ``weight`` may be None."""
    rule = "loss = -(t·log p + (1-t)·log(1-p))\ndL/dp = (p - t) / (p·(1 - p))"

    @staticmethod
    def forward(ctx, x, y, weight):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x._data), -100.0)
            log_not_x = np.maximum(np.log1p(-x._data), -100.0)
        unweighted = -(y._data * log_x + (1.0 - y._data) * log_not_x)
        ctx.save_for_backward(x, y, weight)
        ctx.logs = (log_x, log_not_x)
        ctx.unweighted = unweighted
        out = unweighted if weight is None else unweighted * weight._data
        return _make(out.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, y, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if _GradMode.enabled:   # create_graph: the logs as differentiable tensors
            log_x, log_not_x = x.log().clip(-100.0, None), (1.0 - x).log().clip(-100.0, None)
        else:
            log_x, log_not_x = _make(ctx.logs[0]), _make(ctx.logs[1])
        weighted = grad if weight is None else grad * weight
        grad_x = grad_y = grad_w = None
        if needs[0]:
            grad_x = weighted * (x - y) / (x * (1.0 - x)).clip(_BCE_EPSILON, None)
        if needs[1]:
            grad_y = weighted * (log_not_x - log_x)
        if weight is not None and needs[2]:
            unweighted = -(y * log_x + (1.0 - y) * log_not_x)
            grad_w = unbroadcast(grad * unweighted, weight.shape)
        return grad_x, grad_y, grad_w
