"""Matrix products: batched matmul and the fused affine map used by ``nn.Linear``."""
from __future__ import annotations

import warnings

import numpy as np

from ..dtypes import result_type
from ..function import Function
from ..tensor import Tensor
from .onnx_mapping import binary

_make = Tensor._make
_add_reduce = np.add.reduce


def _check_matmul(a, b):
    a_shape, b_shape = a._data.shape, b._data.shape  # plain tuples: this runs on every product
    if len(a_shape) < 2 or len(b_shape) < 2:
        raise ValueError("MatMul primitive needs operands with at least 2 dims")
    if a_shape[-1] != b_shape[-2]:
        raise ValueError(f"matmul: shapes {a_shape} and {b_shape} are not aligned: {a_shape[-1]} "
                         f"(last dim of the first) != {b_shape[-2]} (second-to-last of the second)")
    if len(a_shape) > 2 or len(b_shape) > 2:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dims {a_shape[:-2]} and {b_shape[:-2]} cannot be "
                             "broadcast together") from None


class MatMul(Function):
    """(..., n, k) @ (..., k, m) -> (..., n, m) with broadcast batch dims.

    grad_a = grad @ b^T and grad_b = a^T @ grad, each summed back over broadcast batch dims.
    """
    rule = "C = A·B\ndL/dA = g·Bᵀ\ndL/dB = Aᵀ·g"

    @staticmethod
    def forward(ctx, a, b):
        _check_matmul(a, b)
        ctx.save_for_backward(a, b)
        if a._data.dtype != b._data.dtype:
            return _make(matmul_arrays(*_same_dtype(a, b)))
        return _make(matmul_arrays(a._data, b._data))

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(MatMul.apply(grad, b.mT), a._data.shape)
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(MatMul.apply(a.mT, grad), b._data.shape)
        return grad_a, grad_b

    @staticmethod
    def backward_plain(ctx, grad):
        a, b = ctx.saved_tensors
        g, a_data, b_data = grad._data, a._data, b._data
        if not (g.dtype == a_data.dtype == b_data.dtype):  # mixed dtypes: the promoting formula
            return MatMul.backward(ctx, grad)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast_plain(_make(matmul_arrays(g, b_data.swapaxes(-2, -1))), a_data.shape)
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast_plain(_make(matmul_arrays(a_data.swapaxes(-2, -1), g)), b_data.shape)
        return grad_a, grad_b

    _owned_gradients = True  # new arrays, one per input (see Function._owned_gradients)
    onnx = binary("MatMul")


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,) -- one node instead of three.

    grad_x = grad W; grad_W = grad^T x (over all leading dims); grad_b = grad summed over leading dims.
    """
    rule = "y = x·Wᵀ + b\ndL/dx = g·W\ndL/dW = gᵀ·x,  dL/db = Σ g"

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        x_shape, weight_shape = x._data.shape, weight._data.shape
        if not x_shape or len(weight_shape) != 2:
            raise ValueError(f"linear: input of shape {x.shape} and weight of shape {weight.shape}: "
                             "expected an input with at least 1 dim (..., in_features) and a 2-D "
                             "weight (out_features, in_features)")
        if x_shape[-1] != weight_shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features but the "
                             f"weight of shape {weight.shape} expects {weight.shape[1]} "
                             "(in_features)")
        ctx.save_for_backward(x, weight)
        x_data, weight_data = x._data, weight._data
        if x_data.dtype != weight_data.dtype:
            x_data, weight_data = _same_dtype(x, weight)
        out = matmul_arrays(x_data, weight_data.T)
        if bias is not None:
            out += bias._data
        return _make(out)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = None
        if needs[0]:  # a 1-D x gives a 1-D grad: MatMul needs it as a row
            grad_x = MatMul.apply(grad if grad._data.ndim > 1 else grad.reshape(1, -1), weight)
        grad_w = grad_b = None
        if needs[1] or (len(needs) > 2 and needs[2]):
            flat_grad = grad if grad._data.ndim == 2 else grad.reshape(-1, grad._data.shape[-1])
            if needs[1]:
                flat_x = x if x._data.ndim == 2 else x.reshape(-1, x._data.shape[-1])
                grad_w = MatMul.apply(flat_grad.mT, flat_x)
            if len(needs) > 2 and needs[2]:
                grad_b = flat_grad.sum(0)
        if x._data.ndim == 1 and grad_x is not None:
            grad_x = grad_x.reshape(x._data.shape)
        return (grad_x, grad_w, grad_b) if len(needs) > 2 else (grad_x, grad_w)  # bias=None

    @staticmethod
    def backward_plain(ctx, grad):
        x, weight = ctx.saved_tensors
        if not (grad._data.dtype == x._data.dtype == weight._data.dtype):  # mixed: promoting formula
            return Linear.backward(ctx, grad)
        return _linear_grads_arrays(grad._data, x._data, weight._data, ctx.needs_input_grad)

    _owned_gradients = True  # new arrays, one per input (see Function._owned_gradients)

    @staticmethod
    def onnx(g, node, inputs, outputs):
        transposed = g.op("Transpose", [inputs[1]], perm=[1, 0])[0]
        if len(inputs) < 3 or inputs[2] is None:
            g.op("MatMul", [inputs[0], transposed], outputs)
        else:
            product = g.op("MatMul", [inputs[0], transposed])[0]
            g.op("Add", [product, inputs[2]], outputs)


def _linear_grads_arrays(grad, x, weight, needs):
    """Linear's ``backward_plain``: its backward on arrays, for a backward that builds no graph (no
    ``create_graph``; the training step): one product each for grad_x and grad_W and one sum for grad_b, with no
    recorded or transposed Tensors in between. The same formulas as the Tensor path above:

        grad_x = grad W          (..., out) (out, in) -> (..., in)
        grad_W = grad^T x        over all leading dims: (out, rows) (rows, in) -> (out, in)
        grad_b = sum_rows grad   (out,)
    """
    flat_grad = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])  # (rows, out)
    grad_x = grad_w = grad_b = None
    if needs[0]:  # the Tensor path's product, bit for bit: batched over leading dims
        grad_x = matmul_arrays(grad if grad.ndim > 1 else grad.reshape(1, -1), weight)
        grad_x = _make(grad_x if x.ndim > 1 else grad_x.reshape(x.shape))  # (..., in)
    if needs[1]:
        flat_x = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])             # (rows, in)
        grad_w = _make(matmul_arrays(flat_grad.T, flat_x))
    if len(needs) > 2:  # a bias was given
        if needs[2]:
            grad_b = _make(_add_reduce(flat_grad, axis=0))
        return grad_x, grad_w, grad_b
    return grad_x, grad_w


def _same_dtype(a, b):
    """The operands' arrays in PyTorch's result dtype (int64 @ float32 is float32, not NumPy's
    float64; float32 @ float64 is float64, with a warning: PyTorch refuses it, and it is usually
    float64 data from NumPy meeting a float32 model)."""
    dtype = result_type(a, b)
    if a._data.dtype.kind == "f" and b._data.dtype.kind == "f":
        warnings.warn(f"matmul/linear of {a.dtype} and {b.dtype} tensors computes in {dtype} "
                      "(PyTorch raises here; float64 is about twice as slow): make the data float32 "
                      "(x.float(), or ag.tensor(array, dtype=ag.float32)) or the model float64 "
                      "(model.double())", stacklevel=2)
    return a._data.astype(dtype, copy=False), b._data.astype(dtype, copy=False)


def matmul_arrays(a, b):
    """The array product the ops use: ``kernels.matmul`` (BLAS, held to one thread or cut in parts
    across ours once a Numba kernel has run; an outer product at depth 1)."""
    return kernels.matmul(a, b)


from .. import kernels  # noqa: E402
from .broadcasting import unbroadcast, unbroadcast_plain  # noqa: E402
