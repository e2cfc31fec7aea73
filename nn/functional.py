"""Functional forms of every layer, activation and loss (PyTorch's ``torch.nn.functional``).

The layers in ``nn`` hold parameters and settings and call these. Activations are composites of the
engine's primitives (so they need no backward) except where one node is both faster and more
precise (``relu``, ``softplus``, the exact ``gelu``'s erf: see ``nn.functions``).

Formulas (x the input):
    relu(x) = max(x, 0)                     leaky_relu(x) = x if x >= 0 else slope x
    elu(x) = x if x > 0 else alpha (exp(x) - 1)
    selu(x) = scale elu(x, alpha), alpha ~ 1.6733, scale ~ 1.0507 (Klambauer et al. 2017)
    softplus(x) = log(1 + exp(beta x)) / beta   (x itself where beta x > threshold)
    gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, or with approximate='tanh'
              x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2 (Hendrycks & Gimpel 2016)
    silu(x) = x sigmoid(x)
    softmax(x)_i = exp(x_i) / sum_j exp(x_j);   log_softmax = x - logsumexp(x)
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from autograd_lite.ops import (ConstantPad, ELU, LeakyReLU, LinearFn, Softmax, LogSoftmax, Sigmoid,
                               Tanh, Where)
from autograd_lite.arguments import check_dim
from autograd_lite.random import generator
from autograd_lite.tensor import Tensor

from . import functional_conv as _conv_more
from .functional_conv import conv1d, conv_transpose2d
from .functional_pool import (max_pool2d, avg_pool2d, max_pool1d, avg_pool1d, adaptive_avg_pool2d,
                              adaptive_max_pool2d, adaptive_avg_pool1d, adaptive_max_pool1d)
from .functions import Erf, ReLUFn, Softplus
# issue 11 (normalisation, embedding): their functional forms live beside their layers
from .functional_inputs import _floating, _tensor  # noqa: F401  (F._tensor: the layers use it)
from .functional_activations import (hardtanh, relu6, logsigmoid, softsign, hardsigmoid,
                                     hardswish, mish, tanhshrink)
from .normalization import batch_norm, layer_norm, group_norm
from .embedding import embedding
from .loss_functions import (mse_loss, l1_loss, huber_loss, smooth_l1_loss, binary_cross_entropy,
                             binary_cross_entropy_with_logits, cross_entropy, nll_loss, one_hot,
                             kl_div)

__all__ = ["linear", "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "dropout", "dropout1d", "dropout2d",
           "flatten", "relu",
           "leaky_relu", "elu", "selu", "softplus", "gelu", "silu", "sigmoid", "tanh", "softmax",
           "log_softmax", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
           "one_hot", "batch_norm", "layer_norm", "group_norm", "embedding", "kl_div",
           "normalize", "cosine_similarity", "hardtanh", "relu6", "logsigmoid", "softsign",
           "hardsigmoid", "hardswish", "mish", "tanhshrink", "pad"]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative widths, crop) the last dims: ``pad`` = (left, right) for the last
    dim, then (top, bottom) for the one before, ... as PyTorch reads it; ``mode='constant'``
    (``value``, default 0) only."""
    input = _tensor(input)
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not supported (only 'constant')")
    widths = [int(w) for w in pad]
    if len(widths) % 2 or len(widths) // 2 > input.ndim:
        raise ValueError(f"pad: pad must hold an even number of sizes, two per padded dim, at most "
                         f"{2 * input.ndim} for a tensor of shape {tuple(input.shape)}; got {pad}")
    pairs = [(0, 0)] * (input.ndim - len(widths) // 2) + \
        [(widths[2 * i], widths[2 * i + 1]) for i in reversed(range(len(widths) // 2))]
    crop = tuple(slice(max(-before, 0), size - max(-after, 0))
                 for (before, after), size in zip(pairs, input.shape))
    if any(s.start or s.stop != size for s, size in zip(crop, input.shape)):
        if any(s.stop - s.start < 0 for s in crop):
            raise ValueError(f"pad: cropping {pad} leaves nothing of shape {tuple(input.shape)}")
        input = input[crop]
    grow = tuple((max(before, 0), max(after, 0)) for before, after in pairs)
    return ConstantPad.apply(input, grow, 0 if value is None else value)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p, eps) along ``dim``: unit vectors (a zero vector stays 0)."""
    input = _tensor(input)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` of the shape x1 and x2
    broadcast to (PyTorch's definition); that dim is removed."""
    x1, x2 = _tensor(x1), _tensor(x2)
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} cannot be "
                         "broadcast together") from None
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    return (normalize(x1, 2, dim, eps) * normalize(x2, 2, dim, eps)).sum(dim)


# ---------------------------------------------------------------------- layers
def linear(input, weight, bias=None):
    """y = input @ weight^T + bias: input (..., in), weight (out, in), bias (out,); one fused node."""
    if type(input) is not Tensor:
        input = _tensor(input, like=weight)
    return LinearFn.apply(input, weight, bias)  # bias may be None (passed: one grad per argument)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, NCHW: input (N, C, H, W), weight (C_out, C / groups, kH, kW).
    ``padding`` is an int, a pair, ``"valid"`` (no padding) or ``"same"`` (output size = input
    size, stride 1). See ``nn.functional_conv`` for dilation and groups."""
    input = _tensor(input, like=weight)
    channels = weight.shape[1] * groups if isinstance(groups, int) else weight.shape[1]
    if input.ndim == 4 and input.shape[1] != channels and input.shape[3] == channels:
        raise ValueError(f"conv2d: input of shape {input.shape} looks channels-last (N, H, W, C), as "
                         f"Keras stores images; this layer expects (N, C, H, W) with C={channels}: "
                         "use x.permute(0, 3, 1, 2), or np.transpose(images, (0, 3, 1, 2)) once")
    return _conv_more.conv2d(input, weight, bias, stride, padding, dilation, groups)


def dropout(input, p=0.5, training=True):
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p), so
    the expectation is unchanged and evaluation needs no rescaling. Identity when not training.
    The mask comes from the generator behind ``ag.manual_seed``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got p={p}")
    input = _tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = generator().random(input.shape) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(input.dtype)


def _channel_dropout(input, p, training, name, channel_dims):
    """Zero whole channels: the mask has shape input.shape[:channel_dims] + (1, ...)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got p={p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    shape = input.shape[:channel_dims] + (1,) * (input.ndim - channel_dims)
    keep = generator().random(shape) >= p
    return input * (keep * (1.0 / (1.0 - p))).astype(input.dtype)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel-wise dropout of (N, C, H, W): each channel of each image is zeroed with probability
    p (survivors scaled by 1/(1-p)), for convolutional features whose neighbouring pixels are
    correlated (Tompson et al. 2015). As in PyTorch, a 3-D input is taken as (N, C, L) with a
    warning (use dropout1d for that)."""
    input = _tensor(input)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W), got shape {input.shape}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _channel_dropout(input, p, training, "dropout2d", 2)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Channel-wise dropout of (N, C, L) or unbatched (C, L)."""
    input = _tensor(input)
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected input of shape (N, C, L) or (C, L), got shape "
                         f"{input.shape}")
    return _channel_dropout(input, p, training, "dropout1d", input.ndim - 1)


def flatten(input, start_dim=1, end_dim=-1):
    """Merge dims start_dim..end_dim into one (default: everything after the batch dim)."""
    return _tensor(input).flatten(start_dim, end_dim)


# ---------------------------------------------------------------------- activations
def relu(input, inplace=False):
    return ReLUFn.apply(_tensor(input))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU.apply(_floating(input, "leaky_relu"), negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return ELU.apply(_floating(input, "elu"), alpha)


def selu(input, inplace=False):
    return elu(input, SELU_ALPHA) * SELU_SCALE


def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus.apply(_floating(input, "softplus"), beta, threshold)


def gelu(input, approximate="none"):
    input = _floating(input, "gelu")
    if approximate == "none":
        return input * (Erf.apply(input * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * (Tanh.apply(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    input = _floating(input, "silu")
    return input * Sigmoid.apply(input)


def sigmoid(input):
    return Sigmoid.apply(_tensor(input))


def tanh(input):
    return Tanh.apply(_tensor(input))


def _softmax_dim(ndim, dim, name):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                      "to include dim=X as an argument.", stacklevel=3)
        return 0 if ndim in (0, 1, 3) else 1
    return check_dim(dim, ndim, name)


def softmax(input, dim=None):
    input = _tensor(input)
    return Softmax.apply(input, _softmax_dim(input.ndim, dim, "softmax"))


def log_softmax(input, dim=None):
    input = _tensor(input)
    return LogSoftmax.apply(input, _softmax_dim(input.ndim, dim, "log_softmax"))
