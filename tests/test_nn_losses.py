"""Losses against PyTorch (float64): value and the gradient of input (and target where PyTorch
gives one) for every reduction; cross-entropy variants; stability; shape errors; gradchecks."""
import warnings

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F

RNG = np.random.default_rng(1)
REDUCTIONS = ["mean", "sum", "none"]


def _run(ours_fn, theirs_fn, input, target, target_grad=False, rtol=1e-10, atol=1e-12):
    x_o = ag.Tensor(input.copy(), requires_grad=True)
    x_t = torch.tensor(input, requires_grad=True)
    if target.dtype.kind == "f":
        y_o = ag.Tensor(target.copy(), requires_grad=target_grad)
        y_t = torch.tensor(target, requires_grad=target_grad)
    else:
        y_o, y_t = ag.Tensor(target), torch.tensor(target)
    out_o, out_t = ours_fn(x_o, y_o), theirs_fn(x_t, y_t)
    assert out_o.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), rtol=rtol, atol=atol)
    seed = RNG.standard_normal(out_o.shape)
    (out_o * ag.Tensor(seed)).sum().backward()
    (out_t * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x_o.grad.detach().numpy(), x_t.grad.numpy(), rtol=1e-9, atol=atol)
    if target_grad:
        np.testing.assert_allclose(y_o.grad.detach().numpy(), y_t.grad.numpy(), rtol=1e-9, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ours,theirs", [
    (nn.MSELoss, torch.nn.MSELoss), (nn.L1Loss, torch.nn.L1Loss),
    (nn.HuberLoss, torch.nn.HuberLoss),
    (lambda reduction: nn.HuberLoss(reduction, delta=0.3),
     lambda reduction: torch.nn.HuberLoss(reduction, delta=0.3)),
    (lambda reduction: nn.SmoothL1Loss(reduction, beta=0.5),
     lambda reduction: torch.nn.SmoothL1Loss(reduction=reduction, beta=0.5)),
])
def test_regression_losses(ours, theirs, reduction):
    x, y = RNG.standard_normal((4, 3)) * 2, RNG.standard_normal((4, 3))
    _run(ours(reduction=reduction), theirs(reduction=reduction), x, y, target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction):
    x = RNG.uniform(0.05, 0.95, (5, 2))
    y = RNG.uniform(0, 1, (5, 2))
    weight = RNG.uniform(0.5, 2, (5, 2))
    _run(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), x, y,
         target_grad=True)
    _run(nn.BCELoss(weight=weight, reduction=reduction),
         torch.nn.BCELoss(weight=torch.tensor(weight), reduction=reduction), x, y)


def test_bce_saturated_probabilities_give_torch_finite_loss_and_gradients():
    x = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.3])
    _run(nn.BCELoss(reduction="none"), torch.nn.BCELoss(reduction="none"), x, y)
    _run(nn.BCELoss(), torch.nn.BCELoss(), x, y)
    # the target's gradient uses the same clamped logs as the loss: finite (PyTorch's is +-inf)
    target = ag.Tensor(y, requires_grad=True)
    F.binary_cross_entropy(ag.Tensor(x), target).backward()
    assert np.isfinite(target.grad.detach().numpy()).all()
    assert target.grad.detach().numpy()[2] == 0.0          # x = 0.5: log(1 - x) - log(x) = 0


def test_bce_gradcheck_including_weight_and_second_derivatives():
    x = ag.Tensor(RNG.uniform(0.1, 0.9, (3, 2)), requires_grad=True)
    y = ag.Tensor(RNG.uniform(0, 1, (3, 2)), requires_grad=True)
    w = ag.Tensor(RNG.uniform(0.5, 2, (1, 2)), requires_grad=True)
    assert ag.gradcheck(lambda a, b, c: F.binary_cross_entropy(a, b, c), [x, y, w])
    assert ag.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), [x, y])


def test_bce_checks_range():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ag.Tensor(np.array([1.5])), ag.Tensor(np.array([1.0])))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x = RNG.standard_normal((6, 3)) * 5
    x[0] = [40.0, -40.0, 1e4]
    y = RNG.uniform(0, 1, (6, 3))
    weight = RNG.uniform(0.5, 2, (1, 3))
    pos_weight = RNG.uniform(0.5, 3, 3)
    _run(nn.BCEWithLogitsLoss(reduction=reduction),
         torch.nn.BCEWithLogitsLoss(reduction=reduction), x, y, target_grad=True)
    _run(nn.BCEWithLogitsLoss(weight=weight, reduction=reduction, pos_weight=pos_weight),
         torch.nn.BCEWithLogitsLoss(weight=torch.tensor(weight), reduction=reduction,
                                    pos_weight=torch.tensor(pos_weight)), x, y, target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy_and_nll_with_indices(reduction, use_weight, shape):
    x = RNG.standard_normal(shape) * 3
    classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    y = RNG.integers(0, classes, target_shape)
    if y.ndim:
        y.flat[1] = -100                 # ignored, as by default in PyTorch
    weight = RNG.uniform(0.2, 2.0, classes) if use_weight else None
    kw_o = dict(weight=weight, reduction=reduction)
    kw_t = dict(weight=torch.tensor(weight) if use_weight else None, reduction=reduction)
    _run(nn.CrossEntropyLoss(**kw_o), torch.nn.CrossEntropyLoss(**kw_t), x, y)
    log_probs = np.log(np.exp(x) / np.exp(x).sum(axis=1 if len(shape) > 1 else 0, keepdims=True))
    _run(nn.NLLLoss(**kw_o), torch.nn.NLLLoss(**kw_t), log_probs, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_cross_entropy_label_smoothing_and_ignore_index(reduction, use_weight):
    x = RNG.standard_normal((7, 5))
    y = RNG.integers(0, 5, 7)
    y[2] = 3
    weight = RNG.uniform(0.2, 2.0, 5) if use_weight else None
    for ignore_index in (-100, 3):
        _run(nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index, reduction=reduction,
                                 label_smoothing=0.2),
             torch.nn.CrossEntropyLoss(weight=torch.tensor(weight) if use_weight else None,
                                       ignore_index=ignore_index, reduction=reduction,
                                       label_smoothing=0.2), x, y)
        _run(nn.CrossEntropyLoss(ignore_index=ignore_index, reduction=reduction),
             torch.nn.CrossEntropyLoss(ignore_index=ignore_index, reduction=reduction), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_class_probabilities(reduction, smoothing):
    x = RNG.standard_normal((5, 4)) * 2
    soft = RNG.uniform(0, 1, (5, 4))
    soft /= soft.sum(1, keepdims=True)
    onehot = F.one_hot(ag.Tensor(RNG.integers(0, 4, 5)), 4).detach().numpy().astype(np.float64)
    weight = RNG.uniform(0.5, 2, 4)
    for target in (soft, onehot):
        _run(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing),
             torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing), x, target,
             target_grad=True)
        _run(nn.CrossEntropyLoss(weight=weight, reduction=reduction, label_smoothing=smoothing),
             torch.nn.CrossEntropyLoss(weight=torch.tensor(weight), reduction=reduction,
                                       label_smoothing=smoothing), x, target, target_grad=True)


def test_one_hot_indices_and_probabilities_agree():
    x = RNG.standard_normal((6, 3))
    y = RNG.integers(0, 3, 6)
    by_index = F.cross_entropy(ag.Tensor(x), y)
    by_probability = F.cross_entropy(ag.Tensor(x), F.one_hot(ag.Tensor(y), 3).to(np.float64))
    np.testing.assert_allclose(by_index.detach().numpy(), by_probability.detach().numpy(), rtol=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]])
    y = np.array([1, 0])
    for dtype in (np.float32, np.float64):
        x_o = ag.Tensor(x.astype(dtype), requires_grad=True)
        loss = F.cross_entropy(x_o, y)
        loss.backward()
        theirs = torch.nn.functional.cross_entropy(torch.tensor(x.astype(dtype)), torch.tensor(y))
        assert np.isfinite(loss.detach().numpy()) and np.isfinite(x_o.grad.detach().numpy()).all()
        np.testing.assert_allclose(loss.detach().numpy(), theirs.numpy(), rtol=1e-6)
        probs = F.one_hot(ag.Tensor(y), 3).to(dtype)
        loss_p = F.cross_entropy(ag.Tensor(x.astype(dtype), requires_grad=True), probs)
        np.testing.assert_allclose(loss_p.detach().numpy(), theirs.numpy(), rtol=1e-6)
    loss = F.binary_cross_entropy_with_logits(ag.Tensor(np.array([1e4, -1e4])),
                                              ag.Tensor(np.array([0.0, 1.0])))
    assert loss.item() == pytest.approx(1e4)


def test_fused_cross_entropy_gradcheck_and_second_derivatives():
    x = ag.Tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    y = np.array([0, 2, 1, 2])
    weight = np.array([0.5, 1.0, 2.0])
    for reduction in REDUCTIONS:
        fn = lambda x: F.cross_entropy(x, y, weight=weight, reduction=reduction)  # noqa: E731
        assert ag.gradcheck(fn, [x])
        assert ag.gradgradcheck(fn, [x])
    # Hessian-vector product against PyTorch
    x_t = torch.tensor(x.detach().numpy(), requires_grad=True)
    v = RNG.standard_normal((4, 3))
    g_t, = torch.autograd.grad(torch.nn.functional.cross_entropy(x_t, torch.tensor(y)), x_t,
                               create_graph=True)
    hvp_t, = torch.autograd.grad((g_t * torch.tensor(v)).sum(), x_t)
    g, = ag.grad(F.cross_entropy(x, y), x, create_graph=True)
    hvp, = ag.grad((g * ag.Tensor(v)).sum(), x)
    np.testing.assert_allclose(hvp.detach().numpy(), hvp_t.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy,
                                F.binary_cross_entropy_with_logits])
def test_broadcasting_target_shape_raises(fn):
    x = ag.Tensor(RNG.uniform(0.1, 0.9, (8, 1)))
    with pytest.raises(ValueError, match=r"target shape \(8,\) differs from input shape \(8, 1\)"):
        fn(x, ag.Tensor(RNG.uniform(0, 1, 8)))


def test_cross_entropy_target_errors():
    x = ag.Tensor(RNG.standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"target of shape \(4,\), got \(4, 1\)"):
        F.cross_entropy(x, np.zeros((4, 1), np.int64))
    with pytest.raises(TypeError, match=r"integers, got dtype float64: convert the labels with "
                       r"target.long\(\)"):
        F.cross_entropy(x, np.zeros(4))
    with pytest.raises(TypeError, match=r"got dtype int64 \(the arguments are \(input, target\)"):
        F.cross_entropy(ag.tensor([0, 1, 2, 0]), x)  # swapped arguments
    with pytest.raises(TypeError, match="mse_loss: target is None"):
        nn.MSELoss()(x, None)
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, np.array([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds for 3 classes"):
        F.cross_entropy(x, np.array([0, -1, 2, 0]))  # (not a wrapped index into the last class)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), weight=np.ones(4))


def test_losses_gradcheck():
    x = ag.Tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    y = ag.Tensor(RNG.uniform(0, 1, (3, 2)), requires_grad=True)
    for fn in (F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits,
               lambda a, b: F.cross_entropy(a, b)):
        assert ag.gradcheck(fn, [x, y])
    p = ag.Tensor(RNG.uniform(0.1, 0.9, (3, 2)), requires_grad=True)
    assert ag.gradcheck(F.binary_cross_entropy, [p, y])
    assert ag.gradcheck(lambda a: F.nll_loss(a, np.array([1, 0, 1])), [x])


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 6), scale=st.sampled_from([1.0, 30.0, 1e4]),
       reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2 ** 16))
def test_cross_entropy_random_shapes_and_scales(n, c, scale, reduction, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * scale
    y = rng.integers(0, c, n)
    _run(nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(reduction=reduction),
         x, y, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_pytorch(reduction, log_target):
    """nn.KLDivLoss and F.kl_div: value and the gradients of input and target; then a target
    with a zero probability (its term is 0): value and the input's gradient. (There the target's
    own derivative, log 0, is -inf: PyTorch gives NaN, ours -x; a target rarely needs one.)"""
    logits, other = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    input = logits - np.log(np.exp(logits).sum(1, keepdims=True))  # log-probabilities
    target = np.exp(other) / np.exp(other).sum(1, keepdims=True)
    if log_target:
        target = np.log(target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (reduction='mean' warns, in both frameworks)
        _run(lambda x, y: nn.KLDivLoss(reduction, log_target)(x, y),
             lambda x, y: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, y),
             input, target, target_grad=True)
        if not log_target:
            target[0, 2] = 0.0
        _run(lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=log_target),
             lambda x, y: torch.nn.functional.kl_div(x, y, reduction=reduction,
                                                     log_target=log_target), input, target)


def test_kl_div_mean_warns_and_checks_its_arguments():
    x, y = ag.Tensor(np.log(np.full((2, 3), 1 / 3))), ag.Tensor(np.full((2, 3), 1 / 3))
    with pytest.warns(UserWarning, match="batchmean"):
        assert F.kl_div(x, y).item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="average")
    with pytest.raises(ValueError, match="target shape"):
        F.kl_div(x, ag.Tensor(np.full((3,), 1 / 3)), reduction="sum")
    assert ag.gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                        [ag.Tensor(RNG.standard_normal((2, 3)), requires_grad=True),
                         ag.Tensor(RNG.uniform(0.1, 1.0, (2, 3)), requires_grad=True)])
