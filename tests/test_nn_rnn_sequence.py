"""The whole-sequence recurrent nodes (``nn.recurrent_sequence``): gradcheck in float64, the fused
backward against the per-step composite and PyTorch, double backward through the composite, one node
per layer-direction, the NumPy gate references."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
from nn.recurrent_sequence import (LSTMSequence, lstm_cell_backward, lstm_cell_forward,
                                   lstm_sequence_composite)
from nn.recurrent_sequence_gru_rnn import (GRUSequence, RNNSequence, gru_cell_backward,
                                           gru_cell_forward, gru_sequence_composite,
                                           rnn_sequence_composite)

STEPS, BATCH, INPUT, HIDDEN = 4, 2, 3, 2


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def lstm_inputs(rng, bias=True, steps=STEPS):
    shapes = [(steps, BATCH, INPUT), (BATCH, HIDDEN), (BATCH, HIDDEN), (4 * HIDDEN, INPUT),
              (4 * HIDDEN, HIDDEN)] + [(4 * HIDDEN,)] * 2
    arrays = [rng.standard_normal(shape) * 0.7 for shape in shapes]
    tensors = [ag.tensor(a, requires_grad=True) for a in arrays]
    return tensors if bias else tensors[:5] + [None, None]


def weighted(outputs, rng):
    """A scalar using every output, with random weights (so no gradient is a plain sum)."""
    return sum((out * ag.tensor(rng.standard_normal(out.shape))).sum() for out in outputs)


@pytest.mark.parametrize("reverse,bias", [(False, True), (True, True), (False, False), (True, False)])
def test_lstm_sequence_gradcheck(reverse, bias):
    rng = np.random.default_rng(0)
    inputs = [t for t in lstm_inputs(rng, bias) if t is not None]
    weights = [rng.standard_normal(shape) for shape in
               ((STEPS, BATCH, HIDDEN), (BATCH, HIDDEN), (BATCH, HIDDEN))]

    def function(x, h0, c0, w_ih, w_hh, *biases):
        output, h_n, c_n = LSTMSequence.apply(x, h0, c0, w_ih, w_hh, *(biases or (None, None)),
                                              reverse)
        return sum((out * ag.tensor(w)).sum() for out, w in zip((output, h_n, c_n), weights))
    assert ag.gradcheck(function, inputs)


@pytest.mark.parametrize("used", [(0,), (1,), (2,), (0, 2)])
def test_lstm_sequence_unused_outputs_gradcheck(used):
    """Outputs without a gradient (h_n or c_n dropped) reach backward as None."""
    rng = np.random.default_rng(1)
    inputs = lstm_inputs(rng)[:5]

    def function(x, h0, c0, w_ih, w_hh):
        outputs = LSTMSequence.apply(x, h0, c0, w_ih, w_hh, None, None, True)
        return sum((outputs[k] * outputs[k]).sum() for k in used)
    assert ag.gradcheck(function, inputs)


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_backward_equals_the_composite(reverse):
    rng = np.random.default_rng(2)
    inputs = lstm_inputs(rng, steps=7)
    fused = LSTMSequence.apply(*inputs, reverse)
    grads_fused = ag.grad(weighted(fused, np.random.default_rng(3)), inputs)
    composite = lstm_sequence_composite(*inputs, reverse=reverse)
    grads_composite = ag.grad(weighted(composite, np.random.default_rng(3)), inputs)
    for a, b in zip(fused, composite):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(grads_fused, grads_composite):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)


def test_one_node_per_layer_direction_matches_torch_in_float32():
    """The benchmark's shape class in float32: outputs and gradients agree with PyTorch."""
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True)
    ours = nn.LSTM(5, 8, num_layers=2, bidirectional=True)
    ours.load_state_dict({k: ag.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((30, 3, 5)).astype(np.float32)
    output, (h, c) = ours(ag.tensor(x))
    assert type(output._ctx).__name__ == "Cat"
    assert {type(inp._ctx).__name__ for inp in output._ctx.inputs[1:]} == {"LSTMSequence"}
    t_output, (t_h, t_c) = theirs(torch.from_numpy(x))
    ((output * output).mean() + c.sum()).backward()
    ((t_output * t_output).mean() + t_c.sum()).backward()
    np.testing.assert_allclose(output.detach().numpy(), t_output.detach().numpy(), atol=2e-6)
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   rtol=1e-4, atol=2e-6)


def test_double_backward_goes_through_the_composite():
    """create_graph=True differentiates the per-step composite rebuilt from the saved inputs: the
    second derivative checks out, for the sequence node and for the composite itself."""
    rng = np.random.default_rng(5)
    inputs = lstm_inputs(rng, steps=2)
    weights = [rng.standard_normal(shape) for shape in
               ((2, BATCH, HIDDEN), (BATCH, HIDDEN), (BATCH, HIDDEN))]

    def score(outputs):
        return sum((out * ag.tensor(w)).sum() for out, w in zip(outputs, weights))

    def fused(*args):
        return score(LSTMSequence.apply(*args, False))

    def composite(*args):
        return score(lstm_sequence_composite(*args, reverse=True))
    assert ag.gradgradcheck(fused, inputs)
    assert ag.gradgradcheck(composite, inputs)
    first = ag.grad(fused(*inputs), inputs, create_graph=True)
    assert all(g.requires_grad for g in first)


def test_modified_output_is_refused_at_backward():
    rng = np.random.default_rng(6)
    output, h_n, c_n = LSTMSequence.apply(*lstm_inputs(rng), False)
    loss = output.sum()
    with ag.no_grad():
        output.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_shape_errors_name_the_arguments():
    rng = np.random.default_rng(7)
    x, h0, c0, w_ih, w_hh, *_ = lstm_inputs(rng)
    with pytest.raises(ValueError, match=r"weight_hh \(8, 3\)"):
        LSTMSequence.apply(x, h0, c0, w_ih, ag.zeros(8, 3), None, None, False)


def test_gate_references_match_the_cell_formulas():
    """The NumPy references of one step against the formulas written out (float64)."""
    rng = np.random.default_rng(8)
    batch, hidden = 3, 4
    pre = rng.standard_normal((batch, 4 * hidden))
    c_prev, grad_h, grad_c = (rng.standard_normal((batch, hidden)) for _ in range(3))
    gates = pre.copy()
    c, tanh_c, h = (np.empty((batch, hidden)) for _ in range(3))
    lstm_cell_forward(gates, c_prev, c, tanh_c, h)
    sigmoid = 1 / (1 + np.exp(-pre))
    i, f, g, o = (sigmoid[:, :hidden], sigmoid[:, hidden:2 * hidden], np.tanh(pre[:, 2 * hidden:3 * hidden]),
                  sigmoid[:, 3 * hidden:])
    np.testing.assert_allclose(gates, np.concatenate([i, f, g, o], 1), rtol=1e-14)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-14)
    np.testing.assert_allclose(h, o * np.tanh(f * c_prev + i * g), rtol=1e-14)
    d_gates, carried = np.empty_like(gates), grad_c.copy()
    lstm_cell_backward(gates, c_prev, tanh_c, grad_h, carried, d_gates)
    dc = grad_c + grad_h * o * (1 - np.tanh(c) ** 2)
    expected = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                               grad_h * np.tanh(c) * o * (1 - o)], 1)
    np.testing.assert_allclose(d_gates, expected, rtol=1e-12)
    np.testing.assert_allclose(carried, dc * f, rtol=1e-12)


def gru_rnn_inputs(rng, gate_count, bias=True, steps=STEPS):
    shapes = [(steps, BATCH, INPUT), (BATCH, HIDDEN), (gate_count * HIDDEN, INPUT),
              (gate_count * HIDDEN, HIDDEN)] + [(gate_count * HIDDEN,)] * 2
    tensors = [ag.tensor(rng.standard_normal(shape) * 0.7, requires_grad=True) for shape in shapes]
    return tensors if bias else tensors[:4] + [None, None]


# (Function, composite, gates, extra options after reverse)
GRU_RNN = {"GRU": (GRUSequence, gru_sequence_composite, 3, ()),
           "RNN_TANH": (RNNSequence, rnn_sequence_composite, 1, ("tanh",)),
           "RNN_RELU": (RNNSequence, rnn_sequence_composite, 1, ("relu",))}


@pytest.mark.parametrize("mode,reverse,bias", [(m, r, b) for m in GRU_RNN for r, b in
                                               ((False, True), (True, False))])
def test_gru_and_rnn_sequence_gradcheck(mode, reverse, bias):
    function_class, _, gate_count, options = GRU_RNN[mode]
    rng = np.random.default_rng(10)
    inputs = [t for t in gru_rnn_inputs(rng, gate_count, bias) if t is not None]
    weights = [rng.standard_normal(shape) for shape in ((STEPS, BATCH, HIDDEN), (BATCH, HIDDEN))]

    def function(x, h0, w_ih, w_hh, *biases):
        outputs = function_class.apply(x, h0, w_ih, w_hh, *(biases or (None, None)), reverse,
                                       *options)
        return sum((out * ag.tensor(w)).sum() for out, w in zip(outputs, weights))
    assert ag.gradcheck(function, inputs)


@pytest.mark.parametrize("mode,reverse", [(m, r) for m in GRU_RNN for r in (False, True)])
def test_gru_and_rnn_fused_backward_equals_the_composite(mode, reverse):
    function_class, composite, gate_count, options = GRU_RNN[mode]
    rng = np.random.default_rng(11)
    inputs = gru_rnn_inputs(rng, gate_count, steps=6)
    fused = function_class.apply(*inputs, reverse, *options)
    grads_fused = ag.grad(weighted(fused, np.random.default_rng(3)), inputs)
    rebuilt = composite(*inputs, reverse, *options)
    grads_composite = ag.grad(weighted(rebuilt, np.random.default_rng(3)), inputs)
    for a, b in zip(fused, rebuilt):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(grads_fused, grads_composite):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("mode", GRU_RNN)
def test_gru_and_rnn_double_backward_goes_through_the_composite(mode):
    function_class, _, gate_count, options = GRU_RNN[mode]
    rng = np.random.default_rng(12)
    inputs = gru_rnn_inputs(rng, gate_count, steps=3)
    weights = [rng.standard_normal(shape) for shape in ((3, BATCH, HIDDEN), (BATCH, HIDDEN))]

    def function(*args):
        outputs = function_class.apply(*args, True, *options)
        return sum((out * ag.tensor(w)).sum() for out, w in zip(outputs, weights))
    assert ag.gradgradcheck(function, inputs)


def test_gru_gate_references_match_the_cell_formulas():
    rng = np.random.default_rng(13)
    batch, hidden = 3, 4
    projected, recurrent = (rng.standard_normal((batch, 3 * hidden)) for _ in range(2))
    h_prev, grad_h = (rng.standard_normal((batch, hidden)) for _ in range(2))
    gates, h = np.empty((batch, 3 * hidden)), np.empty((batch, hidden))
    gru_cell_forward(projected, recurrent, h_prev, h, gates)
    sigmoid = 1 / (1 + np.exp(-(projected[:, :2 * hidden] + recurrent[:, :2 * hidden])))
    r, z = sigmoid[:, :hidden], sigmoid[:, hidden:]
    n = np.tanh(projected[:, 2 * hidden:] + r * recurrent[:, 2 * hidden:])
    np.testing.assert_allclose(gates, np.concatenate([r, z, n], 1), rtol=1e-14)
    np.testing.assert_allclose(h, (1 - z) * n + z * h_prev, rtol=1e-13)
    d_input, d_recurrent = np.empty_like(gates), np.empty_like(gates)
    skip = gru_cell_backward(gates, recurrent[:, 2 * hidden:], h_prev, grad_h, d_input, d_recurrent)
    d_n = grad_h * (1 - z) * (1 - n * n)
    d_z = grad_h * (h_prev - n) * z * (1 - z)
    d_r = d_n * recurrent[:, 2 * hidden:] * r * (1 - r)
    np.testing.assert_allclose(d_input, np.concatenate([d_r, d_z, d_n], 1), rtol=1e-12)
    np.testing.assert_allclose(d_recurrent, np.concatenate([d_r, d_z, d_n * r], 1), rtol=1e-12)
    np.testing.assert_allclose(skip, grad_h * z, rtol=1e-14)


class _Flat(nn.Module):
    """A recurrent layer whose outputs are flattened to a tuple of tensors (what export takes)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, *state):
        output, final = self.layer(x, (state if len(state) == 2 else state[0]) if state else None)
        return (output, *final) if isinstance(final, tuple) else (output, final)


@pytest.mark.parametrize("layer,with_state", [
    (nn.LSTM(3, 5, num_layers=2, bidirectional=True), True),
    (nn.LSTM(3, 5, batch_first=True, bias=False), False),
    (nn.GRU(3, 5, num_layers=2, bidirectional=True), True),
    (nn.RNN(3, 5, nonlinearity="relu", bidirectional=True), False),
    (nn.RNN(3, 5, num_layers=2), True)], ids=repr)
def test_onnx_export_matches_onnx_runtime(tmp_path, layer, with_state):
    import onnxruntime
    model = _Flat(layer)
    rng = np.random.default_rng(14)
    x = rng.standard_normal((6, 4, 3)).astype(np.float32)
    directions = 2 if layer.bidirectional else 1
    state_shape = (layer.num_layers * directions, 4, 5)
    states = [rng.standard_normal(state_shape).astype(np.float32)
              for _ in range((2 if layer.mode == "LSTM" else 1) if with_state else 0)]
    names = ["input"] + [f"state{k}" for k in range(len(states))]
    path = tmp_path / "recurrent.onnx"
    ag.onnx.export(model, tuple(ag.tensor(a) for a in [x] + states), path, input_names=names)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, dict(zip(names, [x] + states)))
    with ag.no_grad():
        ours = model(*[ag.tensor(a) for a in [x] + states])
    assert len(theirs) == len(ours)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-5)


def test_onnx_export_of_a_projected_lstm_names_the_unsupported_step(tmp_path):
    """proj_size runs the per-step composite, whose LSTMCellStep has no ONNX mapping."""
    from autograd_lite.onnx import UnsupportedOperatorError
    with pytest.raises(UnsupportedOperatorError, match="LSTMCellStep has no ONNX mapping"):
        ag.onnx.export(_Flat(nn.LSTM(3, 5, proj_size=2)), ag.randn(6, 4, 3), tmp_path / "p.onnx")
