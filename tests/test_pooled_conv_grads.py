"""A convolution's backward with the pooling after its ReLU run inside its launch
(``kernels.pooled_conv2d_grads``, ``launch_groups.prologue``, ``MaxPool2d.absorbs_below``): the
same bits as the scatter and then the convolution's gradients, for every convolution kernel
(direct, tiles, strided, deep) and every combination of needed gradients, at 2 and 3 threads; a
launch that may read the scatter's output runs after it; and the engine folds the convolution in
only when nobody can see the gradient in between, with PyTorch's results everywhere."""
import numpy as np
import pytest
import torch

import autograd_lite as ag
from autograd_lite import kernels
from autograd_lite.kernels import chain, compiler, launch_groups, threads
from autograd_lite.ops.conv import conv2d, max_pool2d
from kernel_checks import counted_calls

RNG = np.random.default_rng(8)

CASES = [  # (x shape, weight shape, stride, padding): each convolution kernel
    ((5, 1, 28, 28), (32, 1, 3, 3), (1, 1), (0, 0)),   # shallow, direct (the course CNN's first)
    ((7, 3, 12, 12), (4, 3, 3, 3), (1, 1), (1, 1)),    # shallow, tiles, padded
    ((6, 2, 17, 19), (8, 2, 3, 3), (2, 1), (0, 1)),    # shallow, strided
    ((3, 32, 13, 13), (16, 32, 3, 3), (1, 1), (0, 0)), # deep (the course CNN's second)
]
POOLINGS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1))]
NEEDS = [(True, True, True), (False, True, True), (True, False, False), (True, True, False),
         (False, False, True)]


@pytest.fixture(autouse=True)
def small_outputs(monkeypatch, thread_count):
    """The Numba kernels ready from the first call, 2 threads, and the fold at test sizes."""
    mode = compiler._state["mode"]
    kernels.set_compile_mode("eager")
    ag.set_num_threads(2)
    monkeypatch.setattr(chain, "MIN_OUTPUT_BYTES", 1)
    yield
    kernels.set_compile_mode(mode)
    assert getattr(threads._here, "prologue", None) is None  # nothing kept after the block


@pytest.fixture
def prologues_taken(monkeypatch):
    """The piece counts of the launches that ran with the scatter taken into them."""
    return counted_calls(monkeypatch, launch_groups, "_with_prologue", lambda *args: args[4])


def layer(case, pooling, dtype):
    """The arrays of conv -> ReLU -> pooling's backward: x, w, the pooling's output gradient
    (NaN, -0.0 and ties included), its argmax and the ReLU's mask."""
    x_shape, w_shape, stride, padding = case
    x = RNG.standard_normal(x_shape).astype(dtype)
    x[0, 0, :3] = np.nan  # NaN passes the ReLU and wins its window
    w = RNG.standard_normal(w_shape).astype(dtype)
    conv = kernels.conv2d_forward(x, w, stride, padding)
    relu, mask = kernels.relu_forward(conv)
    pooled, argmax = kernels.max_pool2d_forward(relu, *pooling)
    grad = RNG.standard_normal(pooled.shape).astype(dtype)
    grad.reshape(-1)[::7] = -0.0
    grad.reshape(-1)[1::11] = np.nan
    return x, w, grad, argmax, mask


def two_steps(x, w, stride, padding, needs, grad, argmax, mask):
    output_grad = kernels.max_pool2d_backward_masked(grad, argmax, mask.shape, mask)
    return (output_grad,) + kernels.conv2d_grads(x, output_grad, w, stride, padding, needs)


def same_bits(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("needs", NEEDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_threads", [2, 3])
def test_the_scatter_inside_the_launch_gives_the_bits_of_the_two_steps(
        case, pooling, needs, dtype, num_threads, always_split, prologues_taken):
    ag.set_num_threads(num_threads)
    _, _, stride, padding = case
    x, w, grad, argmax, mask = layer(case, pooling, dtype)
    expected = two_steps(x, w, stride, padding, needs, grad, argmax, mask)
    assert prologues_taken == []
    got = kernels.pooled_conv2d_grads(x, w, stride, padding, needs, grad, argmax, mask)
    if needs[:2] != (False, False):  # (the bias gradient alone is not cut by images: it waits)
        assert prologues_taken and set(prologues_taken) == {prologues_taken[0]}
    for mine, theirs in zip(got, expected):
        same_bits(mine, theirs)


def assert_not_taken_and_same_bits(prologues_taken):
    case = CASES[0]
    x, w, grad, argmax, mask = layer(case, POOLINGS[0], np.float32)
    with np.errstate(all="raise"):  # no NumPy pass over unwritten memory
        got = kernels.pooled_conv2d_grads(x, w, *case[2:], (True, True, True), grad, argmax, mask)
    assert prologues_taken == []
    expected = two_steps(x, w, *case[2:], (True, True, True), grad, argmax, mask)
    for mine, theirs in zip(got, expected):
        same_bits(mine, theirs)


def test_one_thread_runs_the_two_steps(prologues_taken):
    ag.set_num_threads(1)
    assert_not_taken_and_same_bits(prologues_taken)


def test_small_outputs_run_the_two_steps(monkeypatch, prologues_taken):
    """Below chain.MIN_OUTPUT_BYTES (the forward's rule: small launches lost when joined)."""
    monkeypatch.setattr(chain, "MIN_OUTPUT_BYTES", 2 ** 62)
    assert_not_taken_and_same_bits(prologues_taken)


def test_nothing_is_taken_in_before_the_kernels_have_run(monkeypatch, prologues_taken):
    """Until then a kernel may be served by its NumPy reference, which would read the scatter's
    output before it is written."""
    monkeypatch.setattr(kernels.compiler, "_state", dict(kernels.compiler._state, families=set()))
    assert_not_taken_and_same_bits(prologues_taken)


def test_a_launch_that_may_read_the_output_waits_for_it(always_split):
    """A launch of another form over memory the pending scatter writes runs after the scatter;
    one over other memory runs at once, the scatter still pending; ``written`` runs it."""
    x, w, grad, argmax, mask = layer(CASES[3], POOLINGS[0], np.float32)
    expected = kernels.max_pool2d_backward_masked(grad, argmax, mask.shape, mask)
    for reader in ("bias", "written"):
        with launch_groups.captured_launches() as launches:
            output = kernels.max_pool2d_backward_masked(grad, argmax, mask.shape, mask)
        assert len(launches) == 1
        with launch_groups.prologue(launches[0], mask.shape[0], mask.shape[1], output) as block:
            other = kernels.conv2d_bias_grad(np.ones((3, 4, 5, 5), np.float32))  # not its memory
            assert block.launch is not None and other.tolist() == [75.0] * 4
            if reader == "bias":
                bias = kernels.conv2d_bias_grad(output)  # reads it: the scatter runs first
                np.testing.assert_array_equal(bias, kernels.conv2d_bias_grad(expected))
            else:
                launch_groups.written(output[1:2])
            assert block.launch is None
        same_bits(output, expected)


def test_the_block_runs_a_scatter_nobody_took_and_drops_it_on_an_exception():
    x, w, grad, argmax, mask = layer(CASES[3], POOLINGS[0], np.float64)
    expected = kernels.max_pool2d_backward_masked(grad, argmax, mask.shape, mask)
    with launch_groups.captured_launches() as launches:
        output = kernels.max_pool2d_backward_masked(grad, argmax, mask.shape, mask)
    with launch_groups.prologue(launches[0], mask.shape[0], mask.shape[1], output):
        pass
    same_bits(output, expected)
    with pytest.raises(KeyError):
        with launch_groups.prologue(launches[0], mask.shape[0], mask.shape[1], output) as block:
            raise KeyError("inside")
    assert block.launch is None


# ----------------------------------------------------------------------------- the engine
@pytest.fixture
def folded_convs(monkeypatch):
    """How many times MaxPool2d folded the convolution below its ReLU (absorbs_below)."""
    return counted_calls(monkeypatch, kernels, "pooled_conv2d_grads")


def two_layers(size=12, dtype=np.float64):
    """x, w1, b1, w2, b2 of conv -> relu -> pool -> conv -> relu -> pool, ours and PyTorch's."""
    shapes = ((4, 2, size, size), (6, 2, 3, 3), (6,), (5, 6, 3, 3), (5,))
    arrays = [RNG.standard_normal(s).astype(dtype) for s in shapes]
    ours = [ag.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def forward(t, lib):
    if lib is torch:
        F = torch.nn.functional
        first = F.conv2d(t[0], t[1], t[2])
        return first, F.max_pool2d(F.conv2d(F.max_pool2d(first.relu(), 2), t[3], t[4]).relu(), 2)
    first = conv2d(t[0], t[1], t[2], 1, 0)
    return first, max_pool2d(conv2d(max_pool2d(first.relu(), 2), t[3], t[4], 1, 0).relu(), 2)


def assert_same_grads(ours, theirs):
    for mine, expected in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), expected.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_two_conv_layers_fold_both_convolutions_and_match_torch(folded_convs, prologues_taken):
    ours, theirs = two_layers()
    for _ in range(2):  # (the second backward adds to .grad)
        forward(ours, ag)[1].sum().backward()
        forward(theirs, torch)[1].sum().backward()
    assert len(folded_convs) == 4 and prologues_taken
    assert_same_grads(ours, theirs)


def test_the_fold_gives_the_bits_of_the_engine_without_it(monkeypatch, folded_convs):
    grads = []
    arrays = [t.detach().numpy() for t in two_layers(dtype=np.float32)[0]]
    for below in ((ag.ops.conv.Conv2d,), ()):
        monkeypatch.setattr(ag.ops.conv.MaxPool2d, "absorbs_below", below)
        ours = [ag.Tensor(a, requires_grad=True) for a in arrays]
        forward(ours, ag)[1].sum().backward()
        grads.append([t.grad.numpy() for t in ours])
    assert len(folded_convs) == 2
    for mine, theirs in zip(*grads):
        same_bits(mine, theirs)


@pytest.mark.parametrize("how", ["retain_grad", "hook", "two consumers", "target",
                                 "retain_grads"])
def test_the_convolution_is_not_folded_when_its_output_gradient_is_seen(folded_convs, how):
    """The first convolution's output gradient is seen: that convolution runs its own backward
    (the second is still folded, except where nothing is); the results equal PyTorch's."""
    ours, theirs = two_layers()
    first, out = forward(ours, ag)
    tfirst, tout = forward(theirs, torch)
    tfirst.retain_grad()
    seen = []
    if how == "retain_grad":
        first.retain_grad()
    if how == "hook":
        first.register_hook(seen.append)
    loss, tloss = out.sum(), tout.sum()
    if how == "two consumers":
        loss, tloss = loss + (first * 0.5).sum(), tloss + (tfirst * 0.5).sum()
    if how == "target":
        seen = list(ag.grad(loss, [first] + ours))
        for t, g in zip(ours, seen[1:]):
            t.grad = g
    elif how == "retain_grads":
        with ag.retain_grads():
            loss.backward()
    else:
        loss.backward()
    tloss.backward()
    assert len(folded_convs) == {"target": 0, "retain_grads": 0}.get(how, 1)
    if how != "two consumers":
        got = first.grad if how in ("retain_grad", "retain_grads") else seen[0]
        np.testing.assert_allclose(got.numpy(), tfirst.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert_same_grads(ours, theirs)


def test_ag_grad_of_the_leaves_folds_and_a_convolution_it_does_not_need_runs_no_backward(
        folded_convs):
    ours, theirs = two_layers()
    x, w1, b1, w2, b2 = ours
    got = ag.grad(forward(ours, ag)[1].sum(), [w2, b2])
    expected = torch.autograd.grad(forward(theirs, torch)[1].sum(), theirs[3:])
    assert len(folded_convs) == 1  # the second pooling with its convolution; the first runs not
    for mine, theirs_grad in zip(got, expected):
        np.testing.assert_allclose(mine.numpy(), theirs_grad.numpy(), rtol=1e-10)
    assert x.grad is None and w1.grad is None


def test_a_shared_weight_adds_its_gradients_in_the_engine_order(folded_convs):
    """The folded convolution's gradients reach the leaves when its turn comes, so a weight used
    twice sums its two gradients as before; PyTorch's result."""
    ours, theirs = two_layers()
    x, w1, b1 = ours[:3]
    tx, tw1, tb1 = theirs[:3]
    out = max_pool2d(conv2d(x, w1, b1, 1, 0).relu(), 2)
    tout = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, tw1, tb1).relu(), 2)
    extra, textra = conv2d(x, w1, None, 1, 0), torch.nn.functional.conv2d(tx, tw1)
    (out.sum() + (extra * 0.25).sum()).backward()
    (tout.sum() + (textra * 0.25).sum()).backward()
    assert len(folded_convs) == 1
    assert_same_grads(ours[:3], theirs[:3])
