"""nn.utils gradient clipping against torch.nn.utils: clip_grad_norm_ for several norm types, shapes
and dtypes (a parameter without a gradient, non-finite norms, error_if_nonfinite), clip_grad_value_,
get_total_norm and clip_grads_with_norm_, and the argument errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
from nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm

RNG = np.random.default_rng(3)
SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
NORM_TYPES = [2.0, 1, 3, 0.5, "inf", float("inf"), -float("inf"), 0, -1]


def parameters(grads, dtype=np.float32, grad_none_at=None):
    """The same parameters on both sides; ``grads`` are arrays, ``grad_none_at`` an index left
    without a gradient."""
    ours, theirs = [], []
    for i, g in enumerate(grads):
        p, pt = nn.Parameter(np.zeros(np.shape(g), dtype)), torch.nn.Parameter(
            torch.zeros(np.shape(g), dtype=torch.float32 if dtype == np.float32 else torch.float64))
        if i != grad_none_at:
            p.grad = ag.Tensor(np.array(g, dtype))
            pt.grad = torch.tensor(np.array(g, dtype))
        ours.append(p)
        theirs.append(pt)
    return ours, theirs


def close_grads(ours, theirs, rtol=1e-6):
    for p, pt in zip(ours, theirs):
        if pt.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.detach().numpy(), pt.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    grads = [RNG.standard_normal(shape) * 3 for shape in SHAPES]
    ours, theirs = parameters(grads, grad_none_at=1)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, ag.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(total.detach().numpy(), total_t.numpy(), rtol=1e-6)
    close_grads(ours, theirs)
    assert ours[1].grad is None


def test_clip_grad_norm_scales_to_max_norm_and_leaves_small_gradients_alone():
    p = nn.Parameter(np.zeros(2, np.float64))
    p.grad = ag.Tensor(np.array([3.0, 4.0]))
    grad_object, grad_array = p.grad, p.grad.detach().numpy()
    total = nn.utils.clip_grad_norm_(p, 1.0)  # a single tensor, reached as nn.utils
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.detach().numpy(), [0.6, 0.8], rtol=1e-6)
    assert p.grad is grad_object  # in place:
    assert p.grad.detach().numpy().__array_interface__["data"] == grad_array.__array_interface__["data"]
    nn.utils.clip_grad_norm_([p], 10.0)
    np.testing.assert_allclose(p.grad.detach().numpy(), [0.6, 0.8], rtol=1e-6)  # coefficient clamped to 1


def test_clip_grad_norm_on_a_model_and_a_generator_of_parameters_like_torch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    for p, pt in zip(ours.parameters(), theirs.parameters()):
        p.data = ag.tensor(pt.detach().numpy().copy())
    data = RNG.standard_normal((16, 4)).astype(np.float32)
    (ours(ag.Tensor(data)) ** 2).mean().backward()
    (theirs(torch.tensor(data)) ** 2).mean().backward()
    total = nn.utils.clip_grad_norm_(ours.parameters(), 0.1, norm_type=2)
    total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.1, norm_type=2)
    np.testing.assert_allclose(total.detach().numpy(), total_t.numpy(), rtol=1e-5)
    close_grads(list(ours.parameters()), list(theirs.parameters()), rtol=1e-5)


def test_clip_grad_norm_of_mixed_dtypes_and_of_no_gradients():
    grads = [np.array([3.0, -4.0]), np.array([1.0])]
    ours, theirs = parameters(grads[:1], np.float32)
    ours64, theirs64 = parameters(grads[1:], np.float64)
    total = clip_grad_norm_(ours + ours64, 1.0)
    total_t = torch.nn.utils.clip_grad_norm_(theirs + theirs64, 1.0)
    assert total.dtype == np.float64 and total_t.dtype == torch.float64
    np.testing.assert_allclose(total.detach().numpy(), total_t.numpy(), rtol=1e-12)
    close_grads(ours + ours64, theirs + theirs64)
    assert ours[0].grad.dtype == np.float32
    empty = clip_grad_norm_([], 1.0)
    assert empty.item() == torch.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    assert empty.dtype == np.float32
    none_ours, none_theirs = parameters([np.ones(3)], grad_none_at=0)
    assert clip_grad_norm_(none_ours, 1.0).item() == 0.0
    assert none_ours[0].grad is None


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, "inf"])
def test_non_finite_norm_scales_anyway_or_raises_with_error_if_nonfinite(bad, norm_type):
    grads = [np.array([bad, 4.0]), np.array([1.0, 2.0, 3.0])]
    ours, theirs = parameters(grads)
    total = clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    np.testing.assert_equal(total.detach().numpy(), total_t.numpy())  # nan or inf, like torch
    np.testing.assert_equal(ours[1].grad.detach().numpy(), theirs[1].grad.numpy())  # NaN or zeros
    ours, theirs = parameters(grads)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match=r"total norm of order (2\.0|1\.0|inf) .* is non-finite"):
        clip_grad_norm_(ours, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    np.testing.assert_equal(ours[1].grad.detach().numpy(), [1.0, 2.0, 3.0])  # nothing was clipped


def test_clip_grad_norm_with_foreach_and_a_negative_max_norm_like_torch():
    for foreach in (None, True, False):
        for max_norm in (-1.0, 0.0):
            ours, theirs = parameters([np.array([3.0, -4.0])])
            clip_grad_norm_(ours, max_norm, foreach=foreach)
            torch.nn.utils.clip_grad_norm_(theirs, max_norm, foreach=foreach)
            close_grads(ours, theirs)


def test_get_total_norm_and_clip_grads_with_norm_like_torch():
    arrays = [RNG.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    for norm_type in (2.0, "inf", 1):
        total = get_total_norm([ag.Tensor(a) for a in arrays], norm_type)
        total_t = torch.nn.utils.get_total_norm([torch.tensor(a) for a in arrays], norm_type)
        np.testing.assert_allclose(total.detach().numpy(), total_t.numpy(), rtol=1e-6)
    ours, theirs = parameters(arrays)
    clip_grads_with_norm_(ours, 0.5, ag.Tensor(np.float32(4.0)))
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.5, torch.tensor(4.0))
    close_grads(ours, theirs)


def test_clip_grad_norm_accepts_create_graph_gradients():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    total = clip_grad_norm_(x, 1.0)
    assert total.item() == pytest.approx(math.hypot(3.0, 12.0), rel=1e-6)
    np.testing.assert_allclose(x.grad.detach().numpy(), np.array([3.0, 12.0]) / math.hypot(3.0, 12.0), rtol=1e-5)


# ----------------------------------------------------------------------------- clip_grad_value_
@pytest.mark.parametrize("clip_value", [0.1, 1, 2.5, -1.0])
def test_clip_grad_value_matches_torch(clip_value):
    grads = [RNG.standard_normal(shape) * 2 for shape in SHAPES]
    grads[0].flat[0] = np.nan
    ours, theirs = parameters(grads, np.float64, grad_none_at=2)
    grad_object = ours[1].grad
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    close_grads(ours, theirs, rtol=0)
    assert ours[1].grad is grad_object and ours[2].grad is None
    single, single_t = parameters([np.array([-5.0, 0.3, 7.0])])
    nn.utils.clip_grad_value_(single[0], clip_value, foreach=False)
    torch.nn.utils.clip_grad_value_(single_t[0], clip_value, foreach=False)
    close_grads(single, single_t, rtol=0)


# ----------------------------------------------------------------------------- errors
def test_clip_functions_reject_bad_arguments_with_clear_messages():
    ours, _ = parameters([np.ones(2)])
    with pytest.raises(ValueError, match="norm_type must be a number or 'inf', got 'fro'"):
        clip_grad_norm_(ours, 1.0, norm_type="fro")
    with pytest.raises(TypeError, match="max_norm must be a number, got 'big'"):
        clip_grad_norm_(ours, "big")
    with pytest.raises(TypeError, match=r"clip_grad_value_: parameters\[1\] is a list"):
        clip_grad_value_([ours[0], [1.0]], 1.0)
    with pytest.raises(TypeError, match="parameters must be a Tensor or an iterable of Tensors, "
                                        "got float"):
        clip_grad_norm_(3.0, 1.0)
