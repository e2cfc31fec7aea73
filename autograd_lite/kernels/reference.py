"""Plain NumPy reference implementations of every kernel (the ``numpy`` backend).

Each function here is the specification its Numba twin in ``kernels`` is tested against, and the
backend used when ``AUTOGRAD_LITE_KERNELS=numpy``. Layout is NCHW throughout:

* ``x``      (N, C, H, W)             input
* ``weight`` (C_out, C, kH, kW)       convolution filter
* ``out``    (N, C_out, OH, OW)       with OH = (H + 2 pH - kH) // sH + 1 (same for OW)

Convolution here is cross-correlation, as in every deep-learning framework:

    out[n, o, i, j] = sum_{c, a, b} x_pad[n, c, i sH + a, j sW + b] * weight[o, c, a, b]

Its two gradients are the adjoint maps (linear in each argument):

    grad_x_pad[n, c, i sH + a, j sW + b] += grad[n, o, i, j] * weight[o, c, a, b]     (col2im)
    grad_w[o, c, a, b] = sum_{n, i, j} grad[n, o, i, j] * x_pad[n, c, i sH + a, j sW + b]
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import blas


def output_size(size, kernel, stride, padding):
    """Number of window positions along one axis: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def pad_spatial(x, padding, value=0.0):
    """x (N, C, H, W) with ``padding`` = (pH, pW) rows/columns of ``value`` on each side."""
    pad_h, pad_w = padding
    if pad_h == 0 and pad_w == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)), constant_values=value)


def windows(x_pad, kernel, stride):
    """View (N, C, OH, OW, kH, kW) of every window of the padded input (no copy)."""
    view = sliding_window_view(x_pad, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m): NumPy's matmul (BLAS)."""
    return np.matmul(a, b)


def conv2d_forward(x, weight, stride, padding, bias=None):
    """Cross-correlation (plus bias): im2col (the window view) contracted with the filter."""
    cols = windows(pad_spatial(x, padding), weight.shape[2:], stride)  # (N, C, OH, OW, kH, kW)
    out = np.tensordot(cols, weight, axes=([1, 4, 5], [1, 2, 3]))      # (N, OH, OW, C_out)
    if bias is not None:
        out += bias
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def col2im(cols, input_shape, stride, padding):
    """Adjoint of ``windows``: scatter-add cols (N, C, OH, OW, kH, kW) back to (N, C, H, W).

    for a, b in kernel offsets:  x_pad[:, :, a + sH i, b + sW j] += cols[:, :, i, j, a, b]
    """
    n, c, height, width = input_shape
    pad_h, pad_w = padding
    out_h, out_w, kernel_h, kernel_w = cols.shape[2:]
    x_pad = np.zeros((n, c, height + 2 * pad_h, width + 2 * pad_w), dtype=cols.dtype)
    for a in range(kernel_h):
        rows = slice(a, a + stride[0] * (out_h - 1) + 1, stride[0])
        for b in range(kernel_w):
            x_pad[:, :, rows, b:b + stride[1] * (out_w - 1) + 1:stride[1]] += cols[:, :, :, :, a, b]
    return x_pad[:, :, pad_h:pad_h + height, pad_w:pad_w + width]


def conv2d_bias_grad(grad):
    """grad_b[o] = sum over n, i, j of grad[n, o, i, j]."""
    return grad.sum(axis=(0, 2, 3))


def conv2d_input_grad(grad, weight, input_shape, stride, padding):
    """grad_x = col2im(grad (x) weight): the transposed convolution of ``grad`` by ``weight``."""
    cols = np.tensordot(grad, weight, axes=([1], [0]))  # (N, OH, OW, C, kH, kW)
    return np.ascontiguousarray(col2im(cols.transpose(0, 3, 1, 2, 4, 5), input_shape, stride, padding))


def conv2d_weight_grad(x, grad, weight_shape, stride, padding, with_bias=False):
    """grad_w[o, c, a, b] = sum over n, i, j of grad[n, o, i, j] * window[n, c, i, j, a, b];
    ``with_bias``: (grad_w, conv2d_bias_grad(grad))."""
    cols = windows(pad_spatial(x, padding), weight_shape[2:], stride)
    out = np.ascontiguousarray(np.tensordot(grad, cols, axes=([0, 2, 3], [0, 2, 3])))
    return (out, conv2d_bias_grad(grad)) if with_bias else out


def max_pool2d_forward(x, kernel, stride, padding):
    """(out, argmax): the window maxima (padding counts as -inf) and, for each, the flat index
    ``row * W + col`` of the chosen element in its (H, W) plane (the first maximum on ties)."""
    n, c, height, width = x.shape
    cols = windows(pad_spatial(x, padding, -np.inf), kernel, stride)
    out_h, out_w = cols.shape[2:4]
    flat = cols.reshape(n, c, out_h, out_w, kernel[0] * kernel[1])
    local = np.argmax(flat, axis=4)
    out = np.take_along_axis(flat, local[..., None], axis=4)[..., 0]
    rows = np.arange(out_h)[:, None] * stride[0] + local // kernel[1] - padding[0]
    cols_ = np.arange(out_w)[None, :] * stride[1] + local % kernel[1] - padding[1]
    # A window whose real elements are all -inf may pick a padding cell: clip it onto the real
    # element next to it, which is also a maximum (padding <= kernel / 2 keeps it in the window).
    argmax = np.clip(rows, 0, height - 1) * width + np.clip(cols_, 0, width - 1)
    return np.ascontiguousarray(out), argmax.astype(np.int64)


def max_pool2d_backward(grad, argmax, input_shape):
    """Scatter-add: grad_x.plane[argmax[n, c, i, j]] += grad[n, c, i, j]."""
    n, c, height, width = input_shape
    out = np.zeros((n * c, height * width), dtype=grad.dtype)
    rows = np.repeat(np.arange(n * c), argmax[0, 0].size)
    np.add.at(out, (rows, argmax.reshape(-1)), grad.reshape(-1))
    return out.reshape(input_shape)


def max_pool2d_backward_masked(grad, argmax, input_shape, mask):
    """The scatter-add of ``max_pool2d_backward``, then ``mask_select`` by ``mask`` (a boolean array
    of ``input_shape``: the mask of the ReLU whose output was pooled)."""
    return mask_select(max_pool2d_backward(grad, argmax, input_shape), mask)


def max_pool2d_gather(values, argmax):
    """Gather (adjoint of the scatter): out[n, c, i, j] = values.plane[argmax[n, c, i, j]]."""
    n, c = values.shape[:2]
    flat = values.reshape(n, c, -1)
    return np.take_along_axis(flat, argmax.reshape(n, c, -1), axis=2).reshape(argmax.shape)


def avg_pool2d_forward(x, kernel, stride, padding):
    """Window means, zero padding counted in the divisor kH kW (count_include_pad=True)."""
    cols = windows(pad_spatial(x, padding), kernel, stride)
    return np.ascontiguousarray(cols.sum(axis=(4, 5)) * (1.0 / (kernel[0] * kernel[1])),
                                dtype=x.dtype)


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding):
    """Adjoint of the window mean: every cell of a window receives grad / (kH kW)."""
    scaled = grad * grad.dtype.type(1.0 / (kernel[0] * kernel[1]))
    cols = np.broadcast_to(scaled[:, :, :, :, None, None], scaled.shape + tuple(kernel))
    return np.ascontiguousarray(col2im(cols, input_shape, stride, padding))


def relu_forward(x):
    """(max(x, 0) with NaN kept and -0.0 as 0.0, the gradient mask: not (x <= 0), as in PyTorch).

    The mask is read from the output, out != 0: out is 0 exactly where x <= 0 (-inf and -0.0
    included) and NaN where x is NaN, so this is not (x <= 0) in one pass instead of two."""
    out = np.maximum(x, 0)  # NaN propagates, -inf gives 0
    out += 0  # -0.0 becomes 0.0 (max(-0.0, 0) is -0.0)
    return out.astype(x.dtype, copy=False), out != 0


_UNSIGNED = {np.dtype(np.float16): np.uint16, np.dtype(np.float32): np.uint32,
             np.dtype(np.float64): np.uint64}  # an unsigned integer of each float's width


def mask_select(grad, mask, out=None):
    """grad where mask else 0 (the ReLU's backward), into ``out`` (None: a new array; it may be
    ``grad`` itself); a NaN or inf gradient where the mask is off
    gives 0 too. For a float gradient and a boolean mask of its shape, the gradient's bits, read as
    unsigned integers, are multiplied by the mask's 0 or 1: the same bits as ``np.where``, without
    its branch per element, half of which mispredict on a ReLU's mask (64 x 128 float32 on a Zen 3:
    about 7 us against 35)."""
    unsigned = _UNSIGNED.get(grad.dtype)
    if unsigned is None or mask.dtype != np.bool_ or grad.shape != mask.shape:
        selected = np.where(mask, grad, 0).astype(grad.dtype, copy=False)
        if out is None:
            return selected
        out[...] = selected
        return out
    out = np.empty_like(grad) if out is None else out
    np.multiply(grad.view(unsigned), mask.view(np.uint8), out=out.view(unsigned))
    return out


def mask_select_in_place(grad, mask):
    """``mask_select`` into ``grad`` itself; returns it."""
    return mask_select(grad, mask, out=grad)


def axpy(alpha, x, y):
    """y += alpha x in place, each element rounded once, as PyTorch's ``y.add_(x, alpha=alpha)``
    (one fused multiply-add, alpha in y's dtype): BLAS's axpy (``blas.axpy``) for float32 and
    float64 arrays of one shape and layout. Other dtypes and layouts: NumPy's alpha x, then the
    sum (rounded twice). Returns True where it was rounded once."""
    if blas.axpy(alpha, x, y):
        return True
    y += alpha * x
    return False


def sgd_update(param, grad, lr):
    """p <- p - lr g in place (``optim.SGD``): ``axpy(-lr, g, p)``. Returns ``param``."""
    axpy(-lr, grad, param)
    return param


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, beta1, beta2, eps,
                step_size, bias2_sqrt):
    """Adam's step in place (``optim.Adam``: the math is there), in the parameter's dtype:
    m += (1 - beta1)(g - m);  v = beta2 v + (1 - beta2) g^2;  s = max(vmax, v) (amsgrad) or v;
    p -= step_size m / (sqrt(s) / bias2_sqrt + eps). ``scratch``: a work array shaped like p.
    Returns ``param``."""
    np.subtract(grad, exp_avg, out=scratch)
    scratch *= 1.0 - beta1
    exp_avg += scratch
    exp_avg_sq *= beta2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1.0 - beta2
    exp_avg_sq += scratch
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        second = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    np.sqrt(second, out=scratch)
    scratch /= bias2_sqrt
    scratch += eps
    np.divide(exp_avg, scratch, out=scratch)
    scratch *= step_size
    param -= scratch
    return param
