"""A whole LSTM layer-direction as one graph node: ``LSTMSequence``.

The per-step path (``recurrent_functions``: one ``LSTMCellStep`` node per step plus the slices,
projections and stacks around it) costs about 300 small graph nodes per pass of a 2-layer, 50-step
LSTM. This node runs the same math over the whole sequence in one forward and one backward:

forward (s = 0 .. T-1 in processing order; time runs backwards for the reverse direction)
    A = X W_ih^T + b_ih + b_hh                       one GEMM for all steps    (T, B, 4H)
    a_s = A_s + h_{s-1} W_hh^T                       one GEMM per step         (B, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c_s = f c_{s-1} + i g,   h_s = o tanh(c_s)       (Hochreiter & Schmidhuber 1997)
    kept for backward: the activated gates (T, B, 4H), c (T+1, B, H), tanh c (T, B, H)

backward (s = T-1 .. 0), with dh, dc the gradients flowing into step s from step s+1
    dh += dL/doutput_s
    dc += dh o (1 - tanh^2 c_s)
    da_s = [dc g i(1-i),  dc c_{s-1} f(1-f),  dc i (1-g^2),  dh tanh(c_s) o(1-o)]
    dc <- dc f,   dh <- da_s W_hh                    one GEMM per step
    then, once for all steps: dX = dA W_ih, dW_ih = dA^T X, dW_hh = dA^T [h_0, h_1 .. h_{T-1}],
    db_ih = db_hh = sum of dA over steps and batch.

Double backward: the fused backward runs on arrays. When the gradient itself must be
differentiable (``create_graph=True``, so grad mode is on inside backward), backward rebuilds the
sequence from its saved inputs with the per-step composite (``recurrent_functions.lstm_step``)
and differentiates that with ``create_graph=True``: gradgradcheck works as it did before.
"""
from __future__ import annotations

import numpy as np

from autograd_lite.autodiff import grad as autograd_grad
from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.kernels.blas import one_blas_thread
from autograd_lite.ops import Clone, LinearFn
from autograd_lite.ops.composite import stack
from autograd_lite.ops.linalg import matmul_arrays
from autograd_lite.ops.onnx_mapping import output_dtype
from autograd_lite.tensor import Tensor

from .recurrent_functions import _gate_activations, lstm_step, unbind

_make = Tensor._make


def lstm_cell_forward(gates, c_prev, c, tanh_c, h):
    """One step's element-wise work, NumPy reference: ``gates`` (B, 4H) holds the pre-activations
    a and is overwritten with [i | f | g | o]; writes c = f c_prev + i g, tanh(c) and h = o tanh(c)
    into the (B, H) arrays ``c``, ``tanh_c``, ``h``."""
    hidden = c.shape[-1]
    _gate_activations(gates, hidden)
    i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
    g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
    np.multiply(f, c_prev, out=c)
    np.multiply(i, g, out=tanh_c)  # tanh_c as scratch
    c += tanh_c
    np.tanh(c, out=tanh_c)
    np.multiply(o, tanh_c, out=h)


def lstm_cell_backward(gates, c_prev, tanh_c, grad_h, grad_c, d_gates):
    """One step's element-wise backward, NumPy reference. In: the activated ``gates`` (B, 4H),
    c_{s-1}, tanh(c_s), ``grad_h`` = dL/dh_s (all of it), ``grad_c`` = dL/dc_s from the step after.
    Out: ``d_gates`` (B, 4H) = dL/da_s, and ``grad_c`` overwritten with dL/dc_{s-1} (c's own path)."""
    hidden = grad_c.shape[-1]
    i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
    g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
    d_i, d_f = d_gates[:, :hidden], d_gates[:, hidden:2 * hidden]
    d_g, d_o = d_gates[:, 2 * hidden:3 * hidden], d_gates[:, 3 * hidden:]
    np.multiply(grad_h, tanh_c, out=d_o)              # dL/do
    np.multiply(tanh_c, tanh_c, out=d_g)              # scratch: tanh^2 c
    np.subtract(1.0, d_g, out=d_g)
    d_g *= o
    d_g *= grad_h
    grad_c += d_g                                     # dc = dL/dc_s in full
    np.multiply(grad_c, g, out=d_i)
    np.multiply(grad_c, c_prev, out=d_f)
    np.multiply(grad_c, i, out=d_g)
    grad_c *= f                                       # dL/dc_{s-1} through c
    sigmoid_slope = 1.0 - gates                       # then times the activation's slope:
    sigmoid_slope *= gates                            # s (1 - s) for i, f, o; 1 - g^2 for g
    np.multiply(g, g, out=sigmoid_slope[:, 2 * hidden:3 * hidden])
    np.subtract(1.0, sigmoid_slope[:, 2 * hidden:3 * hidden],
                out=sigmoid_slope[:, 2 * hidden:3 * hidden])
    d_gates *= sigmoid_slope


def _steps(array, reverse):
    """A (T, ...) array in processing order (a reversed view for the reverse direction)."""
    return array[::-1] if reverse else array


def recurrent_onnx(op_type, gate_order, state_count, **attributes):
    """The ``onnx`` method of a sequence node: ONNX's ``op_type`` (LSTM, GRU, RNN) for one
    direction. ``gate_order``: ONNX's gate blocks as indices into PyTorch's (LSTM iofc from ifgo:
    (0, 3, 1, 2); GRU zrh from rzn: (1, 0, 2)). Forward's arguments are (x, h0[, c0], W_ih, W_hh,
    b_ih, b_hh, reverse, ...): ``state_count`` initial states. ONNX adds a num_directions axis to
    the weights, the states and Y (T, 1, B, H), which is squeezed away here."""
    def write(g, node, inputs, outputs):
        hidden = node.inputs[state_count + 2].shape[1]
        rows = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in gate_order])
        rows = g.constant(rows.astype(np.int64))
        axis0, axis1 = g.constant(np.array([0], np.int64)), g.constant(np.array([1], np.int64))

        def reordered(name):  # PyTorch's gate blocks in ONNX's order, with the direction axis
            return g.op("Unsqueeze", [g.op("Gather", [name, rows], axis=0)[0], axis0])[0]
        x, states = inputs[0], inputs[1:1 + state_count]
        weight_ih, weight_hh, bias_ih, bias_hh = inputs[1 + state_count:5 + state_count]
        bias = ""  # ONNX's B: [b_ih | b_hh] with the direction axis, zeros for a missing one
        if bias_ih is not None or bias_hh is not None:
            zeros = g.constant(np.zeros(len(gate_order) * hidden, output_dtype(node)))
            halves = [g.op("Gather", [b or zeros, rows], axis=0)[0] for b in (bias_ih, bias_hh)]
            bias = g.op("Unsqueeze", [g.op("Concat", halves, axis=0)[0], axis0])[0]
        initial = [g.op("Unsqueeze", [state, axis0])[0] for state in states]
        reverse = node.inputs[5 + state_count]
        results = [g.fresh(op_type.lower()) for _ in outputs]
        g.op(op_type, [x, reordered(weight_ih), reordered(weight_hh), bias, "", *initial], results,
             direction="reverse" if reverse else "forward", hidden_size=int(hidden), **attributes)
        g.op("Squeeze", [results[0], axis1], outputs[:1])
        for result, output in zip(results[1:], outputs[1:]):
            g.op("Squeeze", [result, axis0], [output])
    return staticmethod(write)


class LSTMSequence(Function):
    """(output (T, B, H), h_n (B, H), c_n (B, H)) = LSTM(x (T, B, I), h_0 (B, H), c_0 (B, H),
    W_ih (4H, I), W_hh (4H, H), b_ih (4H,) or None, b_hh (4H,) or None, reverse): one layer in one
    direction, gate order i, f, g, o (PyTorch's). The formulas are in the module docstring."""
    rule = {"en": "backprop through time, one step after another from the last:\n"
                  "dc = dc' + dh·o·(1 - tanh²c),  d gates through σ' and tanh',\n"
                  "dh_prev = d gates · W_hh,  dc_prev = dc·f;  dW, db summed over steps",
            "es": "retropropagación en el tiempo, paso a paso desde el último:\n"
                  "dc = dc' + dh·o·(1 - tanh²c),  d compuertas por σ' y tanh',\n"
                  "dh_prev = d compuertas · W_hh,  dc_prev = dc·f;  dW, db sumados sobre los pasos"}

    @staticmethod
    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
        steps, batch, _ = x.shape
        hidden = weight_hh.shape[1]
        if weight_ih.shape != (4 * hidden, x.shape[2]) or weight_hh.shape != (4 * hidden, hidden) \
                or h0.shape != (batch, hidden) or c0.shape != (batch, hidden):
            raise ValueError(f"LSTMSequence: x {x.shape}, h0 {h0.shape}, c0 {c0.shape}, weight_ih "
                             f"{weight_ih.shape} and weight_hh {weight_hh.shape} do not fit "
                             "(expected x (T, B, I), h0 and c0 (B, H), weight_ih (4H, I), "
                             "weight_hh (4H, H))")
        weight_hh_t = weight_hh._data.T
        gates = input_projection(x, weight_ih, (bias_ih, bias_hh), reverse)  # (T, B, 4H)
        dtype = gates.dtype
        h_steps = np.empty((steps, batch, hidden), dtype)
        c_steps = np.empty((steps + 1, batch, hidden), dtype)
        tanh_c = np.empty((steps, batch, hidden), dtype)
        c_steps[0] = c0._data
        h = h0._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(steps):
                gates[s] += matmul_arrays(h, weight_hh_t)
                lstm_cell_forward(gates[s], c_steps[s], c_steps[s + 1], tanh_c[s], h_steps[s])
                h = h_steps[s]
        output = _make(_steps(h_steps, reverse))
        h_n, c_n = _make(h_steps[-1].copy()), _make(c_steps[-1].copy())
        ctx.save_for_backward(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, output)
        ctx.gates, ctx.c_steps, ctx.tanh_c, ctx.reverse = gates, c_steps, tanh_c, reverse
        ctx.set_materialize_grads(False)
        return output, h_n, c_n

    onnx = recurrent_onnx("LSTM", (0, 3, 1, 2), state_count=2)

    @staticmethod
    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph=True: differentiate the per-step composite instead
            return composite_gradients(lstm_sequence_composite, saved[:7], needs,
                                       (grad_output, grad_h_n, grad_c_n), reverse=ctx.reverse)
        x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, output = saved
        gates, c_steps, tanh_c, reverse = ctx.gates, ctx.c_steps, ctx.tanh_c, ctx.reverse
        steps, batch, four_hidden = gates.shape
        hidden = four_hidden // 4
        h_steps = _steps(output._data, reverse)
        grad_steps = None if grad_output is None else _steps(grad_output._data, reverse)
        grad_h = np.zeros((batch, hidden), gates.dtype) if grad_h_n is None else grad_h_n._data.copy()
        grad_c = np.zeros((batch, hidden), gates.dtype) if grad_c_n is None else grad_c_n._data.copy()
        d_gates = np.empty_like(gates)  # (T, B, 4H)
        w_hh = weight_hh._data
        with one_blas_thread():  # products of one step: too small for BLAS threads
            for s in range(steps - 1, -1, -1):
                if grad_steps is not None:
                    grad_h += grad_steps[s]
                lstm_cell_backward(gates[s], c_steps[s], tanh_c[s], grad_h, grad_c, d_gates[s])
                if s > 0 or needs[1]:
                    grad_h = matmul_arrays(d_gates[s], w_hh)
        grads = sequence_weight_gradients(d_gates, d_gates, x, h0, h_steps, weight_ih, needs,
                                          reverse, (0, 3, 4, 5, 6))
        grads.insert(1, _make(grad_h) if needs[1] else None)
        grads.insert(2, _make(grad_c) if needs[2] else None)
        return (*grads, None)


def lstm_sequence_composite(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
                            reverse=False, weight_hr=None):
    """The same layer-direction as a graph of per-step nodes (``lstm_step``): what double backward
    differentiates, and the path taken with a projection (``proj_size``): (output, h_n, c_n)."""
    x_proj = LinearFn.apply(x, weight_ih, bias_ih)  # (T, B, 4H): every step at once
    if bias_hh is not None:
        x_proj = x_proj + bias_hh
    steps = unbind(x_proj)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    outputs = [None] * len(steps)
    h, c = h0, c0
    for t in order:
        h, c = lstm_step(steps[t], h, c, weight_hh, weight_hr)
        outputs[t] = h
    return stack(outputs, 0), h, c


def composite_gradients(composite, inputs, needs, grads, **options):
    """A sequence node's gradients as a differentiable graph (for create_graph=True): the sequence
    is rebuilt by ``composite(*inputs, **options)`` from differentiable copies of its inputs (so the
    recomputation stays apart from the rest of the graph) and differentiated with create_graph=True.
    Returns one gradient per forward argument (None for the options that follow the tensors)."""
    tensor_needs = needs[:len(inputs)]
    copies = [Clone.apply(t) if need else t for t, need in zip(inputs, tensor_needs)]
    outputs = composite(*copies, **options)
    used = [(out, g) for out, g in zip(outputs, grads) if g is not None]
    targets = [copy for copy, need in zip(copies, tensor_needs) if need]
    found = iter(autograd_grad([out for out, _ in used], targets, [g for _, g in used],
                               create_graph=True, allow_unused=True))
    return (*[next(found) if need else None for need in tensor_needs],
            *[None] * (len(needs) - len(inputs)))


def input_projection(x, weight_ih, biases, reverse):
    """x (T, B, I) -> x W_ih^T + the given biases, (T, B, G), in processing order, in one GEMM."""
    steps, batch, _ = x.shape
    x_steps = _steps(x._data, reverse).reshape(steps * batch, -1)
    projected = matmul_arrays(x_steps, weight_ih._data.T)  # (T B, G): every step at once
    for bias in biases:
        if bias is not None:
            projected += bias._data
    return projected.reshape(steps, batch, -1)


def sequence_weight_gradients(d_input, d_recurrent, x, h0, h_steps, weight_ih, needs, reverse,
                              positions):
    """The gradients of a sequence node that are sums over steps, each one GEMM (or sum) at the
    end: d_input (T, B, G) = dL/d(x W_ih^T + b_ih), d_recurrent (T, B, G) = dL/d(h W_hh^T + b_hh),
    in processing order, h_steps (T, B, H) the outputs in processing order. ``positions``: where x,
    W_ih, W_hh, b_ih, b_hh sit among forward's arguments (for ``needs``). Returns [grad x, grad
    W_ih, grad W_hh, grad b_ih, grad b_hh] (None where not needed)."""
    steps, batch, gates = d_input.shape
    need_x, need_w_ih, need_w_hh, need_b_ih, need_b_hh = (needs[p] for p in positions)
    flat_input = d_input.reshape(steps * batch, gates)
    flat_recurrent = d_recurrent.reshape(steps * batch, gates)
    grads = [None] * 5
    if need_x:
        grads[0] = _steps(matmul_arrays(flat_input, weight_ih._data).reshape(x.shape), reverse)
    if need_w_ih:
        grads[1] = matmul_arrays(flat_input.T, _steps(x._data, reverse).reshape(steps * batch, -1))
    if need_w_hh:  # dW_hh = sum_s d_recurrent_s^T h_{s-1}, with h_{-1} = h0
        grads[2] = matmul_arrays(d_recurrent[0].T, h0._data)
        if steps > 1:
            grads[2] += matmul_arrays(flat_recurrent[batch:].T,
                                      h_steps[:-1].reshape((steps - 1) * batch, -1))
    if need_b_ih:
        grads[3] = flat_input.sum(axis=0)
    if need_b_hh:
        grads[4] = flat_recurrent.sum(axis=0) if d_recurrent is not d_input or not need_b_ih \
            else grads[3].copy()
    return [None if g is None else _make(np.ascontiguousarray(g)) for g in grads]


def lstm_sequence(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """(output, h_n, c_n) of one LSTM layer-direction, as one graph node."""
    return LSTMSequence.apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, reverse)
