"""Learning-rate schedules: the same 100-step sequence as torch.optim.lr_scheduler."""
import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import optim
from optim import lr_scheduler


def _pair(optimizer_name="SGD", groups=1, **opt_kwargs):
    ours_params = [ag.Tensor(np.zeros(2), requires_grad=True) for _ in range(groups)]
    theirs_params = [torch.zeros(2, requires_grad=True) for _ in range(groups)]
    lrs = [0.1 * (i + 1) for i in range(groups)]
    ours = getattr(optim, optimizer_name)([{"params": [p], "lr": lr} for p, lr in
                                           zip(ours_params, lrs)], **opt_kwargs)
    theirs = getattr(torch.optim, optimizer_name)([{"params": [p], "lr": lr} for p, lr in
                                                   zip(theirs_params, lrs)], **opt_kwargs)
    return ours, theirs


def _sequences(make, optimizer_name="SGD", metrics=None, momentum_key=None, **opt_kwargs):
    ours_opt, theirs_opt = _pair(optimizer_name, groups=2, **opt_kwargs)
    ours, theirs = make(lr_scheduler, ours_opt), make(torch.optim.lr_scheduler, theirs_opt)
    seq_ours, seq_theirs, mom_ours, mom_theirs = [], [], [], []
    for step in range(100):
        ours_opt.step()
        theirs_opt.step()
        if metrics is None:
            ours.step()
            theirs.step()
        else:
            ours.step(metrics[step])
            theirs.step(metrics[step])
        seq_ours.append([g["lr"] for g in ours_opt.param_groups])
        seq_theirs.append([g["lr"] for g in theirs_opt.param_groups])
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15)
        if momentum_key:
            get = (lambda g: g["betas"][0]) if momentum_key == "betas" else (lambda g: g["momentum"])
            mom_ours.append([get(g) for g in ours_opt.param_groups])
            mom_theirs.append([get(g) for g in theirs_opt.param_groups])
    np.testing.assert_allclose(seq_ours, seq_theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mom_ours, mom_theirs, rtol=1e-12, atol=1e-15)
    return np.array(seq_ours)


def test_step_lr():
    seq = _sequences(lambda m, o: m.StepLR(o, step_size=7, gamma=0.5))
    assert seq[0, 0] == 0.1 and seq[7, 0] == pytest.approx(0.05)


def test_exponential_lr():
    seq = _sequences(lambda m, o: m.ExponentialLR(o, gamma=0.95))
    assert seq[99, 1] == pytest.approx(0.2 * 0.95 ** 100)


@pytest.mark.parametrize("T_max,eta_min", [(10, 0.0), (30, 0.01), (100, 0.0)])
def test_cosine_annealing_lr(T_max, eta_min):
    seq = _sequences(lambda m, o: m.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min))
    closed = eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * 5 / T_max)) / 2
    assert seq[4, 0] == pytest.approx(closed)


@pytest.mark.parametrize("kwargs", [
    dict(mode="triangular"), dict(mode="triangular2", step_size_down=5),
    dict(mode="exp_range", gamma=0.97), dict(mode="triangular", scale_fn=lambda x: 0.5 ** x),
    dict(mode="triangular", scale_fn=lambda x: 1 / (1 + x / 50), scale_mode="iterations")])
def test_cyclic_lr_with_momentum(kwargs):
    make = lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=8, **kwargs)  # noqa
    seq = _sequences(make, momentum_key="momentum", momentum=0.9)
    assert seq.max() > 0.05


def test_cyclic_lr_cycles_adam_beta1():
    _sequences(lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=10), optimizer_name="Adam",
               momentum_key="betas")


def test_cyclic_lr_needs_momentum():
    ours, _ = _pair("Adagrad")
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.CyclicLR(ours, 0.01, 0.1)
    lr_scheduler.CyclicLR(ours, 0.01, 0.1, cycle_momentum=False)


@pytest.mark.parametrize("kwargs", [
    dict(), dict(mode="max", factor=0.5, patience=3), dict(threshold_mode="abs", threshold=0.05,
                                                          cooldown=2, patience=2, min_lr=0.02),
    dict(patience=0, factor=0.9, eps=1e-3)])
def test_reduce_lr_on_plateau(kwargs):
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 30), 0.5 + 0.01 * rng.standard_normal(70)])
    if kwargs.get("mode") == "max":
        metrics = -metrics
    seq = _sequences(lambda m, o: m.ReduceLROnPlateau(o, **kwargs), metrics=list(metrics))
    assert seq[-1, 0] < seq[0, 0]


def test_scheduler_errors():
    ours, _ = _pair()
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(ours, factor=1.5)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(ours, step_size=0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.CyclicLR(ours, 0.01, 0.1, mode="sawtooth")


def test_scheduler_state_dict_round_trip():
    ours, _ = _pair()
    scheduler = lr_scheduler.StepLR(ours, step_size=3, gamma=0.5)
    for _ in range(4):
        scheduler.step()
    state = scheduler.state_dict()
    other_opt, _ = _pair()
    other_opt.param_groups[0]["lr"] = ours.param_groups[0]["lr"]
    other = lr_scheduler.StepLR(other_opt, step_size=10)
    other.load_state_dict(state)
    for _ in range(5):
        scheduler.step()
        other.step()
    assert other.get_last_lr()[0] == scheduler.get_last_lr()[0]
