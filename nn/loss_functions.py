"""Loss functions (PyTorch semantics), each reducing per-element losses l_i with ``reduction``:
'mean' (the default), 'sum' or 'none'.

    mse_loss:    l = (x - y)^2                      l1_loss: l = |x - y|
    huber_loss:  l = (x - y)^2 / 2 if |x - y| < delta else delta (|x - y| - delta / 2)
    binary_cross_entropy:             l = -w [y log x + (1 - y) log(1 - x)]   (logs clamped at -100)
    binary_cross_entropy_with_logits: l = -w [p y log s(x) + (1 - y) log(1 - s(x))], s = sigmoid,
                                      p = pos_weight, computed as (1 - y) x + (1 + (p - 1) y) softplus(-x)
    nll_loss:       l_i = -w_{t_i} x[i, t_i];  mean divides by sum_i w_{t_i}
    kl_div:         l = y (log y - x) on log-probabilities x (0 where y = 0); 'batchmean' too
    cross_entropy:  nll_loss(log_softmax(x)) for class indices; for class probabilities y
                    l_i = -sum_c w_c y_ic log_softmax(x)_ic (mean divides by the sample count)

A target whose shape differs from the input's raises instead of broadcasting silently ((B,) against
(B, 1) would otherwise compare every prediction with every target).
"""
from __future__ import annotations

import warnings

import numpy as np

from autograd_lite.ops import LogSoftmax
from autograd_lite.ops.composite import where
from autograd_lite.ops.losses import BinaryCrossEntropy, CrossEntropyIndices
from autograd_lite.tensor import Tensor

from .functions import Softplus

_REDUCTIONS = ("none", "mean", "sum")
_max_reduce = np.maximum.reduce


def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _input(x, name):
    if isinstance(x, Tensor):
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: input must be floating point, got dtype {x.dtype} (the "
                            "arguments are (input, target): the model's output comes first)")
        return x
    return Tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, np.ndarray) else x)


def _float_target(input, target, name):
    """The target as a Tensor of the input's float dtype, with exactly the input's shape."""
    if target is None:
        raise TypeError(f"{name}: target is None; pass the expected values, e.g. "
                        "loss_fn(model(x), y)")
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    elif target.dtype != input.dtype:
        target = target.to(input.dtype)
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: target shape {target.shape} differs from input shape {input.shape}. They "
            "would broadcast silently and give a wrong loss; reshape one of them (e.g. "
            "target.reshape(input.shape) or input.squeeze(-1)).")
    return target


def _class_weight(weight, input, classes, name):
    if weight is None:
        return None
    array = np.asarray(weight._data if isinstance(weight, Tensor) else weight, dtype=input.dtype)
    if array.shape != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},) (one per class), got "
                         f"{array.shape}")
    return array


def mse_loss(input, target, reduction="mean"):
    _check_reduction(reduction, "mse_loss")
    input = _input(input, "mse_loss")
    difference = input - _float_target(input, target, "mse_loss")
    return _reduce(difference * difference, reduction)


def l1_loss(input, target, reduction="mean"):
    _check_reduction(reduction, "l1_loss")
    input = _input(input, "l1_loss")
    return _reduce((input - _float_target(input, target, "l1_loss")).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input = _input(input, "huber_loss")
    difference = input - _float_target(input, target, "huber_loss")
    absolute = difference.abs()
    quadratic = difference * difference * 0.5
    linear = (absolute - 0.5 * delta) * delta
    return _reduce(quadratic.where(absolute._data < delta, linear), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Huber loss divided by beta: (x - y)^2 / (2 beta) if |x - y| < beta else |x - y| - beta / 2."""
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) * (1.0 / beta)


def _elementwise_weight(weight, input, name):
    if weight is None:
        return None
    weight = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, input.dtype))
    try:
        shape = np.broadcast_shapes(weight.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise ValueError(f"{name}: weight of shape {weight.shape} does not broadcast to the input "
                         f"shape {input.shape}")
    return weight


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Input: probabilities in [0, 1] (e.g. after a sigmoid); the logs are clamped at -100 and the
    gradient's denominator x (1 - x) at 1e-12 as in PyTorch, so a prediction of exactly 0 or 1
    gives a large but finite loss and gradient (one fused node, ``ops.losses.BinaryCrossEntropy``)."""
    _check_reduction(reduction, "binary_cross_entropy")
    input = _input(input, "binary_cross_entropy")
    target = _float_target(input, target, "binary_cross_entropy")
    if input._data.size and not ((input._data >= 0) & (input._data <= 1)).all():
        bad = input._data[~((input._data >= 0) & (input._data <= 1))].ravel()[0]
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1 "
                         f"(found {bad}); use binary_cross_entropy_with_logits for raw scores")
    weight = _elementwise_weight(weight, input, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable expression (softplus via logaddexp): logits of
    any size give finite losses and gradients."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input = _input(input, "binary_cross_entropy_with_logits")
    target = _float_target(input, target, "binary_cross_entropy_with_logits")
    softplus_negative = Softplus.apply(-input, 1.0, np.inf)      # -log sigmoid(x)
    if pos_weight is None:
        losses = (1.0 - target) * input + softplus_negative
    else:
        pos_weight = pos_weight if isinstance(pos_weight, Tensor) else \
            Tensor(np.asarray(pos_weight, input.dtype))
        losses = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * softplus_negative
    weight = _elementwise_weight(weight, input, "binary_cross_entropy_with_logits")
    return _reduce(losses if weight is None else losses * weight, reduction)


def _indices(target, input, classes, ignore_index, name):
    """Class-index target as an int64 array of shape input.shape without the class dim."""
    array = np.asarray(target._data if isinstance(target, Tensor) else target)
    expected = input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ()
    if array.dtype.kind == "f":
        raise TypeError(f"{name}: class-index target must be integers, got dtype {array.dtype}: "
                        "convert the labels with target.long() (or y.astype(np.int64)); for class "
                        f"probabilities the target must have the input's shape {input.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {array.dtype}")
    if array.shape != expected:
        raise ValueError(f"{name}: input of shape {input.shape} needs a class-index target of shape "
                         f"{expected}, got {array.shape}")
    array = array.astype(np.int64, copy=False)
    if array.size == 0 or (array.min() >= 0 and array.max() < classes):
        return array
    bad = (array != ignore_index) & ((array < 0) | (array >= classes))
    if bad.any():
        raise IndexError(f"{name}: target {int(array[bad].ravel()[0])} is out of bounds for "
                         f"{classes} classes")
    return array


def _classes_last(input):
    """(N, C, d1, ...) -> (N d1 ..., C); (C,) -> (1, C); (N, C) unchanged."""
    if input.ndim == 1:
        return input.reshape(1, -1)
    if input.ndim == 2:
        return input
    order = (0,) + tuple(range(2, input.ndim)) + (1,)
    return input.permute(*order).reshape(-1, input.shape[1])


def _restore(losses, input, reduction):
    if reduction != "none":
        return losses
    return losses.reshape(input.shape[:1] + input.shape[2:] if input.ndim >= 2 else ())


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Input: log-probabilities (N, C), (N, C, d1, ...) or (C,); target: class indices."""
    _check_reduction(reduction, "nll_loss")
    input = _input(input, "nll_loss")
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    flat_target = _indices(target, input, classes, ignore_index, "nll_loss").reshape(-1)
    weight = _class_weight(weight, input, classes, "nll_loss")
    losses, sample_weight = _nll_flat(_classes_last(input), flat_target, weight, ignore_index)
    if reduction == "mean":
        return losses.sum() / sample_weight.sum()
    return _restore(losses if reduction == "none" else losses.sum(), input, reduction)


def _nll_flat(log_probs, target, weight, ignore_index):
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    sample_weight = (weight[safe] if weight is not None else np.ones(len(safe), log_probs.dtype))
    sample_weight = (sample_weight * valid).astype(log_probs.dtype)
    picked = log_probs[np.arange(len(safe)), safe]                     # (M,)
    return -picked * sample_weight, sample_weight


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy on logits (N, C), (N, C, d1, ...) or (C,). ``target`` holds class
    indices (integers, shape without C) or class probabilities (floats, the input's shape, e.g.
    one-hot rows). Class indices without label smoothing use one fused node."""
    if (type(input) is Tensor and input._data.ndim == 2 and weight is None and not label_smoothing
            and reduction in _REDUCTIONS and input._data.dtype.kind == "f"):
        # the training hot path: logits (N, C) and an int64 target (N,) of valid class indices
        array = target._data if type(target) is Tensor else target
        classes = input._data.shape[1]
        # 0 <= t < C in one reduction: read as unsigned, a negative int64 is above 2**63
        if type(array) is np.ndarray and array.dtype == np.int64 and \
                array.shape == input._data.shape[:1] and array.size and \
                _max_reduce(array.view(np.uint64)) < classes:
            if type(ignore_index) is int and not 0 <= ignore_index < classes:
                ignore_index = None  # no target can be ignored: the node skips that pass
            return CrossEntropyIndices.apply(input, array, None, ignore_index, reduction)
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _input(input, "cross_entropy")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    weight = _class_weight(weight, input, classes, "cross_entropy")
    target_array = target._data if isinstance(target, Tensor) else np.asarray(target)
    if target_array.dtype.kind == "f" and target_array.shape == input.shape:
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing,
                                            classes)
    flat_target = _indices(target, input, classes, ignore_index, "cross_entropy").reshape(-1)
    logits = _classes_last(input)
    if label_smoothing == 0.0:
        losses = CrossEntropyIndices.apply(logits, flat_target, weight, ignore_index, reduction)
        return _restore(losses, input, reduction)
    log_probs = LogSoftmax.apply(logits, 1)
    losses, sample_weight = _nll_flat(log_probs, flat_target, weight, ignore_index)
    valid = (flat_target != ignore_index).astype(input.dtype).reshape(-1, 1)
    weighted = log_probs * weight if weight is not None else log_probs
    smooth = -(weighted * valid).sum(1)                                 # (M,)
    if reduction == "mean":
        denominator = sample_weight.sum()
        nll, smooth = losses.sum() / denominator, smooth.sum() / denominator
    elif reduction == "sum":
        nll, smooth = losses.sum(), smooth.sum()
    else:
        nll = losses
    total = nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)
    return _restore(total, input, reduction)


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, classes):
    target = _float_target(input, target, "cross_entropy (class probabilities)")
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    class_dim = 1 if input.ndim >= 2 else 0
    log_probs = LogSoftmax.apply(input, class_dim)
    terms = log_probs * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = classes
        terms = terms * Tensor(weight.reshape(shape))
    losses = -terms.sum(class_dim)
    if reduction == "mean":
        count = input._data.size // classes
        return losses.sum() / count
    return _reduce(losses, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence of the distribution ``target`` from the one whose log-probabilities are
    ``input``, per element l = y (log y - x), taken as 0 where y = 0 (with ``log_target``, y holds
    log-probabilities: l = exp(y) (y - x)). ``reduction='batchmean'`` (sum / batch size) is the KL
    divergence of each distribution, averaged; 'mean' divides by every element, as PyTorch's default
    does, which it warns about (and so does this)."""
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be 'none', 'batchmean', 'mean' or 'sum', got "
                         f"{reduction!r}")
    input = _input(input, "kl_div")
    target = _float_target(input, target, "kl_div")
    if log_target:
        losses = target.exp() * (target - input)
    else:  # (log taken of 1 where y = 0: that term is 0 and its gradient finite)
        zero = target._data == 0
        logs = where(zero, 1.0, target).log() if zero.any() else target.log()
        losses = target * (logs - input)
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the sum by every element (batch size times "
                      "the number of classes); the KL divergence is reduction='batchmean'",
                      UserWarning, stacklevel=2)
    return _reduce(losses, reduction)


def one_hot(tensor, num_classes=-1):
    """int64 one-hot encoding with a new last dim of size num_classes (default: max + 1)."""
    indices = np.asarray(tensor._data if isinstance(tensor, Tensor) else tensor)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {indices.dtype}")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{indices.min()}, {indices.max()}]")
    return Tensor(np.eye(num_classes, dtype=np.int64)[indices])
