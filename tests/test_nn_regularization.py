"""Keras-style L1/L2 penalties: values, gradients (against PyTorch), attachment to layers, and the
one-call total that training adds to the loss."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
from nn.regularizers import l1, l2, l1_l2

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("penalty,formula", [
    (l1(0.01), lambda w: 0.01 * w.abs().sum()),
    (l2(0.02), lambda w: 0.02 * (w ** 2).sum()),
    (l1_l2(l1=1e-4, l2=1e-3), lambda w: 1e-4 * w.abs().sum() + 1e-3 * (w ** 2).sum()),
])
def test_penalty_value_and_gradient_match_torch(penalty, formula):
    w = RNG.standard_normal((4, 3))
    w_o = ag.Tensor(w.copy(), requires_grad=True)
    w_t = torch.tensor(w, requires_grad=True)
    value_o, value_t = penalty(w_o), formula(w_t)
    np.testing.assert_allclose(value_o.detach().numpy(), value_t.detach().numpy(), rtol=1e-12)
    value_o.backward()
    value_t.backward()
    np.testing.assert_allclose(w_o.grad.detach().numpy(), w_t.grad.numpy(), rtol=1e-12)


def test_course_idiom_and_regularization_loss():
    ag.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 4, kernel_regularizer=l1_l2(l1=1e-4, l2=1e-3)),
        nn.ReLU(),
        nn.Linear(4, 2, weight_regularizer=l2(1e-2), bias_regularizer=l1(1e-3)))
    model.double()
    w1, w2, b2 = model[0].weight.detach().numpy(), model[2].weight.detach().numpy(), model[2].bias.detach().numpy()
    expected = (1e-4 * np.abs(w1).sum() + 1e-3 * (w1 ** 2).sum() + 1e-2 * (w2 ** 2).sum()
                + 1e-3 * np.abs(b2).sum())
    total = nn.regularization_loss(model)
    np.testing.assert_allclose(total.detach().numpy(), expected, rtol=1e-12)
    total.backward()
    np.testing.assert_allclose(model[0].weight.grad.detach().numpy(), 1e-4 * np.sign(w1) + 2e-3 * w1, rtol=1e-12)
    np.testing.assert_allclose(model[2].bias.grad.detach().numpy(), 1e-3 * np.sign(b2), rtol=1e-12)
    assert model[0].bias.grad is None


def test_regularization_loss_is_zero_without_penalties_and_register_regularizer():
    model = nn.Sequential(nn.Linear(3, 2))
    assert nn.regularization_loss(model).item() == 0.0
    model[0].register_regularizer("bias", l2(0.5))
    np.testing.assert_allclose(nn.regularization_loss(model).detach().numpy(),
                               0.5 * (model[0].bias.detach().numpy() ** 2).sum(), rtol=1e-6)
    with pytest.raises(KeyError, match="no parameter 'kernel'"):
        model[0].register_regularizer("kernel", l2(0.5))
    with pytest.raises(ValueError, match="l2 must be a non-negative number"):
        l2(-1.0)
    with pytest.raises(TypeError, match="not both"):
        nn.Linear(2, 2, weight_regularizer=l2(), kernel_regularizer=l2())
    with pytest.raises(ValueError, match="bias=False"):
        nn.Linear(2, 2, bias=False, bias_regularizer=l2())


def test_l2_penalty_equals_sgd_weight_decay():
    """One SGD step on loss + (wd/2) |w|^2 equals a step with weight_decay=wd on the loss alone."""
    import optim
    x, y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1))
    steps = []
    for use_penalty in (True, False):
        ag.manual_seed(4)
        model = nn.Linear(3, 1).double()
        if use_penalty:
            model.register_regularizer("weight", l2(0.05))
        optimizer = optim.SGD([{"params": [model.weight], "weight_decay": 0.0 if use_penalty else 0.1},
                               {"params": [model.bias]}], lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(ag.Tensor(x)), ag.Tensor(y))
            (loss + nn.regularization_loss(model)).backward()
            optimizer.step()
        steps.append(model.weight.detach().numpy().copy())
    np.testing.assert_allclose(steps[0], steps[1], rtol=1e-12)
