"""Backward semantics against PyTorch: accumulation, retain_graph, explicit gradients, grad modes,
detach, retain_grad, ag.grad (non-leaf inputs, allow_unused), higher derivatives, custom Functions,
the 100,000-op chain and freeing the graph."""
from __future__ import annotations

import gc
import time
import weakref

import numpy as np
import pytest
import torch

import autograd_lite as ag

RNG = np.random.default_rng(0)


def both(array, requires_grad=True):
    return (ag.Tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad),
            torch.tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad))


def close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy() if isinstance(ours, ag.Tensor) else ours,
                               theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- backward()
def test_gradients_accumulate_into_leaves_like_torch():
    (x, xt), (w, wt) = both([1.0, -2.0, 3.0]), both([0.5, 0.25, -1.0])
    for _ in range(3):
        (x * w + x.exp()).sum().backward()
        (xt * wt + xt.exp()).sum().backward()
        close(x.grad, xt.grad)
        close(w.grad, wt.grad)


def test_grad_object_is_kept_and_updated_in_place_across_backwards():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first and np.allclose(first.detach().numpy(), [6.0, 6.0])


def test_leaf_gradients_never_alias_each_other_or_the_callers_gradient():
    a, b = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0, 4.0], requires_grad=True)
    seed = ag.tensor([1.0, 1.0])
    (a + b).backward(seed)  # Add passes the same gradient on to both inputs
    a.grad.zero_()
    assert np.allclose(b.grad.detach().numpy(), [1.0, 1.0]) and np.allclose(seed.detach().numpy(), [1.0, 1.0])

    class ReturnsSaved(ag.Function):  # a custom backward that hands back a saved tensor
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(y)
            return ag.Tensor(x.detach().numpy() * 1.0)

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return y, None

    x, y = ag.tensor([1.0, 1.0], requires_grad=True), ag.tensor([5.0, 6.0])
    ReturnsSaved.apply(x, y).sum().backward()
    x.grad.zero_()
    assert np.allclose(y.detach().numpy(), [5.0, 6.0])


def test_retain_graph_allows_a_second_backward():
    (x, xt) = both([1.0, 2.0])
    y, yt = (x * x).sum(), (xt * xt).sum()
    y.backward(retain_graph=True)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    close(x.grad, xt.grad)


def test_second_backward_without_retain_graph_raises_naming_the_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time \(op Mul\).*retain_graph=True"):
        y.backward()


def test_second_backward_through_nodes_without_saved_tensors_works_like_torch():
    (x, xt) = both([1.0, 2.0])
    y, yt = (x + 1).sum(), (xt + 1).sum()
    for _ in range(2):
        y.backward()
        yt.backward()
    close(x.grad, xt.grad)


def test_non_scalar_backward_needs_an_explicit_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"grad_outputs= to ag.grad"):  # ag.grad's argument name
        ag.grad(x * 2, x)
    grad, = ag.grad(x * 2, x, grad_outputs=np.array([1.0, -1.0]))  # an array is one gradient, not two
    assert grad.tolist() == [2.0, -2.0]
    (x, xt) = both([1.0, 2.0])
    (x * x).backward(ag.tensor([1.0, -1.0], dtype="double"))
    (xt * xt).backward(torch.tensor([1.0, -1.0], dtype=torch.float64))
    close(x.grad, xt.grad)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*shape \(2,\)"):
        (x * x).backward(ag.tensor([1.0, 1.0, 1.0]))


def test_backward_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0, 2.0]).sum().backward()
    with ag.no_grad():
        y = (ag.tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_inputs_restricts_which_leaves_get_grad():
    x, w = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    assert np.allclose(x.grad.detach().numpy(), [3.0, 4.0]) and w.grad is None


def test_float32_leaf_gets_float32_grad_through_a_float64_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * ag.tensor([1.0, 2.0], dtype="double")).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32 and np.allclose(x.grad.detach().numpy(), [1.0, 2.0])


# ----------------------------------------------------------------------------- grad modes, detach
def test_no_grad_enable_grad_and_set_grad_enabled():
    x = ag.tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not (x * 2).requires_grad and not ag.is_grad_enabled()
        with ag.enable_grad():
            assert (x * 2).requires_grad
        assert (x * 2)._ctx is None
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with ag.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @ag.no_grad()
    def doubled(t):
        return t * 2

    @ag.no_grad
    def tripled(t):
        return t * 3
    assert not doubled(x).requires_grad and doubled.__name__ == "doubled"
    assert not tripled(x).requires_grad and tripled.__name__ == "tripled"
    ag.set_grad_enabled(False)  # a plain call sets the mode, like torch.set_grad_enabled
    try:
        assert not ag.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled()


def test_detach_shares_data_and_cuts_the_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.detach().numpy().__array_interface__["data"] == \
        y.detach().numpy().__array_interface__["data"] and not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    assert np.allclose(x.grad.detach().numpy(), [2.0, 4.0])  # d is a constant: d/dx (d * x) = d


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only floating-point tensors can require gradients"):
        ag.tensor([1, 2]).requires_grad_()
    y = ag.tensor([1.0], requires_grad=True) * 2
    assert not y.is_leaf and y.grad_fn.name() == "Mul"
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)
    assert not (ag.tensor([1.0, 2.0], requires_grad=True) > 1).requires_grad  # comparisons: no grad


# ----------------------------------------------------------------------------- retain_grad
def test_retain_grad_keeps_and_accumulates_intermediate_gradients_like_torch():
    (x, xt) = both([1.0, 2.0])
    y, yt = x * 2, xt * 2
    y.retain_grad()
    yt.retain_grad()
    z, zt = (y * y).sum(), (yt * yt).sum()
    z.backward(retain_graph=True)
    z.backward()
    zt.backward(retain_graph=True)
    zt.backward()
    close(y.grad, yt.grad)
    other = x * 3
    (other * other).sum().backward()
    assert other.grad is None  # not retained


def test_retain_grads_mode_keeps_every_intermediate_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    ag.retain_grads(True)
    try:
        h = x * 3
        loss = (h.exp()).sum()
        loss.backward()
    finally:
        ag.retain_grads(False)
    assert np.allclose(h.grad.detach().numpy(), np.exp(h.detach().numpy())) and np.allclose(loss.grad.detach().numpy(), 1.0)


def test_retain_grad_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ag.tensor([1.0]).retain_grad()


# ----------------------------------------------------------------------------- ag.grad
def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    (x, xt), (w, wt) = both([1.0, 2.0]), both([3.0, -1.0])
    ours = ag.grad((x * w).exp().sum(), [x, w])
    theirs = torch.autograd.grad((xt * wt).exp().sum(), [xt, wt])
    assert isinstance(ours, tuple) and len(ours) == 2
    close(ours[0], theirs[0])
    close(ours[1], theirs[1])
    assert x.grad is None and w.grad is None


def test_grad_with_respect_to_non_leaf_inputs():
    (x, xt) = both([0.5, -1.5, 2.0])
    h, ht = x.tanh(), xt.tanh()
    ours = ag.grad((h * h * x).sum(), [h, x])
    theirs = torch.autograd.grad((ht * ht * xt).sum(), [ht, xt])
    close(ours[0], theirs[0])
    close(ours[1], theirs[1])


def test_grad_only_runs_the_part_of_the_graph_that_leads_to_the_inputs():
    calls = []

    class Spy(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return ag.Tensor(x.detach().numpy() * 2.0)

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            return grad * 2.0

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = Spy.apply(x)
    y = (h * h).sum()
    g, = ag.grad(y, [h])
    assert np.allclose(g.detach().numpy(), 2 * h.detach().numpy()) and calls == []


def test_grad_allow_unused():
    x, unused = ag.tensor([1.0], requires_grad=True), ag.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"inputs\[1\].*allow_unused=True"):
        ag.grad((x * 2).sum(), [x, unused])
    gx, gu = ag.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert np.allclose(gx.detach().numpy(), 2.0) and gu is None


def test_grad_of_an_input_that_does_not_require_grad_raises():
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"inputs\[0\].*does not require grad"):
        ag.grad((x * 2).sum(), [ag.tensor([1.0])])


# ----------------------------------------------------------------------------- higher derivatives
def test_third_derivative_of_a_polynomial():
    x = ag.tensor(2.0, dtype="double", requires_grad=True)
    y = x ** 4 + x.sin()
    d1, = ag.grad(y, x, create_graph=True)
    d2, = ag.grad(d1, x, create_graph=True)
    d3, = ag.grad(d2, x)
    assert np.isclose(d1.item(), 4 * 8 + np.cos(2.0))
    assert np.isclose(d2.item(), 12 * 4 - np.sin(2.0))
    assert np.isclose(d3.item(), 24 * 2 - np.cos(2.0))


def test_hessian_vector_product_matches_torch():
    a = RNG.standard_normal((4, 4))
    (x, xt), (v, vt) = both(RNG.standard_normal(4)), both(RNG.standard_normal(4), requires_grad=False)
    (m, mt) = both(a, requires_grad=False)

    def f(x, m, lib):
        h = lib.tanh(m @ x) if lib is torch else (m @ x).tanh()
        return (h * h).sum() + (x * x * x).sum()

    g, = ag.grad(f(x, m, ag), x, create_graph=True)
    hv, = ag.grad((g * v).sum(), x)
    gt, = torch.autograd.grad(f(xt, mt, torch), xt, create_graph=True)
    hvt, = torch.autograd.grad((gt * vt).sum(), xt)
    close(hv, hvt)


def test_create_graph_backward_gives_differentiable_grad():
    x = ag.tensor([1.0, 2.0], dtype="double", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    g2, = ag.grad(x.grad.sum(), x)
    assert np.allclose(g2.detach().numpy(), 6 * x.detach().numpy())
    a, b = ag.tensor([1.0], requires_grad=True), ag.tensor([2.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)  # Add hands one gradient to both leaves
    with ag.no_grad():
        a.grad.zero_()
    assert b.grad.tolist() == [1.0] and not np.shares_memory(a.grad.detach().numpy(),
                                                             b.grad.detach().numpy())


# ----------------------------------------------------------------------------- custom Functions
class ScaledExp(ag.Function):
    """y = exp(a * x); dy/dx = a y; dy/da = x y (a may be a plain number)."""

    @staticmethod
    def forward(ctx, x, a):
        y = ag.Tensor(np.exp(ag.Tensor(a).detach().numpy() * x.detach().numpy()))
        ctx.save_for_backward(x, y)
        ctx.a = a
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad_a = (grad * x * y).sum() if ctx.needs_input_grad[1] else None
        return grad * y * ctx.a, grad_a


class SplitSum(ag.Function):
    """Two outputs: (sum of x, sum of x^2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ag.Tensor(x.detach().numpy().sum()), ag.Tensor((x.detach().numpy() ** 2).sum())

    @staticmethod
    def backward(ctx, grad_sum, grad_squares):
        x, = ctx.saved_tensors
        return grad_sum + grad_squares * 2 * x


def test_custom_function_forward_backward_and_needs_input_grad():
    x = ag.tensor([0.1, 0.2], dtype="double", requires_grad=True)
    y = ScaledExp.apply(x, 3.0)
    assert y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    assert np.allclose(x.grad.detach().numpy(), 3.0 * np.exp(3.0 * x.detach().numpy()))
    assert ag.gradcheck(lambda t: ScaledExp.apply(t, 2.0), [x])
    assert ag.gradgradcheck(lambda t: ScaledExp.apply(t, 2.0), [x])


def test_multi_output_function_with_one_output_unused():
    x = ag.tensor([1.0, 2.0, 3.0], dtype="double", requires_grad=True)
    total, squares = SplitSum.apply(x)
    squares.backward()
    assert np.allclose(x.grad.detach().numpy(), 2 * x.detach().numpy())
    x.grad = None
    total, squares = SplitSum.apply(x)
    (total * 2 + squares).backward()
    assert np.allclose(x.grad.detach().numpy(), 2 + 2 * x.detach().numpy())
    assert ag.gradcheck(SplitSum.apply, [x])


def test_saved_output_survives_when_the_user_drops_it():
    x = ag.tensor([0.5, 1.0], dtype="double", requires_grad=True)
    s = x.exp().sum()  # Exp saved its output, which nobody else holds
    gc.collect()
    g, = ag.grad(s, x, create_graph=True)
    gg, = ag.grad(g.sum(), x)
    assert np.allclose(g.detach().numpy(), np.exp(x.detach().numpy())) and np.allclose(gg.detach().numpy(), np.exp(x.detach().numpy()))


def test_backward_returning_the_wrong_number_or_shape_of_gradients_raises():
    class TooMany(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return ag.Tensor(x.detach().numpy() * 2)

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class WrongShape(TooMany):
        @staticmethod
        def backward(ctx, grad):
            return grad.sum()

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TooMany.backward returned 2 gradient\(s\).*1 argument"):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape \(\).*\(2,\)"):
        WrongShape.apply(x).sum().backward()


# ----------------------------------------------------------------------------- scale and memory
def _chain(length):
    x = ag.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    return x, y


def _timed_backward(length):
    x, y = _chain(length)
    gc.disable()  # time the traversal, not the garbage collector
    try:  # CPU time of this process: other processes on the machine do not count
        start = time.process_time()
        y.sum().backward()
        return time.process_time() - start, x
    finally:
        gc.enable()


def test_a_chain_of_100000_ops_backpropagates_in_linear_time():
    long_time, x = _timed_backward(100_000)  # no RecursionError
    assert np.allclose(x.grad.detach().numpy(), 1.0)
    long_time = min(long_time, _timed_backward(100_000)[0])
    short_time = min(_timed_backward(25_000)[0] for _ in range(3))
    ratio = long_time / short_time
    # linear is 4x, quadratic 16x; the margin absorbs a noisy shared machine
    assert ratio < 8.0, f"backward of 4x the ops took {ratio:.1f}x the time (linear would be 4x)"


def test_the_graph_is_freed_after_backward_without_gc():
    gc.disable()
    try:
        x = ag.tensor(RNG.standard_normal(3), requires_grad=True)
        hidden = (x * 2).exp()
        node = weakref.ref(hidden._ctx)
        intermediate = weakref.ref(hidden)
        loss = (hidden * x).sum()
        del hidden
        assert intermediate() is not None  # saved by the product's node for its backward
        loss.backward()
        # backward released what the nodes saved: the graph (alive while loss is) keeps no tensors
        assert intermediate() is None and node() is not None
        del loss
        assert node() is None, "a reference cycle keeps the graph alive"
    finally:
        gc.enable()
