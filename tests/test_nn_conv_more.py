"""Conv1d, Conv2d with dilation/groups/'same', ConvTranspose2d and LazyConv2d against PyTorch
(float64, weights copied across): outputs, input and parameter gradients, gradcheck and
gradgradcheck, repr and state_dict keys, initialisation bounds."""
import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

RNG = np.random.default_rng(11)


def compare_module(ours, theirs, x, atol=1e-10, **forward_kwargs):
    """Copy theirs' weights into ours, run both on x (float64), compare output and all gradients."""
    ours.double()
    theirs.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x_ours, x_theirs = ag.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours, **forward_kwargs), theirs(x_theirs, **forward_kwargs)
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-10,
                               atol=atol)
    seed = RNG.standard_normal(out_ours.shape)
    (out_ours * ag.Tensor(seed)).sum().backward()
    (out_theirs * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.detach().numpy(), x_theirs.grad.numpy(), rtol=1e-9,
                               atol=atol)
    for (name, p), (name_t, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        np.testing.assert_allclose(p.grad.detach().numpy(), p_t.grad.numpy(), rtol=1e-9, atol=atol,
                                   err_msg=name)
    assert repr(ours).replace("Conv2D", "Conv2d") == repr(theirs)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1, bias=False),
    dict(kernel_size=4, padding="same", dilation=3),
    dict(kernel_size=3, padding="valid", dilation=2, groups=2),
    dict(kernel_size=2, stride=3, padding=2, groups=4),
])
def test_conv1d_matches_torch(kwargs):
    x = RNG.standard_normal((2, 4, 13))
    compare_module(nn.Conv1d(4, 8, **kwargs), torch.nn.Conv1d(4, 8, **kwargs), x)


def test_conv1d_unbatched_input():
    x = RNG.standard_normal((4, 9))
    compare_module(nn.Conv1d(4, 2, 3, padding=1), torch.nn.Conv1d(4, 2, 3, padding=1), x)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, dilation=2),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 3), groups=2),
    dict(kernel_size=(2, 4), padding="same", dilation=(3, 1)),
    dict(kernel_size=3, groups=6, bias=False),   # depthwise
])
def test_conv2d_dilation_groups_same_match_torch(kwargs):
    x = RNG.standard_normal((2, 6, 9, 8))
    compare_module(nn.Conv2d(6, 12, **kwargs), torch.nn.Conv2d(6, 12, **kwargs), x)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kernel_size=(2, 3), stride=(2, 3), padding=(0, 1), output_padding=(1, 2), bias=False),
    dict(kernel_size=3, stride=2, dilation=2, groups=2),
    dict(kernel_size=4, stride=2, padding=1),   # the DCGAN generator's upsampling layer
])
def test_conv_transpose2d_matches_torch(kwargs):
    x = RNG.standard_normal((2, 4, 5, 6))
    compare_module(nn.ConvTranspose2d(4, 6, **kwargs), torch.nn.ConvTranspose2d(4, 6, **kwargs), x)


def test_conv_transpose2d_output_size_argument_and_unbatched():
    ours, theirs = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(
        3, 2, 3, stride=2, padding=1)
    compare_module(ours, theirs, RNG.standard_normal((1, 3, 4, 4)), output_size=(8, 7))
    compare_module(ours, theirs, RNG.standard_normal((3, 4, 4)))
    with pytest.raises(ValueError, match=r"output_size \(9, 9\) is not reachable .* between "
                                         r"\(7, 7\) and \(8, 8\)"):
        ours(ag.zeros(1, 3, 4, 4, dtype=np.float64), output_size=(9, 9))


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    x = ag.tensor(RNG.standard_normal((2, 3, 7, 7)), requires_grad=True)
    weight = ag.tensor(RNG.standard_normal((5, 3, 3, 3)))
    y = F.conv2d(x, weight, stride=2, padding=1)
    seed = ag.tensor(RNG.standard_normal(y.shape))
    (grad_x,) = ag.grad((y * seed).sum(), [x])
    transposed = F.conv_transpose2d(seed, weight, stride=2, padding=1, output_padding=0)
    np.testing.assert_allclose(transposed.detach().numpy(), grad_x.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("fn, shapes", [
    (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     [(1, 2, 2, 2), (2, 1, 3, 3), (1,)]),
    (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(1, 2), groups=2, dilation=(2, 1)),
     [(1, 2, 2, 2), (2, 1, 2, 2), (2,)]),
    (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
     [(1, 4, 5), (2, 2, 2), (2,)]),
    (lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(1, 2), groups=2),
     [(1, 2, 3, 3), (2, 1, 2, 2), (2,)]),
])
def test_gradcheck_and_gradgradcheck(fn, shapes):  # small shapes: every element is probed
    inputs = [ag.tensor(RNG.standard_normal(s), requires_grad=True) for s in shapes]
    assert ag.gradcheck(fn, inputs)
    assert ag.gradgradcheck(fn, inputs)


def test_default_initialisation_bounds_follow_pytorch():
    ag.manual_seed(0)
    layer = nn.ConvTranspose2d(16, 32, 3, groups=2)   # fan_in = weight.shape[1] * 9 = 16 * 9
    bound = 1 / math.sqrt(16 * 9)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert layer.weight.shape == (16, 16, 3, 3)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert np.abs(bias).max() <= bound
    conv = nn.Conv1d(8, 4, 5, groups=4)               # fan_in = 2 * 5
    assert conv.weight.shape == (4, 2, 5)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / math.sqrt(10)


def test_lazy_conv2d_materialises_on_the_first_call():
    lazy = nn.LazyConv2d(6, 3, stride=2, padding=1, groups=3)
    assert repr(lazy) == repr(torch.nn.LazyConv2d(6, 3, stride=2, padding=1, groups=3))
    assert isinstance(lazy.weight, nn.UninitializedParameter)
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        lazy.weight.shape
    weight = lazy.weight
    out = lazy(ag.zeros(2, 9, 8, 8))
    assert out.shape == (2, 6, 4, 4)
    assert type(lazy) is nn.Conv2d and lazy.in_channels == 9
    assert lazy.weight is weight and type(weight) is nn.Parameter and weight.shape == (6, 3, 3, 3)
    assert 0 < np.abs(weight.detach().numpy()).max() <= 1 / math.sqrt(27)
    compare_module(lazy, torch.nn.Conv2d(9, 6, 3, stride=2, padding=1, groups=3),
                   RNG.standard_normal((1, 9, 5, 5)))
    with pytest.raises(ValueError, match="not divisible by groups=3"):
        nn.LazyConv2d(6, 3, groups=3)(ag.zeros(1, 4, 5, 5))


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "out_channels = 6 is not divisible by groups=4"),
    (lambda: nn.Conv1d(3, 6, 3, groups=2), ValueError, "in_channels = 3 is not divisible by groups=2"),
    (lambda: nn.Conv2d(3, 6, 3, padding_mode="reflect"), NotImplementedError, "padding_mode='reflect'"),
    (lambda: nn.Conv1d(3, 6, 3, stride=2, padding="same"), ValueError, "strided convolutions"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2), ValueError,
     "output_padding .* must be smaller than the stride"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, padding="same"), ValueError, "padding must be an int"),
    (lambda: F.conv2d(ag.zeros(1, 4, 5, 5), ag.zeros(2, 3, 3, 3), groups=2), ValueError,
     "4 channels but the weight of shape .* with groups=2 expects 6"),
    (lambda: F.conv2d(ag.zeros(1, 4, 5, 5), ag.zeros(2, 2, 3, 3), ag.zeros(3), groups=2),
     ValueError, r"bias must have shape \(2,\)"),
    (lambda: F.conv_transpose2d(ag.zeros(1, 4, 5, 5), ag.zeros(3, 2, 3, 3)), ValueError,
     "4 channels but the weight"),
    (lambda: F.conv1d(ag.zeros(1, 4, 5, 5), ag.zeros(2, 4, 3)), ValueError, r"\(N, C, L\)"),
])
def test_bad_arguments_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_conv_transpose2d_exports_to_onnx(tmp_path):
    import onnxruntime
    model = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
                          nn.ReLU(), nn.ConvTranspose2d(4, 2, (2, 3), stride=(1, 2), bias=False))
    x = RNG.standard_normal((2, 3, 5, 4)).astype(np.float32)
    ag.onnx.export(model, ag.tensor(x), tmp_path / "up.onnx", input_names=["input"],
                   output_names=["output"])
    session = onnxruntime.InferenceSession(str(tmp_path / "up.onnx"),
                                           providers=["CPUExecutionProvider"])
    theirs, = session.run(None, {"input": x})
    with ag.no_grad():
        ours = model(ag.tensor(x)).numpy()
    assert ours.shape == (2, 2, 11, 17)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
