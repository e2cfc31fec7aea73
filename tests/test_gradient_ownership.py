"""A ReLU's backward masks its incoming gradient in place (``Function.backward_in_place``) only when
nothing else holds that array: it came from one producer whose gradients are its own
(``_owned_gradients``: Linear, MatMul, Conv2d, MaxPool2d, ReLU), it was not summed with another,
and nobody captured it (ag.grad's targets, retain_grad, hooks). Everywhere else the gradient seen
by the user is the unmasked one, and every result equals PyTorch's."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite import kernels
from autograd_lite.ops.conv import conv2d, max_pool2d

RNG = np.random.default_rng(21)


@pytest.fixture
def in_place_calls(monkeypatch):
    """Every ReLU backward's kind, in order: True for one in place, False for a new array."""
    calls = []
    real = kernels.mask_select

    def mask_select(grad, mask, out=None):
        calls.append(out is grad)
        return real(grad, mask, out)
    monkeypatch.setattr(kernels, "mask_select", mask_select)
    return calls


def layers(rows=5, width=7):
    """x (leaf) -> Linear -> ReLU -> Linear, as arrays, and the same in PyTorch."""
    arrays = [RNG.standard_normal(s) for s in ((rows, 4), (width, 4), (width,), (3, width), (3,))]
    ours = [ag.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def forward(t, lib):
    x, w1, b1, w2, b2 = t
    linear = ag.nn.functional.linear if lib is ag else torch.nn.functional.linear
    hidden = linear(x, w1, b1)
    return hidden, hidden.relu(), lambda r: linear(r, w2, b2)


def assert_same_grads(ours, theirs):
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("rows", [5, 20000])  # NumPy's mask, and the Numba kernel (>= 2^16)
def test_a_relu_between_two_linears_masks_in_place(in_place_calls, rows):
    ours, theirs = layers(rows)
    for t, lib in ((ours, ag), (theirs, torch)):
        _, r, head = forward(t, lib)
        head(r).sum().backward()
    assert in_place_calls == [True]
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("how", ["target", "retain_grad", "hook"])
def test_a_captured_gradient_is_never_masked_in_place(in_place_calls, how):
    ours, theirs = layers()
    _, r, head = forward(ours, ag)
    seen = []
    if how == "retain_grad":
        r.retain_grad()
    if how == "hook":
        r.register_hook(seen.append)  # keeps the very tensor it is given
    loss = head(r).sum()
    if how == "target":
        seen = list(ag.grad(loss, [r, ours[0]]))
    else:
        loss.backward()
    _, tr, thead = forward(theirs, torch)
    tr.retain_grad()
    thead(tr).sum().backward()
    unmasked = tr.grad.numpy()
    assert (unmasked[tr.detach().numpy() == 0] != 0).any()  # the mask would change it
    got = r.grad if how == "retain_grad" else seen[0]
    np.testing.assert_allclose(got.numpy(), unmasked, rtol=1e-12, atol=1e-12)
    assert in_place_calls == [False]
    if how == "target":
        np.testing.assert_allclose(seen[1].numpy(), theirs[0].grad.numpy(), rtol=1e-12)


def test_a_gradient_summed_from_two_consumers_is_new_and_masked_correctly(in_place_calls):
    ours, theirs = layers()
    for t, lib in ((ours, ag), (theirs, torch)):
        _, r, head = forward(t, lib)
        (head(r).sum() + (head(r) ** 2).sum()).backward()
    assert in_place_calls == [False]
    assert_same_grads(ours, theirs)


def test_a_gradient_passed_through_by_add_is_not_masked_in_place(in_place_calls):
    """Add hands the same array to both its inputs: neither consumer may overwrite it."""
    a = RNG.standard_normal((4, 6))
    ours = [ag.Tensor(a, requires_grad=True), ag.Tensor(a.T.copy(), requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(a.T.copy(), requires_grad=True)]
    for (x, y), lib in ((ours, ag), (theirs, torch)):
        h = x @ y
        (h.relu() + h.relu().relu() * 2).sum().backward()
    assert sorted(in_place_calls) == [False, False, True]  # only the inner ReLU of relu().relu()
    assert_same_grads(ours, theirs)


def test_the_course_cnn_layers_mask_in_place_and_match_torch(in_place_calls):
    x = RNG.standard_normal((3, 2, 10, 10))
    w, b = RNG.standard_normal((4, 2, 3, 3)), RNG.standard_normal(4)
    ours = [ag.Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    seed = RNG.standard_normal((3, 4, 4, 4))
    out = max_pool2d(conv2d(*ours, 1, 0).relu(), 2)
    out.backward(ag.Tensor(seed))
    expected = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(*theirs).relu(), 2)
    expected.backward(torch.tensor(seed))
    assert in_place_calls == [True]
    assert_same_grads(ours, theirs)


def test_a_relu_of_a_leaf_gives_the_leaf_its_masked_gradient(in_place_calls):
    """The in-place mask writes the array the leaf then keeps as .grad: its own, shared with
    nothing (a second backward adds to it, as PyTorch does)."""
    x = ag.Tensor(RNG.standard_normal((3, 5)), requires_grad=True)
    w = ag.Tensor(RNG.standard_normal((5, 2)))
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    for _ in range(2):
        (x.relu() @ w).relu().sum().backward()
        (tx.relu() @ torch.tensor(w.numpy())).relu().sum().backward()
    assert in_place_calls == [False, True, False, True]  # the root's gradient is never masked
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_a_read_only_gradient_is_masked_into_a_new_array():
    """Should a producer break its promise with a read-only array, the ReLU stays correct."""
    from autograd_lite.ops.activation import ReLU
    y = ag.Tensor(np.array([-1.0, 2.0, -3.0]), requires_grad=True).relu()
    grad = np.ones(3)
    grad.flags.writeable = False
    out, = ReLU.backward_in_place(y.grad_fn, ag.Tensor._make(grad))
    np.testing.assert_array_equal(out.numpy(), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(grad, [1.0, 1.0, 1.0])
