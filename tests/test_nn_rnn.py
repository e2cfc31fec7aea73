"""RNN, LSTM, GRU and their cells against PyTorch: weights copied from torch give the same outputs and
gradients (float64) for every option combination; gradcheck/gradgradcheck; names, repr, dropout."""
import itertools
import sys

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn

RTOL, ATOL = 1e-9, 1e-11
LAYERS = {"RNN": (nn.RNN, torch.nn.RNN), "LSTM": (nn.LSTM, torch.nn.LSTM),
          "GRU": (nn.GRU, torch.nn.GRU)}
CELLS = {"RNNCell": (nn.RNNCell, torch.nn.RNNCell), "LSTMCell": (nn.LSTMCell, torch.nn.LSTMCell),
         "GRUCell": (nn.GRUCell, torch.nn.GRUCell)}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def twins(ours_class, torch_class, *args, **kwargs):
    """The same layer in both frameworks, float64, our weights copied from PyTorch's."""
    torch.manual_seed(0)
    theirs = torch_class(*args, **kwargs).double()
    ours = ours_class(*args, **kwargs, dtype=ag.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, parameter in ours.named_parameters():
        parameter.data = ag.tensor(theirs.state_dict()[name].numpy().copy())
    return ours, theirs


def leaf_pair(shape, rng):
    array = rng.standard_normal(shape)
    return ag.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


def flat_outputs(result):
    output, state = result
    return [output] + (list(state) if isinstance(state, tuple) else [state])


def compare(ours, theirs, our_inputs, torch_inputs, rng):
    """Forward both, then backward a random weighting of every output: compare all gradients."""
    our_outs, torch_outs = flat_outputs(ours(*our_inputs)), flat_outputs(theirs(*torch_inputs))
    our_loss, torch_loss = 0.0, 0.0
    for mine, reference in zip(our_outs, torch_outs, strict=True):
        close(mine, reference)
        weights = rng.standard_normal(reference.shape)
        our_loss = our_loss + (mine * ag.tensor(weights)).sum()
        torch_loss = torch_loss + (reference * torch.tensor(weights)).sum()
    our_loss.backward()
    torch_loss.backward()
    leaves = [(a, b) for a, b in zip(_leaves(our_inputs), _leaves(torch_inputs))]
    leaves += [(p, theirs.get_parameter(name)) for name, p in ours.named_parameters()]
    for mine, reference in leaves:
        close(mine.grad, reference.grad)


def _leaves(inputs):
    for item in inputs:
        if isinstance(item, tuple):
            yield from item
        elif item is not None:
            yield item


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,initial,bias", itertools.product(
    LAYERS, (1, 2), (False, True), (False, True), (False, True), (True, False)))
def test_layer_matches_torch(mode, num_layers, bidirectional, batch_first, initial, bias):
    rng = np.random.default_rng(1)
    length, batch, input_size, hidden = 4, 3, 5, 6
    ours, theirs = twins(*LAYERS[mode], input_size, hidden, num_layers=num_layers, bias=bias,
                         batch_first=batch_first, bidirectional=bidirectional)
    x, tx = leaf_pair((batch, length, input_size) if batch_first else (length, batch, input_size), rng)
    our_inputs, torch_inputs = [x], [tx]
    if initial:
        state_shape = (num_layers * (2 if bidirectional else 1), batch, hidden)
        h0, th0 = leaf_pair(state_shape, rng)
        if mode == "LSTM":
            c0, tc0 = leaf_pair(state_shape, rng)
            h0, th0 = (h0, c0), (th0, tc0)
        our_inputs.append(h0)
        torch_inputs.append(th0)
    compare(ours, theirs, our_inputs, torch_inputs, rng)


@pytest.mark.parametrize("mode,kwargs", [
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {"proj_size": 3, "num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2}),
    ("GRU", {"num_layers": 2, "dropout": 0.0, "bidirectional": True})])
def test_more_options_match_torch(mode, kwargs):
    rng = np.random.default_rng(2)
    ours, theirs = twins(*LAYERS[mode], 4, 5, **kwargs)
    x, tx = leaf_pair((6, 2, 4), rng)
    compare(ours, theirs, [x], [tx], rng)


@pytest.mark.parametrize("mode", LAYERS)
def test_unbatched_input_matches_torch(mode):
    rng = np.random.default_rng(3)
    ours, theirs = twins(*LAYERS[mode], 4, 5, num_layers=2, bidirectional=True)
    x, tx = leaf_pair((7, 4), rng)
    h0, th0 = leaf_pair((4, 5), rng)
    if mode == "LSTM":
        c0, tc0 = leaf_pair((4, 5), rng)
        h0, th0 = (h0, c0), (th0, tc0)
    output, state = ours(x, h0)
    assert output.shape == (7, 10)
    compare(ours, theirs, [x, h0], [tx, th0], rng)


@pytest.mark.parametrize("name,bias,initial,batched", itertools.product(
    CELLS, (True, False), (False, True), (True, False)))
def test_cell_matches_torch(name, bias, initial, batched):
    rng = np.random.default_rng(4)
    ours, theirs = twins(*CELLS[name], 4, 5, bias=bias)
    x, tx = leaf_pair((3, 4) if batched else (4,), rng)
    our_inputs, torch_inputs = [x], [tx]
    if initial:
        state_shape = (3, 5) if batched else (5,)
        h, th = leaf_pair(state_shape, rng)
        if name == "LSTMCell":
            c, tc = leaf_pair(state_shape, rng)
            h, th = (h, c), (th, tc)
        our_inputs.append(h)
        torch_inputs.append(th)
    our_out, torch_out = ours(*our_inputs), theirs(*torch_inputs)
    if name != "LSTMCell":
        our_out, torch_out = (our_out,), (torch_out,)
    our_loss = sum((a * float(k + 1)).sum() for k, a in enumerate(our_out))
    torch_loss = sum((b * float(k + 1)).sum() for k, b in enumerate(torch_out))
    for a, b in zip(our_out, torch_out):
        close(a, b)
    our_loss.backward()
    torch_loss.backward()
    for a, b in zip(_leaves(our_inputs), _leaves(torch_inputs)):
        close(a.grad, b.grad)
    for parameter_name, parameter in ours.named_parameters():
        close(parameter.grad, theirs.get_parameter(parameter_name).grad)


def test_relu_cell_matches_torch():
    rng = np.random.default_rng(5)
    ours, theirs = twins(nn.RNNCell, torch.nn.RNNCell, 4, 5, nonlinearity="relu")
    x, tx = leaf_pair((3, 4), rng)
    close(ours(x), theirs(tx))


@pytest.mark.parametrize("mode", LAYERS)
def test_gradcheck_and_gradgradcheck(mode):
    ag.manual_seed(0)
    layer = LAYERS[mode][0](2, 2, bidirectional=True, dtype=ag.float64)
    rng = np.random.default_rng(6)
    x = ag.tensor(rng.standard_normal((3, 1, 2)), requires_grad=True)
    h0 = ag.tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    weights = [layer.weight_hh_l0_reverse]
    if mode == "LSTM":
        c0 = ag.tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)

        def function(x, h0, c0, *ws):
            output, (h, c) = layer(x, (h0, c0))
            return output.sum() + (h * h).sum() + (c * c).sum()
        inputs = (x, h0, c0, *weights)
    else:
        def function(x, h0, *ws):
            output, h = layer(x, h0)
            return (output * output).sum() + h.sum()
        inputs = (x, h0, *weights)
    assert ag.gradcheck(function, inputs)
    assert ag.gradgradcheck(function, inputs)


def test_lstm_cell_gradgradcheck_through_all_inputs():
    ag.manual_seed(1)
    cell = nn.LSTMCell(3, 2, dtype=ag.float64)
    rng = np.random.default_rng(7)
    x, h, c = (ag.tensor(rng.standard_normal((2, n)), requires_grad=True) for n in (3, 2, 2))

    def function(x, h, c, weight_ih, weight_hh):
        h_new, c_new = cell(x, (h, c))
        return (h_new * c_new).sum() + (c_new * c_new).sum()
    inputs = (x, h, c, cell.weight_ih, cell.weight_hh)
    assert ag.gradcheck(function, inputs)
    assert ag.gradgradcheck(function, inputs)


def test_state_dict_names_and_repr_match_torch():
    cases = [(nn.LSTM, torch.nn.LSTM, (10, 20), {"num_layers": 2, "batch_first": True}),
             (nn.GRU, torch.nn.GRU, (3, 4), {"bidirectional": True, "bias": False}),
             (nn.RNN, torch.nn.RNN, (3, 4), {"nonlinearity": "relu", "dropout": 0.5,
                                             "num_layers": 3}),
             (nn.LSTM, torch.nn.LSTM, (3, 4), {"proj_size": 2, "bidirectional": True}),
             (nn.LSTMCell, torch.nn.LSTMCell, (3, 4), {}),
             (nn.RNNCell, torch.nn.RNNCell, (3, 4), {"bias": False, "nonlinearity": "relu"}),
             (nn.GRUCell, torch.nn.GRUCell, (3, 4), {})]
    for ours_class, torch_class, args, kwargs in cases:
        ours, theirs = ours_class(*args, **kwargs), torch_class(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert repr(nn.LSTM(10, 20, num_layers=2, batch_first=True)) == \
        "LSTM(10, 20, num_layers=2, batch_first=True)"


def test_initialisation_is_uniform_in_one_over_sqrt_hidden():
    ag.manual_seed(0)
    layer = nn.LSTM(30, 64, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert values.dtype == np.float32 and np.abs(values).max() <= bound
    assert abs(values.mean()) < 0.01 * bound and abs(values.std() - bound / np.sqrt(3)) < 0.01 * bound


def test_dropout_between_layers_in_training_only():
    ag.manual_seed(0)
    layer = nn.GRU(4, 50, num_layers=2, dropout=0.5, dtype=ag.float64)
    x = ag.tensor(np.random.default_rng(8).standard_normal((5, 8, 4)))
    first, _ = layer(x)
    second, _ = layer(x)
    assert not np.allclose(first.detach().numpy(), second.detach().numpy())  # fresh masks
    layer.eval()
    evaluated, _ = layer(x)
    again, _ = layer(x)
    np.testing.assert_array_equal(evaluated.detach().numpy(), again.detach().numpy())
    # eval equals a run of the same weights without dropout (PyTorch, whose dropout is off too)
    theirs = torch.nn.GRU(4, 50, num_layers=2, dropout=0.5).double().eval()
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(getattr(layer, name).detach().numpy()))
    close(evaluated, theirs(torch.tensor(x.numpy()))[0])
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(4, 5, dropout=0.2)


def test_dropout_mask_statistics():
    ag.manual_seed(0)
    layer = nn.RNN(1, 200, num_layers=2, dropout=0.3, bias=False, dtype=ag.float64)
    with ag.no_grad():
        layer.weight_ih_l1.data = ag.tensor(np.eye(200))
        layer.weight_hh_l1.data.mul_(0.0)
        layer.weight_hh_l0.data.mul_(0.0)
    layer.nonlinearity = "relu"
    x = ag.tensor(np.ones((50, 1, 1)))
    output, _ = layer(x)
    first_layer = np.maximum(layer.weight_ih_l0.detach().numpy()[:, 0], 0)  # (200,)
    ratio = output.detach().numpy()[:, 0, :][:, first_layer > 0] / first_layer[first_layer > 0]
    kept = ratio > 0
    np.testing.assert_allclose(ratio[kept], 1 / 0.7, rtol=1e-12)
    assert abs(kept.mean() - 0.7) < 0.03


def test_backprop_through_100_steps_and_more():
    layer = nn.LSTM(3, 4)
    x = ag.tensor(np.random.default_rng(9).standard_normal((400, 2, 3)).astype(np.float32))
    limit = sys.getrecursionlimit()
    output, (h, c) = layer(x)
    (output.sum() + c.sum()).backward()
    assert sys.getrecursionlimit() == limit
    assert np.isfinite(layer.weight_hh_l0.grad.numpy()).all()


def test_errors_name_the_problem():
    layer = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="input_size. Expected 3, got 5"):
        layer(ag.zeros(2, 1, 5))
    with pytest.raises(ValueError, match=r"Expected hidden size \(2, 1, 4\) for c_0, got \(1, 1, 4\)"):
        layer(ag.zeros(2, 1, 3), (ag.zeros(2, 1, 4), ag.zeros(1, 1, 4)))
    with pytest.raises(ValueError, match="2D .unbatched. or 3D"):
        layer(ag.zeros(2, 1, 1, 3))
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="inconsistent input_size: got 2 expected 3"):
        nn.GRUCell(3, 4)(ag.zeros(5, 2))


@pytest.mark.parametrize("mode", LAYERS)
def test_unused_final_states_are_dropped_before_backward(mode):
    layer = LAYERS[mode][0](3, 4, num_layers=2, bidirectional=True)
    output, _ = layer(ag.ones(5, 2, 3), None)  # h_n (and c_n) freed before backward
    output.sum().backward()
    assert all(p.grad is not None for p in layer.parameters())
    assert (ag.tensor([1.0]) == None) is False and (ag.tensor([1.0]) != None) is True  # noqa: E711
