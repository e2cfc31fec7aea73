"""A user-defined differentiable op, and a gradient-check test suite for it.

Run the suite with pytest, or as a script that runs the same checks and prints what each one does:

    python -m pytest -q examples/custom_op_gradcheck.py
    python examples/custom_op_gradcheck.py

The op is Swish with a learnable slope (Ramachandran et al. 2017, "Searching for activation
functions"):

    y = x * sigmoid(beta * x)
    dy/dx    = s + beta x s (1 - s),          s = sigmoid(beta x)
    dy/dbeta = x^2 s (1 - s)                  (summed over every element: beta is one number)

It is written as an ``ag.Function`` with ``forward`` and ``backward`` side by side. ``backward`` uses
differentiable Tensor operations, so the gradient of the gradient exists too (``gradgradcheck``).
The tests check, in float64: backprop against central differences for both inputs; second
derivatives; agreement with the same formula in PyTorch (forward and both gradients); that a wrong
backward is caught, with a message naming the input and the element; and that bad input raises a
clear error.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag


class Swish(ag.Function):
    """y = x * sigmoid(beta * x) for a tensor ``x`` and a one-element tensor ``beta``."""

    @staticmethod
    def forward(ctx, x, beta):
        if beta.detach().numpy().size != 1:
            raise ValueError(f"Swish: beta must hold one number, got shape {beta.shape}")
        if x.dtype != beta.dtype:
            raise TypeError(f"Swish: x and beta must share a dtype, got {x.dtype} and {beta.dtype}")
        s = 1.0 / (1.0 + np.exp(-beta.detach().numpy() * x.detach().numpy()))
        ctx.save_for_backward(x, beta)
        return ag.Tensor(x.detach().numpy() * s)

    @staticmethod
    def backward(ctx, grad):
        x, beta = ctx.saved_tensors
        s = (beta * x).sigmoid()                # Tensor ops: differentiable again
        slope = s * (1.0 - s)
        grad_x = grad * (s + beta * x * slope)
        grad_beta = (grad * x * x * slope).sum().reshape(beta.shape)
        return grad_x, grad_beta


def swish(x, beta):
    return Swish.apply(x, beta)


class WrongSwish(Swish):
    """The same op with a classic bug: the beta x s (1 - s) term of dy/dx forgotten."""

    @staticmethod
    def backward(ctx, grad):
        x, beta = ctx.saved_tensors
        s = (beta * x).sigmoid()
        return grad * s, (grad * x * x * s * (1.0 - s)).sum().reshape(beta.shape)


def random_inputs(shape=(3, 4), beta=1.3, seed=0):
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)
    return x, ag.tensor([beta], dtype="float64", requires_grad=True)


# ------------------------------------------------------------------------------------- the suite
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("beta", [-2.0, 0.0, 0.7, 3.0])
def test_gradcheck(shape, beta):
    """Backprop equals central differences for x and beta."""
    assert ag.gradcheck(swish, random_inputs(shape, beta))


@pytest.mark.parametrize("beta", [-1.0, 0.5, 2.0])
def test_gradgradcheck(beta):
    """The backward is differentiable: second derivatives match differences of the gradient."""
    assert ag.gradgradcheck(swish, random_inputs((2, 3), beta))


def test_matches_pytorch():
    """Forward and both gradients equal the same formula run by PyTorch."""
    import torch
    x, beta = random_inputs((4, 5), 0.8, seed=1)
    upstream = np.random.default_rng(2).standard_normal((4, 5))
    out = swish(x, beta)
    out.backward(ag.tensor(upstream, dtype="float64"))
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tbeta = torch.tensor(beta.detach().numpy(), requires_grad=True)
    tout = tx * torch.sigmoid(tbeta * tx)
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(beta.grad.numpy(), tbeta.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_special_values():
    """beta = 0 gives y = x / 2; large beta approaches relu."""
    x, beta = random_inputs((6,), 0.0)
    np.testing.assert_allclose(swish(x, beta).detach().numpy(), x.detach().numpy() / 2)
    x, beta = random_inputs((6,), 200.0)
    np.testing.assert_allclose(swish(x, beta).detach().numpy(), np.maximum(x.detach().numpy(), 0), atol=1e-3)


def test_wrong_backward_is_caught():
    """gradcheck names the input and element whose gradient is wrong."""
    with pytest.raises(ag.GradcheckError, match=r"input 0"):
        ag.gradcheck(WrongSwish.apply, random_inputs((2, 2), 1.5))
    assert ag.gradcheck(WrongSwish.apply, random_inputs((2, 2), 1.5), raise_exception=False) is False


def test_bad_input_raises_clearly():
    """A beta of the wrong shape or dtype raises an error saying so."""
    x, _ = random_inputs((2, 2))
    with pytest.raises(ValueError, match=r"beta must hold one number, got shape \(2,\)"):
        swish(x, ag.tensor([1.0, 2.0], dtype="float64"))
    with pytest.raises(TypeError, match="share a dtype"):
        swish(x, ag.tensor([1.0]))


def main():
    """Run the suite without pytest and print a line per check."""
    checks = [(f"gradcheck shape={shape} beta={beta}", lambda s=shape, b=beta: test_gradcheck(s, b))
              for shape in [(5,), (3, 4), (2, 3, 2)] for beta in [-2.0, 0.0, 0.7, 3.0]]
    checks += [(f"gradgradcheck beta={beta}", lambda b=beta: test_gradgradcheck(b))
               for beta in [-1.0, 0.5, 2.0]]
    checks += [(test.__doc__.strip().splitlines()[0], test) for test in
               (test_matches_pytorch, test_special_values, test_wrong_backward_is_caught,
                test_bad_input_raises_clearly)]
    for description, check in checks:
        check()
        print(f"ok  {description}")
    try:
        ag.gradcheck(WrongSwish.apply, random_inputs((2, 2), 1.5))
    except ag.GradcheckError as error:
        print(f"\nwhat gradcheck says about the buggy backward:\n{error}")
    print(f"\nall {len(checks)} checks passed")
    return len(checks)


if __name__ == "__main__":
    main()
