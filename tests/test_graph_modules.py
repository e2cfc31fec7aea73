"""draw_graph and summary() on the layers with state: RNN/LSTM/GRU collapsed into one module node,
BatchNorm's running statistics shown as buffers, parameter counts as PyTorch's modules have them."""
import json
import re

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn

BUFFER_FILL = "#EAF2F8"


class Recurrent(nn.Module):
    """An RNN layer over the sequence, a linear head on the last time step."""

    def __init__(self, kind, **options):
        super().__init__()
        self.rnn = kind(3, 5, num_layers=2, batch_first=True, **options)
        self.head = nn.Linear(5 * (2 if options.get("bidirectional") else 1), 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def nodes(graph, prefix):
    return re.findall(rf"^\t({prefix}\d+) \[(.*)$", graph.source, re.M)


def module_rows(label):
    """The text rows of a collapsed module node's HTML label."""
    return re.findall(r'POINT-SIZE="1[01]">([^<]*)<', label)


def run(kind, **options):
    ag.manual_seed(0)
    model = Recurrent(kind, **options)
    x = ag.Tensor(np.random.default_rng(0).normal(size=(4, 10, 3)).astype(np.float32), name="x")
    loss = model(x).sum()
    loss.backward()
    return model, loss


def torch_twin(kind, **options):
    return getattr(torch.nn, kind.__name__)(3, 5, num_layers=2, batch_first=True, **options)


@pytest.mark.parametrize("kind, options", [(nn.LSTM, {}), (nn.GRU, {"bidirectional": True}),
                                           (nn.RNN, {"nonlinearity": "relu"})])
def test_a_recurrent_layer_collapses_into_one_module_node(kind, options):
    model, loss = run(kind, **options)
    full = ag.draw_graph(loss, model=model, aspect=None)
    full_ops = len(nodes(full, "op"))  # one sequence node per layer and direction, plus the rest
    assert full_ops >= (4 if options.get("bidirectional") else 2) + 2
    graph = ag.draw_graph(loss, model=model, collapse_modules=True)
    modules = nodes(graph, "mod")
    assert len(modules) == 2  # the recurrent layer and the head
    rnn = next(label for _, label in modules if "<B>rnn</B>" in label)
    rows = module_rows(rnn)
    assert rows[0] == kind.__name__
    reference = torch_twin(kind, **options)
    expected = [f"{name} {tuple(p.shape)}".replace(",)", ",)") for name, p in
                reference.named_parameters()]
    assert rows[1:1 + len(expected)] == expected  # PyTorch's names, shapes and order
    count = sum(p.numel() for p in reference.parameters())
    assert rows[1 + len(expected)] == f"{count:,} parameters"
    layers = 4 if options.get("bidirectional") else 2
    states = ["h_0", "c_0"] if kind is nn.LSTM else ["h_0"]
    assert [r for r in rows if r.endswith("constant")] == [
        f"{state} ({layers}, 4, 5) constant" for state in states]  # zero initial states, inside
    # outside the modules: the input, GetItem, its result, Sum and the loss -- nothing else
    tensors, ops = nodes(graph, "t"), nodes(graph, "op")
    assert len(ops) == 2 and len(tensors) == 3 and full_ops > len(ops)
    assert any("x.transpose(0, 1)" in label and "(10, 4, 3)" in label for _, label in tensors)
    assert len(re.findall(r"^\t\w+ -> \w+", graph.source, re.M)) == 6


def test_collapsed_lstm_in_spanish():
    model, loss = run(nn.LSTM)
    graph = ag.draw_graph(loss, model=model, collapse_modules=True, lang="es")
    rows = module_rows(next(label for _, label in nodes(graph, "mod") if "LSTM" in label))
    assert "440 parámetros" in rows and "h_0 (2, 4, 5) constante" in rows


def batchnorm_model(mode):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    getattr(model, mode)()
    x = ag.Tensor(np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32), name="x")
    with ag.retain_grads():
        loss = model(x).sum()
        loss.backward()
    return model, loss


def buffer_nodes(graph):
    return [(key, label) for key, label in re.findall(r"^\t(\w+) \[(.*)$", graph.source, re.M)
            if f'fillcolor="{BUFFER_FILL}"' in label]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_running_statistics_are_buffers(mode):
    model, loss = batchnorm_model(mode)
    full = ag.draw_graph(loss, model=model)
    buffers = buffer_nodes(full)
    assert len(buffers) == 2
    assert any("<B>1.running_mean</B>" in label for _, label in buffers)
    assert any("<B>1.running_var</B>" in label for _, label in buffers)
    shown = {key: np.array(json.loads(re.search(r'Mono">([^<]*)<', label).group(1)))
             for key, label in buffers}
    for key, label in buffers:  # their current values, to 4 decimals
        statistic = model[1].running_mean if "running_mean" in label else model[1].running_var
        np.testing.assert_allclose(shown[key], statistic.detach().numpy(), atol=6e-5)
    updates = re.findall(r"^\t(\w+) -> (\w+) \[label=updates", full.source, re.M)
    if mode == "train":  # updated by the normalisation, not read: a dashed "updates" edge each
        assert {head for _, head in updates} == {key for key, _ in buffers}
        normalize = next(key for key, label in nodes(full, "op") if "<B>Normalize</B>" in label)
        assert {tail for tail, _ in updates} == {normalize}
    else:  # read by the frozen normalisation: ordinary inputs
        assert not updates
    assert "buffer (module state, no grad)" in full.source  # and the legend says what they are
    collapsed = ag.draw_graph(loss, model=model, collapse_modules=True)
    assert not buffer_nodes(collapsed)  # folded into the BatchNorm node
    batchnorm = next(label for _, label in nodes(collapsed, "mod") if "BatchNorm1d" in label)
    assert ["running_mean (4,) buffer", "running_var (4,) buffer",
            "num_batches_tracked () buffer"] == [r for r in module_rows(batchnorm)
                                                 if r.endswith("buffer")]
    assert "8 parameters" in module_rows(batchnorm)
    assert "buffer (module state, no grad)" in collapsed.source
    spanish = ag.draw_graph(loss, model=model, lang="es")
    assert ("label=actualiza" in spanish.source) == (mode == "train")


def test_the_stepper_draws_the_updated_statistics_in_every_frame():
    model, _ = batchnorm_model("train")
    x = ag.Tensor(np.ones((4, 3), np.float32))
    stepper = ag.BackwardStepper(model(x).sum(), model=model)
    frames = stepper.frames(captions=False)
    assert all(len(buffer_nodes(frame)) == 2 for frame in frames)


# --------------------------------------------------------------------------- summary
def summary_rows(text):
    return {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith(" ") and line.split()[0] in ("rnn", "head", "0", "1", "2")}


@pytest.mark.parametrize("kind, options", [(nn.LSTM, {}), (nn.GRU, {"bidirectional": True}),
                                           (nn.RNN, {})])
def test_summary_counts_recurrent_parameters_as_pytorch(kind, options):
    model = Recurrent(kind, **options)
    text = model.summary((10, 3), print_fn=None)
    count = sum(p.numel() for p in torch_twin(kind, **options).parameters())
    head = 2 * (5 * (2 if options.get("bidirectional") else 1) + 1)
    assert summary_rows(text)["rnn"][-1] == f"{count:,}"
    assert f"Total params: {count + head:,}" in text and "Non-trainable params: 0" in text
    layers = 4 if options.get("bidirectional") else 2
    hidden = 10 if options.get("bidirectional") else 5
    assert f"(None, 10, {hidden})" in text and f"({layers}, None, 5)" in text  # h_n's batch is dim 1
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(" rnn ("))
    assert len(lines[row]) <= 70 and len(lines[row + 1]) <= 70  # the count column stays in place


def test_summary_counts_batchnorm_buffers_as_pytorch_has_them():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    reference = torch.nn.BatchNorm2d(8)
    parameters = sum(p.numel() for p in reference.parameters())
    statistics = sum(b.numel() for name, b in reference.named_buffers() if b.is_floating_point())
    assert (parameters, statistics) == (16, 16)
    text = model.summary((3, 12, 12), print_fn=None)
    rows = summary_rows(text)
    assert rows["1"][-1] == str(parameters + statistics)  # Keras' count: moving mean and variance
    assert rows["1"][-5:-1] == ["(None,", "8,", "10,", "10)"]
    conv = 8 * 3 * 3 * 3 + 8
    assert f"Total params: {conv + parameters + statistics:,}" in text
    assert f"Trainable params: {conv + parameters:,}" in text
    assert f"Non-trainable params: {statistics}" in text
