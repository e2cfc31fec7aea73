"""Every op of the op table (``op_table.py``) against PyTorch, on hypothesis-drawn shapes and arguments.

For each op and case, in float64:
* the forward values, shapes and dtypes match PyTorch;
* every input's gradient matches PyTorch, through ``ag.grad`` (with and without ``create_graph``)
  and through ``backward()`` into ``.grad``; with and without ``create_graph`` they are identical
  (``backward_plain`` against ``backward``);
* ``ag.gradcheck`` passes, and ``ag.gradgradcheck`` where the second derivative is defined;
and float32 inputs give float32 outputs and gradients close to the float64 ones.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd_lite as ag
from op_table import OPS, make_values

CASES_PER_OP = 12


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _draw_inputs(op, data):
    shapes, params = data.draw(op.cases, label="shapes, params")
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    domains = op.domains if len(op.domains) == len(shapes) else op.domains[:1] * len(shapes)
    arrays = [make_values(shape, domain, rng) for shape, domain in zip(shapes, domains)]
    return arrays, params, rng


def _grads_or_zeros(grads, arrays):
    return [np.zeros_like(a) if g is None else (g.detach().numpy() if isinstance(g, ag.Tensor) else g.numpy())
            for g, a in zip(grads, arrays)]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=CASES_PER_OP, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_op_matches_torch_and_finite_differences(op, data):
    arrays, params, rng = _draw_inputs(op, data)
    ours_in = [ag.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours_out = _outputs(op.ours(*ours_in, **params))
    theirs_out = _outputs(op.theirs(*theirs_in, **params))

    # forward: values, shapes, dtypes
    assert len(ours_out) == len(theirs_out)
    for ours, theirs in zip(ours_out, theirs_out):
        assert ours.shape == tuple(theirs.shape), (ours.shape, theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)

    # every input gradient, for a random output gradient, three ways
    pairs = [(o, t) for o, t in zip(ours_out, theirs_out) if o.dtype.kind == "f"]
    seeds = [rng.standard_normal(o.shape) for o, _ in pairs]
    expected = _grads_or_zeros(torch.autograd.grad(
        [t for _, t in pairs], theirs_in, [torch.tensor(s) for s in seeds], allow_unused=True), arrays)
    ours_outputs = [o for o, _ in pairs]
    plain = ag.grad(ours_outputs, ours_in, [ag.Tensor(s) for s in seeds], retain_graph=True,
                    allow_unused=True)
    double = ag.grad(ours_outputs, ours_in, [ag.Tensor(s) for s in seeds], create_graph=True,
                     allow_unused=True)
    total = ag.tensor(0.0, dtype="double")
    for o, s in zip(ours_outputs, seeds):
        total = total + (o * ag.Tensor(s)).sum()
    total.backward()
    accumulated = [t.grad for t in ours_in]
    for grads in (plain, double, accumulated):
        for got, want, x in zip(_grads_or_zeros(grads, arrays), expected, ours_in):
            assert got.shape == x.shape and got.dtype == np.float64
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
    # without create_graph the hottest primitives run ``backward_plain`` (the formula on arrays),
    # with it ``backward`` (the differentiable definition): the same numbers, to the last bit
    for got, want in zip(_grads_or_zeros(plain, arrays), _grads_or_zeros(double, arrays)):
        np.testing.assert_array_equal(got, want)

    def fn(*xs):
        return op.ours(*xs, **params)

    assert ag.gradcheck(fn, [ag.Tensor(a.copy(), requires_grad=True) for a in arrays])
    if op.gradgrad:
        assert ag.gradgradcheck(fn, [ag.Tensor(a.copy(), requires_grad=True) for a in arrays])


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_op_keeps_float32(op, data):
    arrays, params, rng = _draw_inputs(op, data)
    single = [ag.Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    double = [ag.Tensor(a, requires_grad=True) for a in arrays]
    out32, out64 = _outputs(op.ours(*single, **params)), _outputs(op.ours(*double, **params))
    for o32, o64 in zip(out32, out64):
        if o64.dtype.kind == "f":
            assert o32.dtype == np.float32, f"{op.name}: float32 inputs gave {o32.dtype}"
            np.testing.assert_allclose(o32.detach().numpy(), o64.detach().numpy(), rtol=1e-4, atol=1e-5)
    float_outputs = [o for o in out32 if o.dtype.kind == "f"]
    total = sum((o * float(rng.standard_normal())).sum() for o in float_outputs)
    total.backward()
    for x in single:
        assert x.grad is not None and x.grad.dtype == np.float32
