"""Pooling options (ceil_mode, dilation, count_include_pad, divisor_override, return_indices),
1-D pooling and adaptive pooling against PyTorch (float64): outputs, indices, input gradients,
gradcheck and gradgradcheck, repr; the fast paths agree with the composite."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F
from nn import functional_pool

RNG = np.random.default_rng(12)


def compare(ours, theirs, x, indices=False):
    """Run both on x (float64); compare outputs, indices (if asked) and the input gradient."""
    x_ours, x_theirs = ag.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    if indices:
        (out_ours, index_ours), (out_theirs, index_theirs) = out_ours, out_theirs
        assert index_ours.dtype == np.int64
        np.testing.assert_array_equal(index_ours.numpy(), index_theirs.numpy())
    assert out_ours.shape == tuple(out_theirs.shape)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    seed = RNG.standard_normal(out_ours.shape)
    (out_ours * ag.Tensor(seed)).sum().backward()
    (out_theirs * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x_ours.grad.detach().numpy(), x_theirs.grad.numpy(), rtol=1e-12,
                               atol=1e-12)


MAX_SETTINGS = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=2, dilation=(2, 1)),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=2, ceil_mode=True),  # 9 x 10: the last row of windows is partial
]


@pytest.mark.parametrize("kwargs", MAX_SETTINGS)
def test_max_pool2d_options_match_torch(kwargs):
    x = RNG.standard_normal((2, 3, 9, 10))
    compare(nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), x)
    compare(nn.MaxPool2d(**kwargs, return_indices=True),
            torch.nn.MaxPool2d(**kwargs, return_indices=True), x, indices=True)
    assert repr(nn.MaxPool2d(**kwargs)) == repr(torch.nn.MaxPool2d(**kwargs)).replace("2d", "2D")


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=2, padding=1, divisor_override=5),
    dict(kernel_size=2, stride=3, ceil_mode=True),
    dict(kernel_size=3, padding=1, count_include_pad=False),
])
def test_avg_pool2d_options_match_torch(kwargs):
    x = RNG.standard_normal((2, 3, 9, 10))
    compare(nn.AvgPool2d(**kwargs), torch.nn.AvgPool2d(**kwargs), x)
    compare(nn.AvgPool2d(**kwargs), torch.nn.AvgPool2d(**kwargs), x[0])  # unbatched
    assert repr(nn.AvgPool2d(**kwargs)) == repr(torch.nn.AvgPool2d(**kwargs)).replace("2d", "2D")


def test_pool1d_match_torch():
    x = RNG.standard_normal((2, 3, 11))
    compare(nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True),
            torch.nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True, return_indices=True), x,
            indices=True)
    compare(nn.MaxPool1d(2), torch.nn.MaxPool1d(2), x[0])
    compare(nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
            torch.nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert repr(nn.MaxPool1d(3)) == repr(torch.nn.MaxPool1d(3))
    assert repr(nn.AvgPool1d(2)) == repr(torch.nn.AvgPool1d(2))


@pytest.mark.parametrize("output_size", [(4, 3), 5, (None, 4), (3, 5), (12, 13), 1, (3, 2)])
def test_adaptive_pool2d_matches_torch(output_size):
    x = RNG.standard_normal((2, 3, 9, 10))
    compare(nn.AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size), x)
    compare(nn.AdaptiveMaxPool2d(output_size), torch.nn.AdaptiveMaxPool2d(output_size), x)
    compare(nn.AdaptiveMaxPool2d(output_size, return_indices=True),
            torch.nn.AdaptiveMaxPool2d(output_size, return_indices=True), x, indices=True)
    compare(nn.AdaptiveAvgPool2d(output_size), torch.nn.AdaptiveAvgPool2d(output_size), x[0])
    assert repr(nn.AdaptiveAvgPool2d(output_size)) == repr(torch.nn.AdaptiveAvgPool2d(output_size))
    assert repr(nn.AdaptiveMaxPool2d(output_size)) == repr(torch.nn.AdaptiveMaxPool2d(output_size))


def test_adaptive_pool1d_matches_torch():
    x = RNG.standard_normal((2, 3, 11))
    compare(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), x)
    compare(nn.AdaptiveMaxPool1d(4, return_indices=True),
            torch.nn.AdaptiveMaxPool1d(4, return_indices=True), x, indices=True)
    compare(nn.AdaptiveMaxPool1d(11), torch.nn.AdaptiveMaxPool1d(11), x[0])


def test_adaptive_windows_are_pytorchs():
    # floor(i In / Out), ceil((i + 1) In / Out): overlapping when Out does not divide In
    assert functional_pool.adaptive_windows(10, 4) == [(0, 3), (2, 5), (5, 8), (7, 10)]
    assert functional_pool.adaptive_windows(3, 5) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]


def test_fast_paths_agree_with_the_composite():
    """The kernels (divisible sizes, plain options) and the window composite give the same."""
    x = ag.tensor(RNG.standard_normal((2, 3, 8, 6)))
    # return_indices forces the composite; the values must equal the kernel's
    fast, (slow, _) = F.max_pool2d(x, 2), F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    fast, (slow, _) = (F.adaptive_max_pool2d(x, (4, 3)),
                       F.adaptive_max_pool2d(x, (4, 3), return_indices=True))
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    kernel_mean = F.adaptive_avg_pool2d(x, (4, 3)).numpy()
    window_mean = (F.avg_pool2d(x, 2, divisor_override=4)).numpy()   # composite: divisor given
    np.testing.assert_allclose(kernel_mean, window_mean, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2, 1, 1, dilation=(1, 2), ceil_mode=True),
    lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda x: F.adaptive_max_pool2d(x, (3, 2)),
    lambda x: F.adaptive_avg_pool1d(x[0], 2),
])
def test_gradcheck_and_gradgradcheck(fn):
    x = ag.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert ag.gradcheck(fn, [x])
    assert ag.gradgradcheck(fn, [x])


@pytest.mark.parametrize("call, message", [
    (lambda: nn.MaxPool2d(2, padding=2), "at most half of kernel_size"),
    (lambda: nn.MaxPool2d(2, dilation=0), "dilation must be >= 1"),
    (lambda: F.avg_pool2d(ag.zeros(1, 1, 4, 4), 2, divisor_override=0), "divisor_override"),
    (lambda: F.max_pool2d(ag.zeros(1, 1, 3, 3), 2, dilation=3), r"too small .* dilation \(3, 3\)"),
    (lambda: nn.AdaptiveAvgPool2d(0), "output_size must be"),
    (lambda: F.adaptive_max_pool2d(ag.zeros(1, 4, 4), (2, 2, 2)), "output_size must be an int"),
    (lambda: F.adaptive_avg_pool2d(ag.zeros(4, 4), 2), r"\(N, C, H, W\)"),
    (lambda: F.max_pool1d(ag.zeros(1, 1, 4, 4), 2), r"\(N, C, L\)"),
])
def test_bad_arguments_name_the_argument(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
