"""ag.gradcheck and ag.gradgradcheck: they pass on correct gradients, catch wrong ones with a message
that says what and where, work in float64 (warning on float32), and check a Module's parameters."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import autograd_lite as ag
import nn

RNG = np.random.default_rng(2)


class WrongCube(ag.Function):
    """x^3 with a wrong gradient (6x^2) at the last element (3x^2 everywhere else)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ag.Tensor(x.detach().numpy() ** 3)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        wrong = np.ones(x.shape)
        wrong.flat[-1] = 2.0
        return grad * x * x * 3.0 * ag.Tensor(wrong)


class DetachedSquare(ag.Function):
    """x^2 whose backward uses the data of x, not x: right first derivative, wrong second."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ag.Tensor(x.detach().numpy() ** 2)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * ag.Tensor(2.0 * x.detach().numpy())


def test_gradcheck_passes_on_correct_gradients():
    x = ag.Tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    y = ag.Tensor(RNG.standard_normal(3), requires_grad=True)
    assert ag.gradcheck(lambda a, b: (a * b).tanh() @ b, [x, y])
    assert ag.gradgradcheck(lambda a, b: (a * b).tanh() @ b, [x, y])


def test_failure_message_names_input_element_values_errors_tolerances_and_count():
    x = ag.Tensor(RNG.uniform(0.5, 1.5, (2, 3)), requires_grad=True, name="x")
    with pytest.raises(ag.GradcheckError) as info:
        ag.gradcheck(lambda other, t: WrongCube.apply(t), [ag.Tensor(np.ones(2)), x])
    message = str(info.value)
    expected = 3 * x.detach().numpy().flat[-1] ** 2
    assert "input 1 (x) (shape (2, 3))" in message
    assert "at element (1, 2)" in message
    numbers = dict(re.findall(r"(analytical|numerical) (-?[\d.e+-]+)", message))
    assert np.isclose(float(numbers["analytical"]), 2 * expected, rtol=1e-6)
    assert np.isclose(float(numbers["numerical"]), expected, rtol=1e-6)
    assert "abs error" in message and "rel error 1" in message
    assert "atol=1e-05" in message and "rtol=0.001" in message
    assert "1 of 36 Jacobian entries fail" in message


def test_raise_exception_false_returns_false():
    x = ag.Tensor(RNG.uniform(0.5, 1.5, 6), requires_grad=True)
    assert ag.gradcheck(WrongCube.apply, [x], raise_exception=False) is False


def test_gradgradcheck_catches_a_non_differentiable_backward():
    x = ag.Tensor(RNG.standard_normal(3), requires_grad=True)
    assert ag.gradcheck(DetachedSquare.apply, [x])
    with pytest.raises(ag.GradcheckError, match=r"second-derivative .* mismatch for input 0"):
        ag.gradgradcheck(DetachedSquare.apply, [x])
    assert ag.gradgradcheck(DetachedSquare.apply, [x], raise_exception=False) is False


def test_float32_inputs_are_checked_in_float64_with_a_warning():
    x = ag.tensor(RNG.standard_normal(4).astype(np.float32), requires_grad=True)
    seen = []

    def fn(t):
        seen.append(t.dtype)
        return (t * t).sum()

    with pytest.warns(UserWarning, match="checked in float64"):
        assert ag.gradcheck(fn, [x])
    assert set(seen) == {np.dtype(np.float64)} and x.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ag.gradcheck(fn, [ag.Tensor(x.detach().numpy().astype(np.float64), requires_grad=True)])


def test_multiple_outputs_and_non_differentiable_inputs():
    x = ag.Tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    index = ag.tensor([1, 0, 1])
    assert ag.gradcheck(lambda t, i: (t[:, i.detach().numpy()], t.exp().sum(0)), [x, index])
    assert ag.gradgradcheck(lambda t, i: (t[:, i.detach().numpy()] ** 2, t.exp().sum(0)), [x, index])
    with pytest.raises(ValueError, match="no input"):
        ag.gradcheck(lambda t: t * 2, [ag.Tensor(np.ones(2))])


class TinyModel:
    """A stand-in for an nn.Module: anything with named_parameters() and __call__."""

    def __init__(self, wrong=False):
        self.weight = ag.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
        self.scale = ag.tensor(RNG.uniform(0.5, 1.5, 3), dtype="float32", requires_grad=True)
        self.wrong = wrong

    def named_parameters(self):
        return [("weight", self.weight), ("scale", self.scale)]

    def __call__(self, x):
        hidden = (x @ self.weight.T).tanh()
        scale = WrongCube.apply(self.scale) if self.wrong else self.scale ** 3
        return hidden * scale


def test_gradcheck_checks_a_models_parameters_and_restores_them():
    model = TinyModel()
    before = (model.scale.detach().numpy().copy(), model.scale.dtype)
    x = ag.Tensor(RNG.standard_normal((4, 2)))  # the input itself needs no gradient
    with pytest.warns(UserWarning, match="parameters are checked in float64"):
        assert ag.gradcheck(model, [x])
        assert ag.gradgradcheck(model, [x])
    assert model.scale.dtype == before[1] and np.array_equal(model.scale.detach().numpy(), before[0])
    with pytest.raises(ag.GradcheckError, match=r"parameter scale \(shape \(3,\)\)"):
        ag.gradcheck(TinyModel(wrong=True), [x])


def test_gradcheck_on_nn_modules():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = ag.Tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    assert ag.gradcheck(model, [x])
    assert ag.gradgradcheck(nn.Linear(2, 2), [ag.Tensor(RNG.standard_normal((3, 2)), requires_grad=True)])
    assert model[0].weight.dtype == np.float32


def test_random_functions_are_refused_with_a_hint():
    # Dropout in training mode changes between the finite-difference evaluations
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)).double()
    x = ag.Tensor(RNG.standard_normal((5, 3)), requires_grad=True)
    with pytest.raises(ag.GradcheckError, match=r"not deterministic: output 0 changed by up to .* "
                                                r"Dropout in training mode\? Call model.eval\(\)"):
        ag.gradcheck(model, [x])
    assert ag.gradcheck(model.eval(), [x])
    assert ag.gradcheck(lambda a: nn.functional.dropout(a, 0.5, training=False) * 2, [x])


def test_nothing_to_check_says_how_to_check_a_model():
    model = nn.Linear(3, 2).double()
    x = ag.Tensor(RNG.standard_normal((4, 3)))  # no requires_grad, and a lambda hides the model
    with pytest.raises(ValueError, match="pass the model itself as fn"):
        ag.gradcheck(lambda a: model(a).sum(), [x])
