"""A ReLU's backward masks its incoming gradient in place (``Function.backward_in_place``) only when
nothing else holds that array: it came from one producer whose gradients are its own
(``_owned_gradients``: Linear, MatMul, Conv2d, MaxPool2d, ReLU), it was not summed with another,
and nobody captured it (ag.grad's targets, retain_grad, hooks). Under the same conditions a
MaxPool2d after a ReLU folds the ReLU's mask into its scatter (``Function.absorbs``) and the ReLU
passes that gradient on. Everywhere else the gradient seen by the user is the unmasked one, and
every result equals PyTorch's."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite import kernels
from autograd_lite.ops.conv import conv2d, max_pool2d
from kernel_checks import counted_calls

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


def cnn_layers(channels=2, size=10):
    """x, w, b for conv2d -> relu -> max_pool2d(2), ours and PyTorch's, and a seed gradient."""
    arrays = [RNG.standard_normal(s) for s in ((3, channels, size, size), (4, channels, 3, 3), (4,))]
    ours = [ag.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    pooled = (size - 2) // 2
    return ours, theirs, RNG.standard_normal((3, 4, pooled, pooled))


@pytest.fixture
def masked_scatters(monkeypatch):
    """How many times MaxPool2d folded the ReLU before it into its scatter (Function.absorbs)."""
    return counted_calls(monkeypatch, kernels, "max_pool2d_backward_masked")


@pytest.mark.parametrize("size", [10, 60])  # NumPy's ReLU mask, and the Numba kernels' (>= 2^16)
def test_the_course_cnn_layers_fold_the_relu_into_the_pooling_and_match_torch(
        in_place_calls, masked_scatters, size):
    ours, theirs, seed = cnn_layers(channels=2 if size == 10 else 10, size=size)
    out = max_pool2d(conv2d(*ours, 1, 0).relu(), 2)
    out.backward(ag.Tensor(seed))
    expected = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(*theirs).relu(), 2)
    expected.backward(torch.tensor(seed))
    assert masked_scatters == [True] and in_place_calls == []  # one pass: no mask of its own
    assert_same_grads(ours, theirs)


def test_folded_relu_gives_the_same_bits_as_the_scatter_then_the_mask(monkeypatch):
    """float32, the course CNN's first layers: the folded pass against the two passes."""
    x = RNG.standard_normal((4, 32, 26, 26)).astype(np.float32)
    x[:, :, :4] = 0.0  # windows whose maximum is 0 (the mask is off there) and -0.0 below
    x[:, :, 4:6] = -0.0
    grads = []
    for absorbs in ((ag.ops.activation.ReLU,), ()):
        monkeypatch.setattr(ag.ops.conv.MaxPool2d, "absorbs", absorbs)
        a = ag.Tensor(x, requires_grad=True)
        y = max_pool2d(a.relu(), 2)
        y.backward(ag.Tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape)))
        grads.append(a.grad.numpy())
    np.testing.assert_array_equal(grads[0].view(np.uint32), grads[1].view(np.uint32))


@pytest.mark.parametrize("how", ["target", "retain_grad", "hook", "two consumers",
                                 "retain_grads"])
def test_the_relu_is_not_folded_when_its_output_gradient_is_seen(masked_scatters, how):
    """The pooling's input gradient stays unmasked wherever someone sees it; the results equal
    PyTorch's."""
    ours, theirs, seed = cnn_layers()
    r = conv2d(*ours, 1, 0).relu()
    tr = torch.nn.functional.conv2d(*theirs).relu()
    tr.retain_grad()
    texpected = torch.nn.functional.max_pool2d(tr, 2)
    seen = []
    if how == "retain_grad":
        r.retain_grad()
    if how == "hook":
        r.register_hook(seen.append)
    out = max_pool2d(r, 2)
    if how == "two consumers":
        ((out * ag.Tensor(seed)).sum() + (r * 0.5).sum()).backward()
        ((texpected * torch.tensor(seed)).sum() + (tr * 0.5).sum()).backward()
    else:
        loss = (out * ag.Tensor(seed)).sum()
        if how == "target":
            seen = list(ag.grad(loss, [r] + ours))
            for t, g in zip(ours, seen[1:]):
                t.grad = g
        elif how == "retain_grads":  # the teaching views' mode: every intermediate .grad kept
            with ag.retain_grads():
                loss.backward()
        else:
            loss.backward()
        (texpected * torch.tensor(seed)).sum().backward()
        got = r.grad if how in ("retain_grad", "retain_grads") else seen[0]
        assert (tr.grad.numpy()[tr.detach().numpy() == 0] != 0).any()  # unmasked: it shows
        np.testing.assert_allclose(got.numpy(), tr.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert masked_scatters == []
    assert_same_grads(ours, theirs)


def test_a_folded_relu_backward_runs_again_with_retain_graph_and_differentiates_twice(
        masked_scatters):
    ours, theirs, seed = cnn_layers()
    out = max_pool2d(conv2d(*ours, 1, 0).relu(), 2)
    texpected = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(*theirs).relu(), 2)
    for _ in range(2):
        out.backward(ag.Tensor(seed), retain_graph=True)
        texpected.backward(torch.tensor(seed), retain_graph=True)
    assert masked_scatters == [True, True]
    assert_same_grads(ours, theirs)
    # create_graph: the recorded formulas (MaxPoolScatter, ReLUMask), never the folded pass
    x = ag.Tensor(RNG.standard_normal((1, 1, 4, 4)), requires_grad=True)
    g, = ag.grad(max_pool2d(x.relu(), 2).pow(2).sum(), [x], create_graph=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tg, = torch.autograd.grad(torch.nn.functional.max_pool2d(tx.relu(), 2).pow(2).sum(), [tx],
                              create_graph=True)
    assert masked_scatters == [True, True]
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    (second,), (tsecond,) = ag.grad(g.sum(), [x]), torch.autograd.grad(tg.sum(), [tx])
    np.testing.assert_allclose(second.numpy(), tsecond.numpy(), rtol=1e-12)
    assert masked_scatters == [True, True, True]  # not while building g; the last pass goes back
    #                                               through pool(relu(x)) itself, and folds it


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
