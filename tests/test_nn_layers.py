"""Layers against PyTorch (float64, weights copied across): forward output and the gradient of
every input and parameter; gradchecks; default initialisation statistics; nn.init. (Activations:
``test_nn_activations.py``.)"""
import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F
from module_checks import compare_module as _compare_module

RNG = np.random.default_rng(0)


def test_linear_matches_torch():
    _compare_module(nn.Linear(5, 3), torch.nn.Linear(5, 3), RNG.standard_normal((4, 5)))
    _compare_module(nn.Linear(5, 3, bias=False), torch.nn.Linear(5, 3, bias=False),
                    RNG.standard_normal((2, 4, 5)))


@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_training_backward_equals_the_differentiable_one(x_shape, bias):
    """Linear's backward has two paths: NumPy arrays when no graph is built (a training step) and
    Tensor ops under create_graph=True. Both give the same gradients (x, W, b; float32 as in
    training), which are fresh arrays the leaves own."""
    x, w = RNG.standard_normal(x_shape).astype(np.float32), RNG.standard_normal((3, 5)).astype(np.float32)
    b = RNG.standard_normal(3).astype(np.float32)
    seed = RNG.standard_normal(x_shape[:-1] + (3,)).astype(np.float32)
    grads = []
    for create_graph in (False, True):
        leaves = [ag.Tensor(a.copy(), requires_grad=True) for a in ((x, w, b) if bias else (x, w))]
        (F.linear(*leaves) * ag.Tensor(seed)).sum().backward(create_graph=create_graph)
        grads.append([leaf.grad.detach().numpy() for leaf in leaves])
        assert all(leaf.grad.dtype == np.float32 and leaf.grad.shape == leaf.shape for leaf in leaves)
    for fast, differentiable in zip(*grads):
        np.testing.assert_allclose(fast, differentiable, rtol=1e-6, atol=1e-6)
    expected_w = seed.reshape(-1, 3).T @ x.reshape(-1, 5)
    np.testing.assert_allclose(grads[0][1], expected_w, rtol=1e-5, atol=1e-5)
    # the leaf's gradient is its own array: a second backward accumulates into it, not into a view
    leaves = [ag.Tensor(a.copy(), requires_grad=True) for a in (x, w)]
    for _ in range(2):
        (F.linear(*leaves) * ag.Tensor(seed)).sum().backward()
    np.testing.assert_allclose(leaves[1].grad.detach().numpy(), 2 * expected_w, rtol=1e-5, atol=1e-5)


def test_linear_backward_with_float64_data_and_float32_weights():
    """Mixed dtypes take the Tensor path (it promotes, with a warning, and casts each gradient
    back to its input's dtype)."""
    x = ag.Tensor(RNG.standard_normal((4, 5)), requires_grad=True)                 # float64
    w = ag.Tensor(RNG.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    with pytest.warns(UserWarning, match="float32"):
        F.linear(x, w).sum().backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.detach().numpy(), np.ones((4, 3)).T @ x.detach().numpy(),
                               rtol=1e-5)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_matches_torch(stride, padding):
    ours = nn.Conv2D(2, 3, 3, stride=stride, padding=padding)
    theirs = torch.nn.Conv2d(2, 3, 3, stride=stride, padding=padding)
    _compare_module(ours, theirs, RNG.standard_normal((2, 2, 7, 6)))
    assert nn.Conv2d is nn.Conv2D


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), 0)])
def test_pooling_matches_torch(kernel, stride, padding):
    x = RNG.standard_normal((2, 3, 7, 8))
    _compare_module(nn.MaxPool2D(kernel, stride, padding), torch.nn.MaxPool2d(kernel, stride, padding), x)
    _compare_module(nn.AvgPool2D(kernel, stride, padding), torch.nn.AvgPool2d(kernel, stride, padding), x)


def test_flatten_matches_torch():
    x = RNG.standard_normal((2, 3, 4, 5))
    _compare_module(nn.Flatten(), torch.nn.Flatten(), x)
    _compare_module(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)


def test_functional_linear_conv_pool_match_torch():
    x, w, b = RNG.standard_normal((2, 3, 6, 6)), RNG.standard_normal((4, 3, 3, 3)), RNG.standard_normal(4)
    t = torch.tensor
    np.testing.assert_allclose(F.conv2d(ag.Tensor(x), ag.Tensor(w), ag.Tensor(b), 2, 1).detach().numpy(),
                               torch.nn.functional.conv2d(t(x), t(w), t(b), 2, 1).numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.max_pool2d(ag.Tensor(x), 2).detach().numpy(),
                               torch.nn.functional.max_pool2d(t(x), 2).numpy())
    np.testing.assert_allclose(F.avg_pool2d(ag.Tensor(x), 3, 1, 1).detach().numpy(),
                               torch.nn.functional.avg_pool2d(t(x), 3, 1, 1).numpy(), rtol=1e-12)
    xl, wl, bl = RNG.standard_normal((5, 3)), RNG.standard_normal((2, 3)), RNG.standard_normal(2)
    np.testing.assert_allclose(F.linear(xl, ag.Tensor(wl), ag.Tensor(bl)).detach().numpy(),
                               torch.nn.functional.linear(t(xl), t(wl), t(bl)).numpy(), rtol=1e-12)


def test_dropout_inverted_eval_and_seeded():
    x = ag.ones(200, 100)
    layer = nn.Dropout(0.3)
    ag.manual_seed(5)
    a = layer(x)
    ag.manual_seed(5)
    b = layer(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    kept = a.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(a.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert a.dtype == np.float32
    layer.eval()
    assert layer(x) is x or np.array_equal(layer(x).detach().numpy(), x.detach().numpy())
    # gradient flows through the kept elements only, scaled
    layer.train()
    xg = ag.Tensor(np.ones((10, 10)), requires_grad=True)
    layer(xg).sum().backward()
    np.testing.assert_allclose(xg.grad.detach().numpy()[xg.grad.detach().numpy() != 0], 1 / 0.7)
    assert nn.Dropout(1.0)(x).detach().numpy().sum() == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25))


def test_layer_reprs_match_torch():
    assert repr(nn.Linear(3, 4)) == repr(torch.nn.Linear(3, 4))
    assert repr(nn.Linear(3, 4, bias=False)) == repr(torch.nn.Linear(3, 4, bias=False))
    assert repr(nn.Conv2D(1, 32, 3)) == repr(torch.nn.Conv2d(1, 32, 3)).replace("Conv2d", "Conv2D")
    assert repr(nn.Conv2D(1, 8, (3, 5), 2, 1, bias=False)) == \
        repr(torch.nn.Conv2d(1, 8, (3, 5), 2, 1, bias=False)).replace("Conv2d", "Conv2D")
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.MaxPool2D(2)) == repr(torch.nn.MaxPool2d(2)).replace("MaxPool2d", "MaxPool2D")


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(1, 2, 0)
    with pytest.raises(ValueError, match="padding"):
        nn.MaxPool2D(2, padding=2)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="features"):
        nn.Linear(3, 2)(ag.zeros(4, 5))


# ---------------------------------------------------------------------- initialisation
def _uniform_bound_ok(values, bound):
    """Values lie in [-bound, bound], and fill it: mean ~ 0, variance ~ bound^2 / 3."""
    n = values.size
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.abs(values).max() > bound * 0.95
    assert abs(values.mean()) < 4 * bound / math.sqrt(3 * n)
    assert abs(values.var() / (bound ** 2 / 3) - 1) < 6 / math.sqrt(n)


def test_default_init_follows_torch_statistics():
    ag.manual_seed(0)
    layer = nn.Linear(400, 300)
    _uniform_bound_ok(layer.weight.detach().numpy(), 1 / math.sqrt(400))
    _uniform_bound_ok(layer.bias.detach().numpy(), 1 / math.sqrt(400))
    conv = nn.Conv2D(16, 64, 3)
    _uniform_bound_ok(conv.weight.detach().numpy(), 1 / math.sqrt(16 * 9))
    _uniform_bound_ok(conv.bias.detach().numpy(), 1 / math.sqrt(16 * 9))
    # the same bounds PyTorch's own defaults reach
    torch.manual_seed(0)
    theirs = torch.nn.Linear(400, 300).weight.detach().numpy()
    assert abs(theirs.std() / layer.weight.detach().numpy().std() - 1) < 0.02
    assert layer.weight.dtype == np.float32


@pytest.mark.parametrize("fn,expected_std", [
    (nn.init.xavier_uniform_, math.sqrt(2 / (200 + 300))),
    (nn.init.xavier_normal_, math.sqrt(2 / (200 + 300))),
    (nn.init.kaiming_uniform_, math.sqrt(2 / 200)),              # leaky_relu with a=0: relu gain
    (nn.init.kaiming_normal_, math.sqrt(2 / 200)),
    (nn.init.he_uniform_, math.sqrt(2 / 200)),
    (nn.init.he_normal_, math.sqrt(2 / 200)),
    (lambda t: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 300)),
    (lambda t: nn.init.xavier_uniform_(t, gain=nn.init.calculate_gain("tanh")),
     5 / 3 * math.sqrt(2 / 500)),
])
def test_init_schemes_have_their_std(fn, expected_std):
    ag.manual_seed(1)
    weight = nn.Parameter(np.zeros((300, 200)))
    version = weight._version
    assert fn(weight) is weight
    assert weight._version > version
    assert abs(weight.detach().numpy().std() / expected_std - 1) < 0.02
    assert abs(weight.detach().numpy().mean()) < 0.02 * expected_std * 10


def test_init_simple_fills_and_gains():
    t = nn.Parameter(np.ones((50, 40)))
    nn.init.zeros_(t)
    assert not t.detach().numpy().any()
    nn.init.uniform_(t, -2, 3)
    assert t.detach().numpy().min() >= -2 and t.detach().numpy().max() <= 3 and abs(t.detach().numpy().mean() - 0.5) < 0.15
    nn.init.normal_(t, 1.0, 0.5)
    assert abs(t.detach().numpy().mean() - 1) < 0.05 and abs(t.detach().numpy().std() - 0.5) < 0.05
    for name, param in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("selu", None),
                        ("sigmoid", None), ("conv2d", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="fan in"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(5)))
    with pytest.raises(ValueError, match="mode"):
        nn.init.kaiming_uniform_(t, mode="fan_middle")


def test_init_reproducible_under_manual_seed():
    ag.manual_seed(7)
    a = nn.Linear(10, 5).weight.detach().numpy().copy()
    ag.manual_seed(7)
    b = nn.Linear(10, 5).weight.detach().numpy().copy()
    np.testing.assert_array_equal(a, b)


def test_gradcheck_through_modules_and_their_parameters():
    ag.manual_seed(2)
    model = nn.Sequential(nn.Conv2D(1, 2, 2, padding=1), nn.Tanh(), nn.AvgPool2D(2), nn.Flatten(),
                          nn.Linear(8, 3), nn.ELU())
    x = ag.Tensor(RNG.standard_normal((2, 1, 3, 3)), requires_grad=True)
    assert ag.gradcheck(model, [x])
    assert model[0].weight.dtype == np.float32      # gradcheck restores the parameters


def test_conv2d_padding_same_and_valid_match_torch():
    x = RNG.standard_normal((2, 3, 7, 6))
    _compare_module(nn.Conv2d(3, 4, 3, padding="same"), torch.nn.Conv2d(3, 4, 3, padding="same"), x)
    _compare_module(nn.Conv2d(3, 4, (5, 3), padding="same"), torch.nn.Conv2d(3, 4, (5, 3), padding="same"), x)
    _compare_module(nn.Conv2d(3, 4, 3, padding="valid"), torch.nn.Conv2d(3, 4, 3, padding="valid"), x)
    weight = ag.tensor(RNG.standard_normal((4, 3, 3, 3)))
    assert F.conv2d(ag.tensor(x), weight, padding="same").shape == (2, 4, 7, 6)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    # an even kernel pads the extra row/column on the bottom/right, as PyTorch does
    _compare_module(nn.Conv2d(3, 4, (2, 4), padding="same"), torch.nn.Conv2d(3, 4, (2, 4), padding="same"), x)
    with pytest.raises(ValueError, match="padding must be an int, a pair, 'valid' or 'same', got 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")


def test_channels_last_images_get_a_hint():
    conv = nn.Conv2d(1, 4, 3)
    with pytest.raises(ValueError, match=r"looks channels-last \(N, H, W, C\).*permute\(0, 3, 1, 2\)"):
        conv(ag.zeros(2, 28, 28, 1))


def test_numpy_data_takes_the_layer_dtype():
    # a float64 (or integer) NumPy array fed to a float32 layer computes in float32, as numbers do
    linear, conv = nn.Linear(4, 2), nn.Conv2d(1, 2, 3)
    assert linear(RNG.standard_normal((3, 4))).dtype == np.float32
    assert linear(np.arange(8).reshape(2, 4)).dtype == np.float32
    assert F.linear(RNG.standard_normal((3, 4)), linear.weight).dtype == np.float32
    assert conv(RNG.standard_normal((1, 1, 5, 5))).dtype == np.float32
    assert conv(np.zeros((1, 1, 5, 5), np.uint8)).dtype == np.float32  # raw MNIST pixels
    assert linear(ag.tensor([[1, 2, 3, 4]])).dtype == np.float32  # int64 @ float32: float32
    data = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(linear(data).detach().numpy(), linear(ag.tensor(data, dtype=ag.float32)).detach().numpy())
    with pytest.warns(UserWarning, match=r"computes in float64 .*model.double\(\)"):
        assert linear(ag.tensor(data)).dtype == np.float64  # a float64 Tensor: promoted, with a warning


def test_identity_device_argument_and_relu_zero_sign():
    assert isinstance(nn.Identity(54, unused=True), nn.Module)
    x = ag.randn(2, 3)
    assert nn.Identity()(x) is x and repr(nn.Identity()) == "Identity()"
    assert nn.Linear(3, 2, device="cpu").weight.shape == (2, 3)
    assert nn.Conv2d(1, 2, 3, device="cpu").weight.shape == (2, 1, 3, 3)
    with pytest.raises(RuntimeError, match="got device 'cuda'"):
        nn.Linear(3, 2, device="cuda")
    out = nn.ReLU()(ag.tensor([-1.5, 0.0, 2.0]))
    assert out.tolist() == [0.0, 0.0, 2.0] and not np.signbit(out.detach().numpy()).any()
    assert np.isnan(F.relu(ag.tensor([np.nan])).item())  # NaN propagates, as in torch


@pytest.mark.parametrize("make_ours,make_theirs", [
    (lambda: nn.ZeroPad2d(1), lambda: torch.nn.ZeroPad2d(1)),
    (lambda: nn.ZeroPad2d((1, 0, 2, 0)), lambda: torch.nn.ZeroPad2d((1, 0, 2, 0))),
    (lambda: nn.ConstantPad2d((0, 2, 1, 1), -0.5), lambda: torch.nn.ConstantPad2d((0, 2, 1, 1), -0.5)),
])
def test_padding_layers_match_torch(make_ours, make_theirs):
    ours, theirs = make_ours(), make_theirs()
    _compare_module(ours, theirs, RNG.standard_normal((2, 3, 4, 5)))
    assert repr(ours) == repr(theirs)


def test_pad_refuses_what_it_cannot_do():
    x = ag.ones(2, 3)
    with pytest.raises(ValueError, match="even number"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="at most 4"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(NotImplementedError, match="reflect"):
        F.pad(x, (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="leaves nothing"):
        F.pad(x, (-2, -2))
    assert F.pad(x, (0, 0)) is not x and F.pad(x, (0, 0)).tolist() == x.tolist()
