"""Activations against PyTorch (float64): modules and their functional forms, values and input
gradients, gradchecks, extreme and special inputs, the softmax's stability and its legacy dim."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F
from module_checks import compare_module as _compare_module

RNG = np.random.default_rng(1)


ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(0.5), lambda: torch.nn.ELU(0.5)),
    (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh()),
    (lambda: nn.Hardtanh(-2.0, 3.0), lambda: torch.nn.Hardtanh(-2.0, 3.0)),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink()),
]


@pytest.mark.parametrize("make_ours,make_theirs", ACTIVATIONS)
def test_activation_matches_torch(make_ours, make_theirs):
    x = RNG.standard_normal((4, 6)) * 4
    x[0, :3] = [30.0, -40.0, 0.5]   # past softplus' threshold, deep in the saturated tails
    ours, theirs = make_ours(), make_theirs()
    _compare_module(ours, theirs, x)
    assert repr(ours) == repr(theirs)


FUNCTIONAL = [
    (lambda x: F.relu(x), torch.nn.functional.relu),
    (lambda x: F.leaky_relu(x, 0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    (lambda x: F.elu(x), torch.nn.functional.elu),
    (lambda x: F.selu(x), torch.nn.functional.selu),
    (lambda x: F.softplus(x, 0.5), lambda x: torch.nn.functional.softplus(x, 0.5)),
    (lambda x: F.gelu(x), torch.nn.functional.gelu),
    (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    (lambda x: F.silu(x), torch.nn.functional.silu),
    (lambda x: F.sigmoid(x), torch.sigmoid),
    (lambda x: F.tanh(x), torch.tanh),
    (lambda x: F.softmax(x, 0), lambda x: torch.softmax(x, 0)),
    (lambda x: F.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
    (lambda x: F.flatten(x), lambda x: torch.flatten(x, 1)),
    (lambda x: F.relu6(x * 4), lambda x: torch.nn.functional.relu6(x * 4)),
    (lambda x: F.hardtanh(x, -0.5, 0.7), lambda x: torch.nn.functional.hardtanh(x, -0.5, 0.7)),
    (lambda x: F.hardswish(x * 4), lambda x: torch.nn.functional.hardswish(x * 4)),
    (lambda x: F.mish(x), torch.nn.functional.mish),
    (lambda x: F.logsigmoid(x), torch.nn.functional.logsigmoid),
    (lambda x: F.softsign(x), torch.nn.functional.softsign),
    (lambda x: F.tanhshrink(x), torch.nn.functional.tanhshrink),
]


@pytest.mark.parametrize("ours,theirs", FUNCTIONAL)
def test_functional_activation_gradcheck_and_torch(ours, theirs):
    x = RNG.standard_normal((3, 4))
    x_t = torch.tensor(x, requires_grad=True)
    x_o = ag.Tensor(x.copy(), requires_grad=True)
    out_o, out_t = ours(x_o), theirs(x_t)
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    seed = RNG.standard_normal(out_o.shape)
    (out_o * ag.Tensor(seed)).sum().backward()
    (out_t * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x_o.grad.detach().numpy(), x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert ag.gradcheck(ours, [ag.Tensor(x, requires_grad=True)])
    assert ag.gradgradcheck(ours, [ag.Tensor(x, requires_grad=True)])


def test_hardsigmoid_matches_torch():
    """Its gradient against PyTorch's to 1e-7 only: PyTorch's float64 backward multiplies by
    1/6 rounded to float32 (5e-9 from 1/6); ours is 1/6."""
    x = RNG.standard_normal((4, 6)) * 4
    x_o, x_t = ag.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o, out_t = nn.Hardsigmoid()(x_o), torch.nn.Hardsigmoid()(x_t)
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-15)
    out_o.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(x_o.grad.numpy(), x_t.grad.numpy(), rtol=1e-7, atol=1e-12)
    assert set(np.unique(x_o.grad.numpy())) <= {0.0, 1.0 / 6.0}
    assert ag.gradcheck(F.hardsigmoid, [ag.Tensor(x[:, :3] + 0.01, requires_grad=True)])
    assert repr(nn.Hardsigmoid()) == repr(torch.nn.Hardsigmoid())


def test_softmax_stable_for_huge_logits():
    x = ag.Tensor(np.array([[1e4, 0.0, -1e4]]), requires_grad=True)
    out = F.log_softmax(x, 1)
    assert np.isfinite(out.detach().numpy()).all() and abs(out.detach().numpy()[0, 0]) < 1e-12
    out.sum().backward()
    assert np.isfinite(x.grad.detach().numpy()).all()


def test_softmax_without_dim_warns_and_follows_torch_choice():
    x = RNG.standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = F.softmax(ag.Tensor(x))
    with pytest.warns(UserWarning):
        theirs = torch.nn.functional.softmax(torch.tensor(x))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.parametrize("make_ours,make_theirs", ACTIVATIONS)
def test_activations_finite_at_extreme_inputs(make_ours, make_theirs):
    x = np.array([[-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4]], dtype=np.float32)
    x_o = ag.Tensor(x.copy(), requires_grad=True)
    out = make_ours()(x_o)
    out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x_o.grad.detach().numpy()).all()
    x_t = torch.tensor(x, requires_grad=True)
    out_t = make_theirs()(x_t)
    out_t.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x_o.grad.detach().numpy(), x_t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_on_a_large_tensor_matches_torch_with_nan_and_second_derivative(dtype):
    """Large enough (78,000 elements) for the parallel kernels: forward, first and second
    derivatives equal PyTorch's, NaN inputs included (output NaN, gradient passed through)."""
    x_np = RNG.standard_normal((3, 200, 130)).astype(dtype)
    x_np[0, 0, :4] = [np.nan, 0.0, -0.0, np.inf]
    g_np = RNG.standard_normal(x_np.shape).astype(dtype)
    x, tx = ag.Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    g, tg = ag.Tensor(g_np, requires_grad=True), torch.tensor(g_np, requires_grad=True)
    out, t_out = F.relu(x), torch.relu(tx)
    np.testing.assert_array_equal(out.detach().numpy(), t_out.detach().numpy())
    gx, = ag.grad(out, x, g, create_graph=True)
    t_gx, = torch.autograd.grad(t_out, tx, tg, create_graph=True)
    np.testing.assert_array_equal(gx.detach().numpy(), t_gx.detach().numpy())
    (gx * gx).sum().backward()
    (t_gx * t_gx).sum().backward()
    np.testing.assert_allclose(g.grad.detach().numpy(), tg.grad.numpy(), rtol=1e-6)
