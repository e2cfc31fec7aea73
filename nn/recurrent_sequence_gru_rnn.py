"""A whole GRU or Elman-RNN layer-direction as one graph node: ``GRUSequence``, ``RNNSequence``
(the LSTM's, and the machinery they share, are in ``recurrent_sequence``).

GRU (Cho et al. 2014), gate order r, z, n (PyTorch's), s in processing order:
    A = X W_ih^T + b_ih                          one GEMM for all steps      (T, B, 3H)
    R_s = h_{s-1} W_hh^T + b_hh                  one GEMM per step           (B, 3H)
    r, z = sigmoid(A_r + R_r), sigmoid(A_z + R_z);  n = tanh(A_n + r R_n)
    h_s = n + z (h_{s-1} - n)
backward, dh = dL/dh_s in full:
    dn = dh (1 - z) (1 - n^2),   dz = dh (h_{s-1} - n) z (1 - z),   dr = dn R_n r (1 - r)
    dA_s = [dr, dz, dn],   dR_s = [dr, dz, dn r],   dh_{s-1} = dh z + dR_s W_hh

RNN: h_s = act(A_s + h_{s-1} W_hh^T) with A = X W_ih^T + b_ih + b_hh, act tanh or relu;
backward: dA_s = dh act'(h_s) (1 - h_s^2 or [h_s > 0]),  dh_{s-1} = dA_s W_hh.

As for the LSTM, double backward differentiates the per-step composite rebuilt from the saved
inputs (``composite_gradients``).
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.kernels.blas import one_blas_thread
from autograd_lite.ops import LinearFn
from autograd_lite.ops.composite import stack
from autograd_lite.ops.linalg import matmul_arrays
from autograd_lite.tensor import Tensor

from .recurrent_functions import _sigmoid_into, gru_step, rnn_step, unbind
from .recurrent_sequence import (_steps, composite_gradients, input_projection,
                                 recurrent_onnx, sequence_weight_gradients)

_make = Tensor._make


def _check_shapes(name, gate_count, x, h0, weight_ih, weight_hh):
    hidden = weight_hh.shape[1]
    batch = x.shape[1]
    if weight_ih.shape != (gate_count * hidden, x.shape[2]) or \
            weight_hh.shape != (gate_count * hidden, hidden) or h0.shape != (batch, hidden):
        raise ValueError(f"{name}: x {x.shape}, h0 {h0.shape}, weight_ih {weight_ih.shape} and "
                         f"weight_hh {weight_hh.shape} do not fit (expected x (T, B, I), h0 (B, H), "
                         f"weight_ih ({gate_count}H, I), weight_hh ({gate_count}H, H))")


def gru_cell_forward(projected, recurrent, h_prev, h, gates):
    """One GRU step's element-wise work, NumPy reference: ``projected`` (B, 3H) = A_s,
    ``recurrent`` (B, 3H) = R_s; writes [r | z | n] into ``gates`` (B, 3H) and h_s into ``h``."""
    hidden = h.shape[-1]
    np.add(projected[:, :2 * hidden], recurrent[:, :2 * hidden], out=gates[:, :2 * hidden])
    _sigmoid_into(gates[:, :2 * hidden], gates[:, :2 * hidden])
    n = gates[:, 2 * hidden:]
    np.multiply(gates[:, :hidden], recurrent[:, 2 * hidden:], out=n)
    n += projected[:, 2 * hidden:]
    np.tanh(n, out=n)
    np.subtract(h_prev, n, out=h)
    h *= gates[:, hidden:2 * hidden]
    h += n


def gru_cell_backward(gates, recurrent_n, h_prev, grad_h, d_input, d_recurrent):
    """One GRU step's element-wise backward, NumPy reference: from [r | z | n], R_n (B, H), h_{s-1}
    and dL/dh_s, writes dA_s into ``d_input`` and dR_s into ``d_recurrent`` (both (B, 3H)) and
    returns dh z, the part of dL/dh_{s-1} that skips the GEMM."""
    hidden = grad_h.shape[-1]
    r, z, n = gates[:, :hidden], gates[:, hidden:2 * hidden], gates[:, 2 * hidden:]
    d_r, d_z, d_n = (d_input[:, k * hidden:(k + 1) * hidden] for k in range(3))
    np.subtract(h_prev, n, out=d_z)
    d_z *= grad_h
    d_z *= z * (1.0 - z)
    np.subtract(1.0, z, out=d_n)
    d_n *= grad_h
    d_n *= 1.0 - n * n
    np.multiply(d_n, recurrent_n, out=d_r)
    d_r *= r * (1.0 - r)
    d_recurrent[:, :2 * hidden] = d_input[:, :2 * hidden]
    np.multiply(d_n, r, out=d_recurrent[:, 2 * hidden:])
    return grad_h * z


class GRUSequence(Function):
    """(output (T, B, H), h_n (B, H)) = GRU(x (T, B, I), h_0 (B, H), W_ih (3H, I), W_hh (3H, H),
    b_ih, b_hh (3H,) or None, reverse): one layer in one direction (formulas in the module
    docstring)."""
    rule = {"en": "backprop through time from the last step:\n"
                  "dn = dh·(1-z)·(1-n²), dz = dh·(h_prev-n)·z(1-z), dr = dn·(h_prev W_hn+b_hn)·r(1-r)\n"
                  "dh_prev = dh·z + [dr, dz, dn·r]·W_hh;  dW, db summed over steps",
            "es": "retropropagación en el tiempo desde el último paso:\n"
                  "dn = dh·(1-z)·(1-n²), dz = dh·(h_prev-n)·z(1-z), dr = dn·(h_prev W_hn+b_hn)·r(1-r)\n"
                  "dh_prev = dh·z + [dr, dz, dn·r]·W_hh;  dW, db sumados sobre los pasos"}

    @staticmethod
    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
        _check_shapes("GRUSequence", 3, x, h0, weight_ih, weight_hh)
        steps, batch, _ = x.shape
        hidden = weight_hh.shape[1]
        projected = input_projection(x, weight_ih, (bias_ih,), reverse)  # (T, B, 3H)
        dtype = projected.dtype
        gates = np.empty_like(projected)
        recurrent_n = np.empty((steps, batch, hidden), dtype)
        h_steps = np.empty((steps, batch, hidden), dtype)
        weight_hh_t, h = weight_hh._data.T, h0._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(steps):
                recurrent = matmul_arrays(h, weight_hh_t)
                if bias_hh is not None:
                    recurrent += bias_hh._data
                recurrent_n[s] = recurrent[:, 2 * hidden:]
                gru_cell_forward(projected[s], recurrent, h, h_steps[s], gates[s])
                h = h_steps[s]
        output = _make(_steps(h_steps, reverse))
        ctx.save_for_backward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, output)
        ctx.gates, ctx.recurrent_n, ctx.reverse = gates, recurrent_n, reverse
        ctx.set_materialize_grads(False)
        return output, _make(h_steps[-1].copy())

    onnx = recurrent_onnx("GRU", (1, 0, 2), state_count=1, linear_before_reset=1)

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph=True: differentiate the per-step composite instead
            return composite_gradients(gru_sequence_composite, saved[:6], needs,
                                       (grad_output, grad_h_n), reverse=ctx.reverse)
        x, h0, weight_ih, weight_hh, bias_ih, bias_hh, output = saved
        gates, recurrent_n, reverse = ctx.gates, ctx.recurrent_n, ctx.reverse
        steps, batch, hidden = recurrent_n.shape
        h_steps = _steps(output._data, reverse)
        grad_steps = None if grad_output is None else _steps(grad_output._data, reverse)
        grad_h = np.zeros((batch, hidden), gates.dtype) if grad_h_n is None else grad_h_n._data.copy()
        d_input, d_recurrent = np.empty_like(gates), np.empty_like(gates)
        w_hh = weight_hh._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(steps - 1, -1, -1):
                if grad_steps is not None:
                    grad_h += grad_steps[s]
                h_prev = h_steps[s - 1] if s > 0 else h0._data
                skip = gru_cell_backward(gates[s], recurrent_n[s], h_prev, grad_h, d_input[s],
                                         d_recurrent[s])
                if s > 0 or needs[1]:
                    grad_h = matmul_arrays(d_recurrent[s], w_hh)
                    grad_h += skip
        grads = sequence_weight_gradients(d_input, d_recurrent, x, h0, h_steps, weight_ih, needs,
                                          reverse, (0, 2, 3, 4, 5))
        grads.insert(1, _make(grad_h) if needs[1] else None)
        return (*grads, None)


class RNNSequence(Function):
    """(output (T, B, H), h_n (B, H)) = RNN(x (T, B, I), h_0 (B, H), W_ih (H, I), W_hh (H, H),
    b_ih, b_hh (H,) or None, reverse, nonlinearity 'tanh' or 'relu'): one Elman layer-direction."""
    rule = {"en": "backprop through time from the last step:\n"
                  "da = dh·(1 - h²) (tanh) or dh·[h > 0] (relu),  dh_prev = da·W_hh;  "
                  "dW, db summed over steps",
            "es": "retropropagación en el tiempo desde el último paso:\n"
                  "da = dh·(1 - h²) (tanh) o dh·[h > 0] (relu),  dh_prev = da·W_hh;  "
                  "dW, db sumados sobre los pasos"}

    @staticmethod
    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False,
                nonlinearity="tanh"):
        _check_shapes("RNNSequence", 1, x, h0, weight_ih, weight_hh)
        h_steps = input_projection(x, weight_ih, (bias_ih, bias_hh), reverse)  # (T, B, H)
        weight_hh_t, h = weight_hh._data.T, h0._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(h_steps.shape[0]):
                h_steps[s] += matmul_arrays(h, weight_hh_t)
                if nonlinearity == "tanh":
                    np.tanh(h_steps[s], out=h_steps[s])
                else:
                    np.maximum(h_steps[s], 0.0, out=h_steps[s])
                h = h_steps[s]
        output = _make(_steps(h_steps, reverse))
        ctx.save_for_backward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, output)
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        ctx.set_materialize_grads(False)
        return output, _make(h_steps[-1].copy())

    @staticmethod
    def onnx(g, node, inputs, outputs):
        activation = {"tanh": "Tanh", "relu": "Relu"}[node.inputs[7]]
        write = recurrent_onnx("RNN", (0,), state_count=1, activations=[activation]).__func__
        write(g, node, inputs, outputs)

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph=True: differentiate the per-step composite instead
            return composite_gradients(rnn_sequence_composite, saved[:6], needs,
                                       (grad_output, grad_h_n), reverse=ctx.reverse,
                                       nonlinearity=ctx.nonlinearity)
        x, h0, weight_ih, weight_hh, bias_ih, bias_hh, output = saved
        h_steps = _steps(output._data, ctx.reverse)
        steps, batch, hidden = h_steps.shape
        grad_steps = None if grad_output is None else _steps(grad_output._data, ctx.reverse)
        grad_h = np.zeros((batch, hidden), h_steps.dtype) if grad_h_n is None else \
            grad_h_n._data.copy()
        d_pre = np.empty_like(h_steps)  # dL/d(pre-activation), (T, B, H)
        w_hh = weight_hh._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(steps - 1, -1, -1):
                if grad_steps is not None:
                    grad_h += grad_steps[s]
                if ctx.nonlinearity == "tanh":
                    np.multiply(h_steps[s], h_steps[s], out=d_pre[s])
                    np.subtract(1.0, d_pre[s], out=d_pre[s])
                    d_pre[s] *= grad_h
                else:
                    np.multiply(grad_h, h_steps[s] > 0, out=d_pre[s])
                if s > 0 or needs[1]:
                    grad_h = matmul_arrays(d_pre[s], w_hh)
        grads = sequence_weight_gradients(d_pre, d_pre, x, h0, h_steps, weight_ih, needs,
                                          ctx.reverse, (0, 2, 3, 4, 5))
        grads.insert(1, _make(grad_h) if needs[1] else None)
        return (*grads, None, None)


def gru_sequence_composite(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                           reverse=False):
    """GRUSequence as a graph of per-step nodes (``gru_step``): (output, h_n)."""
    steps = unbind(LinearFn.apply(x, weight_ih, bias_ih))  # (B, 3H) each
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    outputs, h = [None] * len(steps), h0
    for t in order:
        h = outputs[t] = gru_step(steps[t], h, weight_hh, bias_hh)
    return stack(outputs, 0), h


def rnn_sequence_composite(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                           reverse=False, nonlinearity="tanh"):
    """RNNSequence as a graph of per-step nodes (``rnn_step``): (output, h_n)."""
    x_proj = LinearFn.apply(x, weight_ih, bias_ih)
    if bias_hh is not None:
        x_proj = x_proj + bias_hh
    steps = unbind(x_proj)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    outputs, h = [None] * len(steps), h0
    for t in order:
        h = outputs[t] = rnn_step(steps[t], h, weight_hh, nonlinearity)
    return stack(outputs, 0), h
