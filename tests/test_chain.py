"""Conv2d -> ReLU -> MaxPool2d in one launch cut by images (``kernels.chain``,
``kernels.chained_conv_relu_pool``, ``nn.Sequential``): the same bits as the three launches, for
every convolution kernel (direct, tiles, deep) and both pooling kernels, at 1 and 2 threads; the
outputs are handed only to the ops they were computed for; nothing is kept after the block; and
Sequential chains only plain layers without hooks."""
import threading

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
from autograd_lite import kernels
from autograd_lite.kernels import chain, compiler, launch_groups, threads

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def small_chains(monkeypatch, thread_count):
    """The Numba kernels ready from the first call, 2 threads (chaining needs 2 or more), and
    chaining (and its chunks) at test sizes."""
    mode = compiler._state["mode"]
    kernels.set_compile_mode("eager")
    ag.set_num_threads(2)
    monkeypatch.setattr(chain, "MIN_OUTPUT_BYTES", 1)
    monkeypatch.setattr(chain, "CHUNK_BYTES", 3000)  # a few images a chunk: chunk edges everywhere
    monkeypatch.setattr(kernels, "ELEMENTWISE_MIN_SIZE", 0)  # the ReLU's Numba kernel at any size
    for dtype in (np.float32, np.float64):  # the kernels loaded, as after a first step
        three_ops(np.ones((2, 1, 4, 4), dtype), np.ones((2, 1, 3, 3), dtype), None, (1, 1), (0, 0),
                  ((2, 2), (2, 2), (0, 0)), chained=False)
    yield
    kernels.set_compile_mode(mode)
    assert not kernels._chain_here.__dict__  # nothing kept after the block


def chains_run():
    return kernels.paths().get("conv2d_relu_max_pool2d", {}).get("numba", 0)


def three_ops(x, w, b, stride, padding, pooling, chained):
    """(conv, relu, mask, pooled, argmax) through the kernels' entry points, chained or not."""
    def run():
        conv = kernels.conv2d_forward(x, w, stride, padding, b)
        relu, mask = kernels.relu_forward(conv)
        pooled, argmax = kernels.max_pool2d_forward(relu, *pooling)
        return conv, relu, mask, pooled, argmax
    if not chained:
        return run()
    with kernels.chained_conv_relu_pool(*pooling):
        return run()


def same_bits(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.view(np.uint8), b.view(np.uint8))


CASES = [  # (x shape, weight shape, stride, padding): each convolution kernel
    ((5, 1, 28, 28), (32, 1, 3, 3), (1, 1), (0, 0)),   # shallow, direct (the course CNN's first)
    ((7, 3, 12, 12), (4, 3, 3, 3), (1, 1), (1, 1)),    # shallow, tiles (fewer channels than a block)
    ((6, 2, 17, 19), (8, 2, 3, 3), (2, 1), (0, 1)),    # shallow, strided
    ((3, 32, 13, 13), (16, 32, 3, 3), (1, 1), (0, 0)), # deep (the packed-panel kernel)
]
POOLINGS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (1, 2), (1, 0))]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_threads", [2, 3])
def test_the_chain_gives_the_bits_of_the_three_launches(case, pooling, dtype, num_threads,
                                                        thread_count, always_split):
    ag.set_num_threads(num_threads)
    x_shape, w_shape, stride, padding = case
    x = RNG.standard_normal(x_shape).astype(dtype)
    x[0, 0, :3] = np.nan  # NaN passes the ReLU and wins its window
    w = RNG.standard_normal(w_shape).astype(dtype)
    b = RNG.standard_normal(w_shape[0]).astype(dtype)
    expected = three_ops(x, w, b, stride, padding, pooling, chained=False)
    before = chains_run()
    got = three_ops(x, w, b, stride, padding, pooling, chained=True)
    assert chains_run() == before + 1
    for mine, theirs in zip(got, expected):
        same_bits(mine, theirs)


def assert_not_chained_and_same_bits():
    """A chained_conv_relu_pool block that must not chain: the results of the three launches."""
    x = RNG.standard_normal((4, 1, 10, 10)).astype(np.float32)
    w, b = RNG.standard_normal((8, 1, 3, 3)).astype(np.float32), np.zeros(8, np.float32)
    pooling = ((2, 2), (2, 2), (0, 0))
    before = chains_run()
    with np.errstate(all="raise"):  # no NumPy pass over unwritten memory
        got = three_ops(x, w, b, (1, 1), (0, 0), pooling, chained=True)
    assert chains_run() == before
    for mine, theirs in zip(got, three_ops(x, w, b, (1, 1), (0, 0), pooling, chained=False)):
        same_bits(mine, theirs)


def test_one_thread_runs_the_three_launches_as_they_are():
    ag.set_num_threads(1)
    assert_not_chained_and_same_bits()


def test_a_relu_on_numpy_is_not_chained_and_results_hold(monkeypatch):
    """The array too small for the ReLU's kernel: the convolution runs as it would have, the ReLU
    then computes as usual."""
    monkeypatch.setattr(kernels, "ELEMENTWISE_MIN_SIZE", 2 ** 62)
    assert_not_chained_and_same_bits()


def test_nothing_is_chained_before_the_relu_and_pooling_kernels_have_run(monkeypatch):
    """Until then they may not be ready, and the convolution's output is not written yet when
    they are called: the convolution runs as usual."""
    monkeypatch.setattr(kernels.compiler, "_state", dict(kernels.compiler._state, families=set()))
    assert_not_chained_and_same_bits()


def test_outputs_go_only_to_the_arrays_they_were_computed_from():
    x = RNG.standard_normal((4, 1, 10, 10)).astype(np.float32)
    w = RNG.standard_normal((8, 1, 3, 3)).astype(np.float32)
    pooling = ((2, 2), (2, 2), (0, 0))
    with kernels.chained_conv_relu_pool(*pooling):
        conv = kernels.conv2d_forward(x, w, (1, 1), (0, 0))
        other = conv.copy()
        relu, mask = kernels.relu_forward(other)          # another array: computed as usual
        np.testing.assert_array_equal(relu, np.maximum(conv, 0))
        relu2, _ = kernels.relu_forward(conv)             # the chain's
        pooled, _ = kernels.max_pool2d_forward(relu2, (3, 3), (3, 3), (0, 0))  # not its pooling
        assert pooled.shape == (4, 8, 2, 2)
        second = kernels.conv2d_forward(x, w, (1, 1), (0, 0))  # one convolution per block
    assert chains_run() >= 1
    np.testing.assert_array_equal(second, conv)


def test_an_exception_in_the_block_leaves_nothing_behind():
    x = RNG.standard_normal((4, 1, 10, 10)).astype(np.float32)
    w = RNG.standard_normal((8, 1, 3, 3)).astype(np.float32)
    with pytest.raises(KeyError):
        with kernels.chained_conv_relu_pool((2, 2), (2, 2), (0, 0)):
            kernels.conv2d_forward(x, w, (1, 1), (0, 0))
            raise KeyError("stop")
    assert not kernels._chain_here.__dict__


def test_another_threads_convolution_is_not_chained():
    x = RNG.standard_normal((4, 1, 10, 10)).astype(np.float32)
    w = RNG.standard_normal((8, 1, 3, 3)).astype(np.float32)
    before = chains_run()
    with kernels.chained_conv_relu_pool((2, 2), (2, 2), (0, 0)):
        worker = threading.Thread(target=kernels.conv2d_forward, args=(x, w, (1, 1), (0, 0)))
        worker.start()
        worker.join()
        assert chains_run() == before
    assert chains_run() == before


def test_with_the_numpy_references_nothing_is_chained_and_results_hold():
    x = RNG.standard_normal((4, 1, 10, 10))
    w, b = RNG.standard_normal((8, 1, 3, 3)), RNG.standard_normal(8)
    pooling = ((2, 2), (2, 2), (0, 0))
    kernels.set_backend("numpy")
    try:
        before = chains_run()
        got = three_ops(x, w, b, (1, 1), (0, 0), pooling, chained=True)
        expected = three_ops(x, w, b, (1, 1), (0, 0), pooling, chained=False)
    finally:
        kernels.set_backend("numba")
    assert chains_run() == before
    for mine, theirs in zip(got, expected):
        same_bits(mine, theirs)


def course_cnn():
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 4, 3), nn.ReLU(),
              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3)]
    return nn.Sequential(*layers)


def forward_backward(model, x, by_layer=False):
    """Output and gradients (input, then parameters) of the model on x, through Sequential's
    forward or one layer after the other."""
    x = ag.Tensor(x, requires_grad=True)
    out = x
    if by_layer:
        for layer in model:
            out = layer(out)
    else:
        out = model(x)
    out.sum().backward()
    grads = [x.grad.numpy()] + [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    return out.detach().numpy(), grads


def test_sequential_chains_its_conv_relu_pool_runs_with_the_same_bits_and_gradients():
    model = course_cnn()
    x = RNG.standard_normal((5, 1, 14, 14)).astype(np.float32)
    expected = forward_backward(model, x, by_layer=True)
    before = chains_run()
    got = forward_backward(model, x)
    assert chains_run() == before + 2  # both Conv2d -> ReLU -> MaxPool2d runs
    same_bits(got[0], expected[0])
    for mine, theirs in zip(got[1], expected[1]):
        same_bits(mine, theirs)
    with ag.no_grad():  # inference too
        same_bits(model(ag.Tensor(x)).numpy(), expected[0])


def test_sequential_matches_torch_with_chained_layers():
    model = course_cnn()
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 4, 3),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 3)).double()
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), reference.parameters()):
            theirs.copy_(torch.tensor(mine.detach().numpy()))
    x = RNG.standard_normal((5, 1, 14, 14))
    model = model.double()
    before = chains_run()
    out, grads = forward_backward(model, x)
    assert chains_run() == before + 2
    tx = torch.tensor(x, requires_grad=True)
    tout = reference(tx)
    tout.sum().backward()
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(grads, [tx.grad] + [p.grad for p in reference.parameters()]):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", ["forward hook", "pre-hook", "subclass", "groups", "indices"])
def test_sequential_leaves_other_layers_alone(variant):
    layers = [nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2)]
    seen = []
    if variant == "forward hook":
        layers[1].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    if variant == "pre-hook":  # changes the convolution's output before the ReLU reads it
        layers[1].register_forward_pre_hook(lambda module, args: (args[0] * -1,))
    if variant == "subclass":
        class Doubled(nn.Conv2d):
            def forward(self, input):
                return super().forward(input) * 2
        layers[0] = Doubled(2, 4, 3)
    if variant == "groups":
        layers[0] = nn.Conv2d(2, 4, 3, groups=2)
    if variant == "indices":
        layers[2] = nn.MaxPool2d(2, return_indices=True)
    model = nn.Sequential(*layers)
    x = RNG.standard_normal((3, 2, 10, 10)).astype(np.float32)
    before = chains_run()
    with ag.no_grad():
        out = model(ag.Tensor(x))
        assert chains_run() == before
        h = ag.Tensor(x)
        for layer in layers:
            h = layer(h)
    for mine, theirs in zip(out if variant == "indices" else [out], h if variant == "indices" else [h]):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    if variant == "forward hook":
        assert seen == [(3, 4, 8, 8)] * 2


def test_captured_launches_run_later_as_they_would_have_run():
    calls = []

    def kernel(tag, start, stop):
        calls.append((tag, start, stop))
    with launch_groups.captured_launches() as launches:
        threads.parallel_for(kernel, 10, "serial", serial=True)
        threads.parallel_for(kernel, 10, "pieces", pieces=5, holds_blas=False)
    assert calls == [] and [launch[3:] for launch in launches] == [(None, True, True),
                                                                     (5, False, False)]
    launch_groups.run_captured(launches)
    assert calls[0] == ("serial", 0, 10)  # one call: serial as it was asked
    assert sorted(calls[1:]) == [("pieces", 2 * i, 2 * i + 2) for i in range(5)]
