"""BatchNorm1d/2d, LayerNorm, GroupNorm and their functional forms against PyTorch (float64, copied
weights): outputs, every gradient, running statistics after several steps, train/eval behaviour,
state_dict keys, repr; gradcheck/gradgradcheck (a BatchNorm model in training mode included), and
Module buffers (register_buffer, persistent or not, moved by .to(), loaded by load_state_dict)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F

RNG = np.random.default_rng(0)


def _copy_parameters(ours, theirs):
    """Random weights (not the ones/zeros defaults) put in both modules."""
    for name, p in theirs.named_parameters():
        values = RNG.standard_normal(tuple(p.shape))
        with torch.no_grad():
            p.copy_(torch.from_numpy(values))
        dict(ours.named_parameters())[name]._data[...] = values


def _compare_steps(ours, theirs, shape, steps=3):
    """``steps`` forward/backward passes in training mode, then one in eval mode: outputs, input
    and parameter gradients, and buffers must equal PyTorch's."""
    for step in range(steps + 1):
        if step == steps:
            ours.eval()
            theirs.eval()
        x = RNG.standard_normal(shape) * 2 + step
        g = RNG.standard_normal(shape)
        x_ours, x_theirs = ag.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(),
                                   rtol=1e-10, atol=1e-10)
        out_ours.backward(ag.Tensor(g))
        out_theirs.backward(torch.from_numpy(g))
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-9,
                                   atol=1e-10)
        for (name, p_ours), (_, p_theirs) in zip(ours.named_parameters(),
                                                 theirs.named_parameters()):
            np.testing.assert_allclose(p_ours.grad.numpy(), p_theirs.grad.numpy(), rtol=1e-9,
                                       atol=1e-10, err_msg=name)
            p_ours.grad, p_theirs.grad = None, None
        buffers_theirs = dict(theirs.named_buffers())
        for name, buffer in ours.named_buffers():
            np.testing.assert_allclose(buffer.numpy(), buffers_theirs[name].numpy(), rtol=1e-12,
                                       err_msg=name)


BATCHNORM_OPTIONS = [
    {},
    {"momentum": None},
    {"momentum": 0.3, "eps": 1e-3},
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
    {"affine": False, "track_running_stats": False},
]


@pytest.mark.parametrize("options", BATCHNORM_OPTIONS, ids=str)
@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                          ("BatchNorm2d", (4, 3, 3, 2))])
def test_batchnorm_matches_pytorch(layer, shape, options):
    ours = getattr(nn, layer)(3, dtype=np.float64, **options)
    theirs = getattr(torch.nn, layer)(3, dtype=torch.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    if ours.weight is not None:
        _copy_parameters(ours, theirs)
    _compare_steps(ours, theirs, shape)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked.item()) == 3


@pytest.mark.parametrize("options", [{}, {"elementwise_affine": False}, {"bias": False},
                                     {"eps": 1e-2}], ids=str)
@pytest.mark.parametrize("normalized_shape", [5, (3, 5)])
def test_layernorm_matches_pytorch(normalized_shape, options):
    ours = nn.LayerNorm(normalized_shape, dtype=np.float64, **options)
    theirs = torch.nn.LayerNorm(normalized_shape, dtype=torch.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    _copy_parameters(ours, theirs)
    _compare_steps(ours, theirs, (2, 4, 3, 5))


@pytest.mark.parametrize("options", [{}, {"affine": False}, {"bias": False}], ids=str)
@pytest.mark.parametrize("groups, shape", [(2, (3, 4, 5)), (1, (2, 4, 2, 3)), (4, (2, 4, 3, 3))])
def test_groupnorm_matches_pytorch(groups, shape, options):
    ours = nn.GroupNorm(groups, 4, dtype=np.float64, **options)
    theirs = torch.nn.GroupNorm(groups, 4, dtype=torch.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    _copy_parameters(ours, theirs)
    _compare_steps(ours, theirs, shape, steps=1)


def test_functional_forms_match_pytorch():
    x = RNG.standard_normal((5, 4, 3))
    w, b = RNG.standard_normal(4), RNG.standard_normal(4)
    mean, var = RNG.standard_normal(4), RNG.random(4) + 0.5
    for training in (True, False):
        rm, rv = ag.Tensor(mean.copy()), ag.Tensor(var.copy())
        trm, trv = torch.tensor(mean), torch.tensor(var)
        ours = F.batch_norm(ag.Tensor(x), rm, rv, ag.Tensor(w), ag.Tensor(b), training, 0.2, 1e-4)
        theirs = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w),
                                                torch.tensor(b), training, 0.2, 1e-4)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
        np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        F.layer_norm(ag.Tensor(x), (4, 3)).numpy(),
        torch.nn.functional.layer_norm(torch.tensor(x), (4, 3)).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        F.group_norm(ag.Tensor(x), 2, ag.Tensor(w), ag.Tensor(b)).numpy(),
        torch.nn.functional.group_norm(torch.tensor(x), 2, torch.tensor(w), torch.tensor(b)).numpy(),
        rtol=1e-10, atol=1e-12)


def _random_affine(layer):
    for p in layer.parameters():
        p._data[...] = RNG.standard_normal(p.shape)
    return layer


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.BatchNorm2d(2, dtype=np.float64), (3, 2, 2, 2)),
    (lambda: nn.BatchNorm1d(2, dtype=np.float64, affine=False), (4, 2)),
    (lambda: nn.LayerNorm((2, 3), dtype=np.float64), (2, 2, 3)),
    (lambda: nn.GroupNorm(2, 4, dtype=np.float64), (2, 4, 2)),
])
def test_gradcheck_and_gradgradcheck_in_training_mode(make, shape):
    layer = _random_affine(make())
    x = ag.Tensor(RNG.standard_normal(shape), requires_grad=True)
    before = {name: b.numpy().copy() for name, b in layer.named_buffers()}
    assert ag.gradcheck(layer, x)
    assert ag.gradgradcheck(layer, x)
    for name, buffer in layer.named_buffers():  # the probes left the running statistics alone
        np.testing.assert_array_equal(buffer.numpy(), before[name], err_msg=name)


def test_gradcheck_of_a_model_with_batchnorm_in_training_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()
    model[1].running_mean._data[...] = 0.25
    x = ag.Tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    assert ag.gradcheck(model, x)
    assert float(model[1].running_mean[0].item()) == 0.25
    assert int(model[1].num_batches_tracked.item()) == 0


def test_eval_mode_uses_running_statistics_and_its_gradient():
    layer = _random_affine(nn.BatchNorm1d(3, dtype=np.float64))
    layer.running_mean._data[...] = [0.5, -1.0, 2.0]
    layer.running_var._data[...] = [0.5, 2.0, 3.0]
    layer.eval()
    x = ag.Tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    assert ag.gradgradcheck(layer, x)
    expected = ((x.detach().numpy() - [0.5, -1.0, 2.0]) / np.sqrt(np.array([0.5, 2.0, 3.0]) + 1e-5)
                * layer.weight.detach().numpy() + layer.bias.detach().numpy())
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-12)


def test_buffers_registry():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    reference = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in reference.named_buffers()]
    assert list(model.state_dict()) == list(reference.state_dict())
    assert all(id(p) not in {id(b) for b in model.buffers()} for p in model.parameters())
    assert len(list(model.parameters())) == 4
    model[1].register_buffer("scratch", ag.Tensor(np.zeros(3, np.float32)), persistent=False)
    assert "1.scratch" not in model.state_dict()
    assert "1.scratch" in dict(model.named_buffers())
    model.double()
    assert model[1].running_var.dtype == np.float64 and model[1].scratch.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64
    reference[1].running_mean.fill_(3.0)
    reference[1].num_batches_tracked.fill_(7)
    model.load_state_dict(reference.state_dict())
    assert model[1].running_mean.numpy().tolist() == [3.0, 3.0, 3.0]
    assert int(model[1].num_batches_tracked.item()) == 7
    model.to(ag.float32)
    assert model[1].running_mean.dtype == np.float32


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(ag.Tensor(np.zeros((2, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(ag.Tensor(np.zeros((1, 3), np.float32)))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(4)(ag.Tensor(np.zeros((2, 3), np.float32)))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_float32_training_step_runs_in_float32():
    layer = nn.BatchNorm2d(4)
    x = ag.Tensor(RNG.standard_normal((3, 4, 2, 2)).astype(np.float32), requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32 and layer.running_var.dtype == np.float32


def test_draw_graph_labels_running_statistics_as_buffers():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).eval()
    x = ag.Tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    source = ag.draw_graph(model(x).sum(), model=model).source
    assert "1.running_mean" in source and "1.running_var" in source
    assert "buffer (module state, no grad)" in source  # the legend names the kind


def test_changing_the_output_in_place_before_backward_is_refused():
    x = ag.Tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    out = nn.LayerNorm(4, elementwise_affine=False, dtype=np.float64)(x)
    with ag.no_grad():
        out.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()
