"""2-D convolution and pooling (NCHW), differentiable any number of times.

Convolution (cross-correlation, as in PyTorch), for x (N, C, H, W) and weight (C_out, C, kH, kW):

    y[n, o, i, j] = b[o] + sum_{c, a, b} x_pad[n, c, i sH + a, j sW + b] w[o, c, a, b]

y is bilinear in (x, w), so both gradients are linear maps that are themselves ops here:

* ``Conv2dInputGrad(g, w)``  = dL/dx, the transposed convolution of g by w (im2col's adjoint);
* ``Conv2dWeightGrad(x, g)`` = dL/dw, the correlation of x with g;
* ``Conv2dBiasGrad(g)``      = dL/db, g summed over images and pixels (a kernel: NumPy's sum over
  axes (0, 2, 3) is single-threaded and 3x slower). Without a graph of the gradient,
  ``Conv2d.backward_plain`` has the weight gradient's launch sum it too, as it reads each image's g.

The three are mutually adjoint, so each one's backward is written with the other two (see each class);
that closes the set under differentiation and gives second (and higher) derivatives.
``ConvTranspose2d(x, w)`` is ``Conv2dInputGrad`` used as a layer (plus a bias), with its own backward
from the same three maps.

Max pooling routes the gradient to each window's argmax (``MaxPoolScatter``); the scatter's adjoint is
the gather at the same argmax (``MaxPoolGather``) and vice versa. Average pooling is linear: its backward
spreads g / (kH kW) over each window (``AvgPoolBackward``), whose adjoint is average pooling again.

The array work is done by ``autograd_lite.kernels`` (Numba kernels or their NumPy references).
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..function import Function
from ..tensor import Tensor
from .activation import ReLU

_make = Tensor._make


# ----------------------------------------------------------------------------- convolution
class Conv2d(Function):
    """y = conv(x, w) + b; grads: x <- Conv2dInputGrad(g, w), w <- Conv2dWeightGrad(x, g),
    b <- sum of g over (N, OH, OW)."""
    rule = {"en": "dL/dx = g ⋆ᵀ W (transposed conv)\ndL/dW = x ⋆ g,  dL/db = Σ g",
            "es": "dL/dx = g ⋆ᵀ W (conv transpuesta)\ndL/dW = x ⋆ g,  dL/db = Σ g"}

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        return _make(kernels.conv2d_forward(x._data, weight._data, stride, padding,
                                            None if bias is None else bias._data))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_x = Conv2dInputGrad.apply(grad, weight, x.shape, ctx.stride, ctx.padding)
        if needs[1]:
            grad_w = Conv2dWeightGrad.apply(x, grad, weight.shape, ctx.stride, ctx.padding)
        if needs[2]:
            grad_b = Conv2dBiasGrad.apply(grad)
        return grad_x, grad_w, grad_b, None, None

    @staticmethod
    def backward_plain(ctx, grad):
        """``backward`` on the arrays (no graph of the gradient): dW and db from one kernel
        launch, which sums each image's g for db as it reads it for dW (see ``kernels.conv``),
        joined with dx's launch (``kernels.conv2d_grads``)."""
        x, weight = ctx.saved_tensors
        grads = kernels.conv2d_grads(x._data, grad._data, weight._data, ctx.stride, ctx.padding,
                                     ctx.needs_input_grad[:3])
        return tuple(None if g is None else _make(g) for g in grads) + (None, None)

    _owned_gradients = True  # new arrays, one per input (see Function._owned_gradients)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        _, weight, bias, stride, padding = node.inputs
        args = inputs[:2] + ([inputs[2]] if bias is not None else [])
        g.op("Conv", args, outputs, kernel_shape=list(weight.shape[2:]), strides=list(stride),
             pads=list(padding) * 2)


class Conv2dInputGrad(Function):
    """z = conv^T(g, w) of shape ``input_shape`` (the gradient of a convolution w.r.t. its input).

    For L = <h, z> = <conv(h, w), g>:  dL/dg = conv(h, w),  dL/dw = Conv2dWeightGrad(h, g).
    """
    rule = {"en": "linear in g and W: d/dg = conv with W, d/dW = corr with g",
            "es": "lineal en g y W: d/dg = conv con W, d/dW = corr con g"}

    @staticmethod
    def forward(ctx, grad, weight, input_shape, stride, padding):
        ctx.save_for_backward(grad, weight)
        ctx.stride, ctx.padding = stride, padding
        return _make(kernels.conv2d_input_grad(grad._data, weight._data, input_shape, stride, padding))

    @staticmethod
    def backward(ctx, h):
        grad, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        d_grad = Conv2d.apply(h, weight, None, ctx.stride, ctx.padding) if needs[0] else None
        d_weight = (Conv2dWeightGrad.apply(h, grad, weight.shape, ctx.stride, ctx.padding)
                    if needs[1] else None)
        return d_grad, d_weight, None, None, None


class Conv2dWeightGrad(Function):
    """z = corr(x, g) of shape ``weight_shape`` (the gradient of a convolution w.r.t. its weight).

    For L = <h, z> = <conv(x, h), g>:  dL/dx = Conv2dInputGrad(g, h),  dL/dg = conv(x, h).
    """
    rule = {"en": "linear in x and g: d/dx = conv^T with g, d/dg = conv of x",
            "es": "lineal en x y g: d/dx = conv^T con g, d/dg = conv de x"}

    @staticmethod
    def forward(ctx, x, grad, weight_shape, stride, padding):
        ctx.save_for_backward(x, grad)
        ctx.stride, ctx.padding = stride, padding
        return _make(kernels.conv2d_weight_grad(x._data, grad._data, weight_shape, stride, padding))

    @staticmethod
    def backward(ctx, h):
        x, grad = ctx.saved_tensors
        needs = ctx.needs_input_grad
        d_x = (Conv2dInputGrad.apply(grad, h, x.shape, ctx.stride, ctx.padding)
               if needs[0] else None)
        d_grad = Conv2d.apply(x, h, None, ctx.stride, ctx.padding) if needs[1] else None
        return d_x, d_grad, None, None, None


class Conv2dBiasGrad(Function):
    """z[o] = sum over (n, i, j) of g[n, o, i, j] (dL/db). Adjoint: h broadcast over (N, OH, OW)."""
    rule = {"en": "d/dg = 1 (grad broadcast back)", "es": "d/dg = 1 (grad difundido de vuelta)"}

    @staticmethod
    def forward(ctx, grad):
        ctx.shape = grad.shape
        return _make(kernels.conv2d_bias_grad(grad._data))

    @staticmethod
    def backward(ctx, h):
        return h.reshape(1, -1, 1, 1).expand(*ctx.shape)


class ConvTranspose2d(Function):
    """y = conv^T(x, w) + b of spatial size ``output_size``: the input-gradient of a convolution
    whose weight is w (C_in, C_out, kH, kW), PyTorch's layout for the transposed convolution:

        y[n, o, i sH + a - pH, j sW + b - pW] += x[n, c, i, j] w[c, o, a, b]

    The output size (H - 1) sH - 2 pH + kH + output_padding is chosen by the caller: the extra
    ``output_padding`` rows receive no term. y is bilinear in (x, w); for L = <g, y>:
    dL/dx = conv(g, w), dL/dw = Conv2dWeightGrad(g, x), dL/db = g summed over (N, OH, OW)."""

    rule = "dL/dx = g ⋆ W (convolution)\ndL/dW = g ⋆ x,  dL/db = Σ g"

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, output_size):
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding = stride, padding
        shape = (x.shape[0], weight.shape[1]) + tuple(output_size)
        out = kernels.conv2d_input_grad(x._data, weight._data, shape, stride, padding)
        if bias is not None:
            out += bias._data.reshape(1, -1, 1, 1)
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_x = Conv2d.apply(grad, weight, None, ctx.stride, ctx.padding)
        if needs[1]:
            grad_w = Conv2dWeightGrad.apply(grad, x, weight.shape, ctx.stride, ctx.padding)
        if needs[2]:
            grad_b = Conv2dBiasGrad.apply(grad)
        return grad_x, grad_w, grad_b, None, None, None

    @staticmethod
    def onnx(g, node, inputs, outputs):
        x, weight, bias, stride, padding, output_size = node.inputs
        kernel = weight.shape[2:]
        extra = [size - ((n - 1) * s - 2 * p + k) for size, n, s, p, k in
                 zip(output_size, x.shape[2:], stride, padding, kernel)]
        args = inputs[:2] + ([inputs[2]] if bias is not None else [])
        g.op("ConvTranspose", args, outputs, kernel_shape=list(kernel), strides=list(stride),
             pads=list(padding) * 2, output_padding=extra)


# ----------------------------------------------------------------------------- pooling
class MaxPool2d(Function):
    """y = max over each window (padding is -inf); grad x <- MaxPoolScatter(g) at the argmax."""
    rule = {"en": "grad goes to the max of each window", "es": "el grad va al máximo de cada ventana"}

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        out, ctx.argmax = kernels.max_pool2d_forward(x._data, kernel, stride, padding)
        ctx.input_shape = x.shape
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        return MaxPoolScatter.apply(grad, ctx.argmax, ctx.input_shape), None, None, None

    @staticmethod
    def backward_plain(ctx, grad):  # no graph of the gradient: the scatter kernel, no node
        return (_make(kernels.max_pool2d_backward(grad._data, ctx.argmax, ctx.input_shape)), None,
                None, None)

    _owned_gradients = True  # a new array (see Function._owned_gradients)

    absorbs = (ReLU,)  # pooling after a ReLU, as CNNs do: one pass instead of two (see Function)
    absorbs_below = (Conv2d,)  # and the convolution before that ReLU

    @staticmethod
    def backward_absorbing(ctx, grad, relu, conv=None):
        """backward_plain and then the ReLU's backward before it: the scatter writes the gradient
        only where that ReLU's mask lets it through (``kernels.max_pool2d_backward_masked``). The
        course CNN's first pooling at batch 64: one pass over 5.5 MB instead of two. With the
        convolution before the ReLU, also its gradients (``kernels.pooled_conv2d_grads``: the
        scatter runs inside the convolution's launch, image by image), as (ours, the conv's)."""
        if conv is None:
            return (_make(kernels.max_pool2d_backward_masked(
                grad._data, ctx.argmax, ctx.input_shape, relu.mask)), None, None, None)
        x, weight = conv.saved_tensors
        output_grad, *grads = kernels.pooled_conv2d_grads(
            x._data, weight._data, conv.stride, conv.padding, conv.needs_input_grad[:3],
            grad._data, ctx.argmax, relu.mask)
        return ((_make(output_grad), None, None, None),
                tuple(None if g is None else _make(g) for g in grads) + (None, None))

    @staticmethod
    def onnx(g, node, inputs, outputs):
        _, kernel, stride, padding = node.inputs[:4]
        g.op("MaxPool", [inputs[0]], outputs[:1], kernel_shape=list(kernel), strides=list(stride),
             pads=list(padding) * 2)


class MaxPoolScatter(Function):
    """z = zeros(input_shape); z.plane[argmax] += g. Adjoint: gather at argmax."""
    rule = {"en": "grad gathered at the argmax places", "es": "grad tomado en las posiciones del argmax"}

    @staticmethod
    def forward(ctx, grad, argmax, input_shape):
        ctx.argmax = argmax
        return _make(kernels.max_pool2d_backward(grad._data, argmax, input_shape))

    @staticmethod
    def backward(ctx, h):
        return MaxPoolGather.apply(h, ctx.argmax), None, None


class MaxPoolGather(Function):
    """z = values.plane[argmax] (the shape of argmax). Adjoint: scatter-add at argmax."""
    rule = {"en": "grad scattered to the argmax places", "es": "grad repartido a las posiciones del argmax"}

    @staticmethod
    def forward(ctx, values, argmax):
        ctx.argmax, ctx.input_shape = argmax, values.shape
        return _make(kernels.max_pool2d_gather(values._data, argmax))

    @staticmethod
    def backward(ctx, h):
        return MaxPoolScatter.apply(h, ctx.argmax, ctx.input_shape), None


class AvgPool2d(Function):
    """y = mean over each window, zero padding counted (count_include_pad=True). Linear in x."""
    rule = {"en": "grad shared evenly over each window", "es": "grad repartido por igual en cada ventana"}

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        ctx.input_shape, ctx.kernel, ctx.stride, ctx.padding = x.shape, kernel, stride, padding
        return _make(kernels.avg_pool2d_forward(x._data, kernel, stride, padding))

    @staticmethod
    def backward(ctx, grad):
        return (AvgPoolBackward.apply(grad, ctx.input_shape, ctx.kernel, ctx.stride, ctx.padding),
                None, None, None)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        _, kernel, stride, padding = node.inputs[:4]
        g.op("AveragePool", [inputs[0]], outputs, kernel_shape=list(kernel), strides=list(stride),
             pads=list(padding) * 2, count_include_pad=1)


class AvgPoolBackward(Function):
    """z = spread g / (kH kW) over each window. Adjoint: average pooling."""
    rule = {"en": "grad averaged over each window", "es": "grad promediado en cada ventana"}

    @staticmethod
    def forward(ctx, grad, input_shape, kernel, stride, padding):
        ctx.kernel, ctx.stride, ctx.padding = kernel, stride, padding
        return _make(kernels.avg_pool2d_backward(grad._data, input_shape, kernel, stride, padding))

    @staticmethod
    def backward(ctx, h):
        return AvgPool2d.apply(h, ctx.kernel, ctx.stride, ctx.padding), None, None, None, None


# Their backward formulas return arrays the kernels just made, never a saved tensor, so a leaf may
# keep them as .grad without a copy (see Function._fresh_gradients and ops/__init__.py).
for _function in (Conv2d, ConvTranspose2d, Conv2dInputGrad, Conv2dWeightGrad, Conv2dBiasGrad,
                  MaxPool2d, MaxPoolScatter, MaxPoolGather, AvgPool2d, AvgPoolBackward):
    _function._fresh_gradients = True
del _function


# ----------------------------------------------------------------------------- public functions
def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution of x (N, C_in, H, W) or (C_in, H, W) by weight (C_out, C_in, kH, kW), plus
    bias (C_out,). ``stride`` and ``padding`` (zeros) are an int or an (H, W) pair.
    Output (N, C_out, OH, OW) with OH = (H + 2 pH - kH) // sH + 1."""
    x, weight = _as_tensor(x), _as_tensor(weight)
    bias = None if bias is None else _as_tensor(bias)
    stride, padding = _pair(stride, "stride", "conv2d", 1), _pair(padding, "padding", "conv2d", 0)
    unbatched = _check_input(x, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must have shape (C_out, C_in, kH, kW), got shape {weight.shape}")
    if x.shape[-3] != weight.shape[1]:
        raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[-3]} channels but the weight "
                         f"of shape {weight.shape} expects {weight.shape[1]} input channels")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},) (one per output "
                         f"channel), got shape {bias.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"conv2d: input is {x.dtype} but {name} is {t.dtype}: use one float dtype")
    _check_window(x, weight.shape[2:], stride, padding, "conv2d", "kernel")
    if unbatched:
        return Conv2d.apply(x.unsqueeze(0), weight, bias, stride, padding).squeeze(0)
    return Conv2d.apply(x, weight, bias, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over kernel_size windows of x (N, C, H, W) or (C, H, W); stride defaults to
    kernel_size; padding cells count as -inf. The gradient goes to each window's (first) maximum."""
    return _pool(MaxPool2d, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over kernel_size windows of x (N, C, H, W) or (C, H, W); stride defaults to
    kernel_size; zero padding is counted in the divisor kH kW (PyTorch's count_include_pad=True)."""
    return _pool(AvgPool2d, "avg_pool2d", x, kernel_size, stride, padding)


def _pool(op, name, x, kernel_size, stride, padding):
    x = _as_tensor(x)
    kernel = _pair(kernel_size, "kernel_size", name, 1)
    stride = kernel if stride is None else _pair(stride, "stride", name, 1)
    padding = _pair(padding, "padding", name, 0)
    unbatched = _check_input(x, name)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    _check_window(x, kernel, stride, padding, name, "kernel_size")
    if unbatched:
        return op.apply(x.unsqueeze(0), kernel, stride, padding).squeeze(0)
    return op.apply(x, kernel, stride, padding)


def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


def _pair(value, arg, fn, minimum):
    """An int or a pair of ints as a tuple (h, w), each at least ``minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in pair):
        raise TypeError(f"{fn}: {arg} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{fn}: {arg} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_input(x, fn):
    """True for an unbatched (C, H, W) input; raises unless x is a 3-D or 4-D float tensor."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: expected input of shape (N, C, H, W) or (C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be a float tensor, got dtype {x.dtype}")
    return x.ndim == 3


def _check_window(x, kernel, stride, padding, fn, arg):
    height, width = x.shape[-2:]
    if height + 2 * padding[0] < kernel[0] or width + 2 * padding[1] < kernel[1]:
        raise ValueError(f"{fn}: input of spatial size ({height}, {width}) with padding {padding} is "
                         f"smaller than the {arg} {tuple(kernel)}")
