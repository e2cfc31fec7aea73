"""The time steps of the recurrent layers: one ``Function`` for an LSTM cell, composites for the
RNN and GRU cells, and ``Unbind``, which splits a sequence into its time steps in one node. The cells
use them; the layers run a whole sequence in one node (``recurrent_sequence``) and use these steps
for an LSTM with ``proj_size`` and to differentiate their gradients (double backward).

Every step takes ``x_proj``, the input's contribution to the gates, already computed for the whole
sequence in one matrix product (x W_ih^T + b_ih for all time steps at once), so a step only adds the
recurrent product h W_hh^T. Gate order and formulas are PyTorch's:

    RNN:  h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)            (or relu)
    LSTM: i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh, 4)
          i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
          c' = f c + i g;  h' = o tanh(c')                           (Hochreiter & Schmidhuber 1997)
    GRU:  r, z = sigmoid(split(x W_i[rz]^T + b_i[rz] + h W_h[rz]^T + b_h[rz], 2))
          n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))
          h' = (1 - z) n + z h = n + z (h - n)                       (Cho et al. 2014)

``LSTMCellStep`` is one node per step (forward and backward side by side) because a composite costs
about fifteen nodes per step. Its backward is written with Tensor ops, so second derivatives work;
a plain backward (no graph being recorded) runs the same formulas on the arrays, with no Tensor per
intermediate.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.ops import Cat, LinearFn, MatMul, Reshape
from autograd_lite.ops.linalg import matmul_arrays
from autograd_lite.tensor import Tensor

_make = Tensor._make


class Unbind(Function):
    """The slices a[0], a[1], ..., a[n-1] along the first dim, as views, in one node.

    Backward stacks the n gradients (unused steps get zeros): indexing a[t] once per step instead
    would scatter each step's gradient into a zero array of the whole sequence's shape (quadratic in
    the sequence length)."""
    rule = {"en": "grads of the slices stacked back (zeros for unused ones)",
            "es": "los grads de los trozos apilados de vuelta (ceros si no se usan)"}

    @staticmethod
    def forward(ctx, a):
        ctx.step_shape = a.shape[1:]
        return tuple(_make(a._data[t]) for t in range(a.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        shape = (1,) + ctx.step_shape
        return Cat.apply(0, *[Reshape.apply(g, shape) for g in grads])

    @staticmethod
    def onnx(g, node, inputs, outputs):
        parts = [g.fresh("split") for _ in outputs]
        g.op("Split", inputs[:1], parts, axis=0)
        axis0 = g.constant(np.array([0], np.int64))
        for part, output in zip(parts, outputs):
            g.op("Squeeze", [part, axis0], [output])


def unbind(a):
    """a (L, ...) -> a tuple of L tensors (...); a one-step sequence gives a 1-tuple."""
    steps = Unbind.apply(a)
    return steps if isinstance(steps, tuple) else (steps,)


def _sigmoid_into(x, out):
    """out = 1 / (1 + exp(-x)), in place (NumPy's exp is about twice as fast as its tanh). For
    x < -88 (float32) exp overflows to inf and the result is the correct 0: the warning is muted."""
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)


def _gate_activations(gates, hidden):
    """sigmoid on the i, f, o columns and tanh on the g columns of gates (B, 4H), in place."""
    _sigmoid_into(gates[:, :2 * hidden], gates[:, :2 * hidden])
    np.tanh(gates[:, 2 * hidden:3 * hidden], out=gates[:, 2 * hidden:3 * hidden])
    _sigmoid_into(gates[:, 3 * hidden:], gates[:, 3 * hidden:])
    return gates


class LSTMCellStep(Function):
    """state' = step(x_proj, h, c, W_hh) for x_proj (B, 4H) = x W_ih^T + b_ih + b_hh, h (B, R)
    (R = H, or proj_size), c (B, H), W_hh (4H, R); state' (B, 6H) = [h' | c' | i | f | g | o].

    One output holds everything (``lstm_step`` slices h' and c' out of it): the activated gates are
    part of it so that backward can use them and still be differentiable, and a single output is
    never an unused output of a multi-output node. Backward, for the gradient [g_h | g_c | g_gates],
    with dc = g_c + g_h o (1 - tanh^2 c'):

        d_i = dc g,  d_f = dc c,  d_g = dc i,  d_o = g_h tanh(c')   (gradients of the activations)
        d_gates = ([d_i, d_f, d_g, d_o] + g_gates) * [i(1-i), f(1-f), 1-g^2, o(1-o)]
        grad x_proj = d_gates,  grad h = d_gates W_hh,  grad c = dc f,  grad W_hh = d_gates^T h
    """
    rule = "c' = f·c + i·g, h' = o·tanh(c')\ndL/dc = dL/dc'·f + dL/dh'·o·(1 - tanh²(c'))·f\ngates through σ' and tanh'"

    @staticmethod
    def forward(ctx, x_proj, h, c, weight_hh):
        hidden = c.shape[-1]
        if x_proj.shape[-1] != 4 * hidden or weight_hh.shape != (4 * hidden, h.shape[-1]):
            raise ValueError(f"LSTM cell: x_proj {x_proj.shape}, h {h.shape}, c {c.shape} and "
                             f"weight_hh {weight_hh.shape} do not fit (expected x_proj (B, 4H), "
                             "c (B, H), weight_hh (4H, h's width))")
        state = np.empty(h.shape[:-1] + (6 * hidden,), np.result_type(x_proj._data, h._data))
        gates = state[:, 2 * hidden:]
        np.add(matmul_arrays(h._data, weight_hh._data.T), x_proj._data, out=gates)
        _gate_activations(gates, hidden)
        i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
        g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
        c_new = state[:, hidden:2 * hidden]
        np.multiply(f, c._data, out=c_new)
        c_new += i * g
        np.multiply(o, np.tanh(c_new), out=state[:, :hidden])
        state = _make(state)
        ctx.save_for_backward(h, c, weight_hh, state)
        return state

    @staticmethod
    def backward(ctx, grad):
        h, c, weight_hh, state = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph=True: the same formulas as a differentiable graph
            d_gates, grad_c = _lstm_gate_gradients(state, c, grad)
        else:
            d_gates, grad_c = _lstm_gate_gradients_arrays(state._data, c._data, grad._data)
            d_gates, grad_c = _make(d_gates), _make(grad_c)
        grad_h = MatMul.apply(d_gates, weight_hh) if needs[1] else None
        grad_w = MatMul.apply(d_gates.mT, h) if needs[3] else None
        return d_gates, grad_h, grad_c if needs[2] else None, grad_w


def _lstm_gate_gradients(state, c, grad):
    """LSTMCellStep's backward as Tensor ops (differentiable): (d_gates, grad c)."""
    hidden = c.shape[-1]
    c_new, gates = state[:, hidden:2 * hidden], state[:, 2 * hidden:]
    i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
    g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
    grad_h_new, grad_c_new, grad_gates = grad[:, :hidden], grad[:, hidden:2 * hidden], grad[:, 2 * hidden:]
    tanh_c = c_new.tanh()
    dc = grad_c_new + grad_h_new * o * (1.0 - tanh_c * tanh_c)
    d_activations = Cat.apply(1, dc * g, dc * c, dc * i, grad_h_new * tanh_c)
    if grad_gates._data.any():  # only under double backward does something use the gates
        d_activations = d_activations + grad_gates
    slopes = Cat.apply(1, gates[:, :2 * hidden] * (1.0 - gates[:, :2 * hidden]), 1.0 - g * g,
                       o * (1.0 - o))
    return d_activations * slopes, dc * f


def _lstm_gate_gradients_arrays(state, c, grad):
    """The same as ``_lstm_gate_gradients`` on NumPy arrays (plain backward: no graph to build)."""
    hidden = c.shape[-1]
    c_new, gates = state[:, hidden:2 * hidden], state[:, 2 * hidden:]
    i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
    g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
    grad_h_new, grad_c_new, grad_gates = grad[:, :hidden], grad[:, hidden:2 * hidden], grad[:, 2 * hidden:]
    tanh_c = np.tanh(c_new)
    dc = grad_c_new + grad_h_new * o * (1.0 - tanh_c * tanh_c)
    d_gates = np.empty_like(gates)
    np.multiply(dc, g, out=d_gates[:, :hidden])
    np.multiply(dc, c, out=d_gates[:, hidden:2 * hidden])
    np.multiply(dc, i, out=d_gates[:, 2 * hidden:3 * hidden])
    np.multiply(grad_h_new, tanh_c, out=d_gates[:, 3 * hidden:])
    if grad_gates.any():
        d_gates += grad_gates
    d_gates[:, :2 * hidden] *= gates[:, :2 * hidden] * (1.0 - gates[:, :2 * hidden])
    d_gates[:, 2 * hidden:3 * hidden] *= 1.0 - g * g
    d_gates[:, 3 * hidden:] *= o * (1.0 - o)
    return d_gates, dc * f


def lstm_step(x_proj, h, c, weight_hh, weight_hr=None):
    """One LSTM step: (h', c'); with a projection weight_hr (P, H), h' = (o tanh(c')) W_hr^T."""
    hidden = c.shape[-1]
    state = LSTMCellStep.apply(x_proj, h, c, weight_hh)
    h_new, c_new = state[:, :hidden], state[:, hidden:2 * hidden]
    if weight_hr is not None:
        h_new = LinearFn.apply(h_new, weight_hr)
    return h_new, c_new


def rnn_step(x_proj, h, weight_hh, nonlinearity):
    """One Elman RNN step: act(x_proj + h W_hh^T), x_proj holding both biases."""
    pre_activation = x_proj + LinearFn.apply(h, weight_hh)
    return pre_activation.tanh() if nonlinearity == "tanh" else pre_activation.relu()


def gru_step(x_proj, h, weight_hh, bias_hh):
    """One GRU step: x_proj (B, 3H) = x W_ih^T + b_ih; the reset gate multiplies h W_hn^T + b_hn."""
    hidden = h.shape[-1]
    recurrent = LinearFn.apply(h, weight_hh, bias_hh)  # (B, 3H)
    reset_update = (x_proj[:, :2 * hidden] + recurrent[:, :2 * hidden]).sigmoid()
    reset, update = reset_update[:, :hidden], reset_update[:, hidden:]
    candidate = (x_proj[:, 2 * hidden:] + reset * recurrent[:, 2 * hidden:]).tanh()
    return candidate + update * (h - candidate)
