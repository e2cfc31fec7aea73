"""The schedulers of ``optim.lr_scheduler_more`` against ``torch.optim.lr_scheduler``: the same
learning-rate sequence over 200 steps (and the momentum / beta1 for OneCycleLR), and a state_dict
round trip in the middle of the run that continues the sequence unchanged."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import optim
from optim import lr_scheduler as ours_sched

STEPS = 200


def _optimizers(kind="sgd", lrs=(0.1, 0.05)):
    """The same two-group optimizer in both frameworks."""
    ours_params = [ag.Tensor(np.zeros(2), requires_grad=True) for _ in lrs]
    theirs_params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    if kind == "sgd":
        ours = optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ours_params, lrs)], lr=lrs[0],
                         momentum=0.9)
        theirs = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(theirs_params, lrs)],
                                 lr=lrs[0], momentum=0.9)
    else:
        ours = optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(ours_params, lrs)])
        theirs = torch.optim.Adam([{"params": [p], "lr": lr} for p, lr in zip(theirs_params, lrs)])
    return ours, theirs


def _halve(epoch):
    return 0.5 ** (epoch // 30)


def _decay(epoch):
    return 0.99


CASES = {
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[30, 80, 80, 150], gamma=0.5),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=_halve),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, lr_lambda=[_halve, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=_decay),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=40),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=25),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=150, power=2.0),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2,
                                                                               eta_min=0.001),
    "CosineAnnealingWarmRestarts-T_mult-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=17),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
    "OneCycleLR-linear-three-phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=51, anneal_strategy="linear", three_phase=True),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=20), m.ExponentialLR(o, gamma=0.98),
            m.CosineAnnealingLR(o, T_max=30)], milestones=[20, 90]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=20), m.ExponentialLR(o, gamma=0.98),
         m.MultiStepLR(o, milestones=[50, 120])]),
}


def _momentum(optimizer):
    group = optimizer.param_groups[0]
    return group["betas"][0] if "betas" in group else group.get("momentum")


def _run(scheduler, optimizer, steps):
    lrs, momenta = [], []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        momenta.append(_momentum(optimizer))
    return lrs, momenta


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_matches_pytorch(name, kind):
    ours_opt, theirs_opt = _optimizers(kind)
    ours = CASES[name](ours_sched, ours_opt)
    theirs = CASES[name](torch.optim.lr_scheduler, theirs_opt)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    ours_lrs, ours_momenta = _run(ours, ours_opt, STEPS)
    theirs_lrs, theirs_momenta = _run(theirs, theirs_opt, STEPS)
    np.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(ours_momenta, theirs_momenta, rtol=1e-12)
    assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
        [g["lr"] for g in theirs_opt.param_groups], rel=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_continues_the_sequence(name):
    optimizer, _ = _optimizers("sgd")
    scheduler = CASES[name](ours_sched, optimizer)
    _run(scheduler, optimizer, 57)
    state = copy.deepcopy(scheduler.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    expected, _ = _run(scheduler, optimizer, 60)

    fresh_optimizer, _ = _optimizers("sgd")
    fresh = CASES[name](ours_sched, fresh_optimizer)
    fresh_optimizer.load_state_dict(optimizer_state)
    fresh.load_state_dict(state)
    assert getattr(fresh, "last_epoch", None) == state.get("last_epoch")
    resumed, _ = _run(fresh, fresh_optimizer, 60)
    np.testing.assert_allclose(resumed, expected, rtol=1e-12)


def test_lambda_functions_are_not_saved_but_callable_objects_state_is():
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    optimizer, _ = _optimizers("sgd")
    scheduler = ours_sched.LambdaLR(optimizer, lr_lambda=[_halve, Warmup(7)])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None, {"steps": 7}]
    other_opt, _ = _optimizers("sgd")
    other = ours_sched.LambdaLR(other_opt, lr_lambda=[_halve, Warmup(3)])
    other.load_state_dict(state)
    assert other.lr_lambdas[0] is _halve and other.lr_lambdas[1].steps == 7


def test_step_with_epoch_uses_the_closed_form_like_pytorch():
    ours_opt, theirs_opt = _optimizers("sgd")
    ours = ours_sched.PolynomialLR(ours_opt, total_iters=20, power=0.5)
    theirs = torch.optim.lr_scheduler.PolynomialLR(theirs_opt, total_iters=20, power=0.5)
    with pytest.warns(UserWarning, match="epoch"):
        ours.step(7)
    with pytest.warns(UserWarning):
        theirs.step(7)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    assert ours.get_last_lr()[0] == pytest.approx(0.1 * math.sqrt(1 - 7 / 20))


def test_errors_name_the_problem():
    optimizer, _ = _optimizers("sgd")
    with pytest.raises(ValueError, match="total_steps"):
        ours_sched.OneCycleLR(optimizer, max_lr=0.1)
    one_cycle = ours_sched.OneCycleLR(optimizer, max_lr=0.1, total_steps=3)
    for _ in range(3):
        one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        one_cycle.step()
    with pytest.raises(ValueError, match="number of milestones"):
        ours_sched.SequentialLR(optimizer, [ours_sched.ConstantLR(optimizer)], milestones=[3])
    other, _ = _optimizers("sgd")
    with pytest.raises(ValueError, match="same optimizer"):
        ours_sched.ChainedScheduler([ours_sched.ConstantLR(optimizer), ours_sched.ConstantLR(other)])
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        ours_sched.LinearLR(optimizer, start_factor=0)
