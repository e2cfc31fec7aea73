"""conv2d, max_pool2d, avg_pool2d: forward and every input gradient against PyTorch, gradcheck and
gradgradcheck in float64, error messages. Shapes, strides and paddings come from hypothesis."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import autograd_lite as ag
from autograd_lite.ops.conv import avg_pool2d, conv2d, max_pool2d

FEW = settings(max_examples=20, deadline=None)


@st.composite
def conv_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 7))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 7))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width)
    out_channels = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31))
    return shape, out_channels, kernel, stride, padding, seed


@st.composite
def pool_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)),
             draw(st.integers(kernel[0], 8)), draw(st.integers(kernel[1], 8)))
    return shape, kernel, stride, padding, draw(st.integers(0, 2**31))


def compare_with_torch(our_fn, torch_fn, arrays, atol=1e-10):
    """Forward and the gradient of every input against PyTorch, for a random output gradient."""
    ours = [ag.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = our_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=atol, rtol=1e-6)
    seed = np.random.default_rng(len(arrays)).standard_normal(out.shape).astype(arrays[0].dtype)
    out.backward(ag.Tensor(seed))
    expected.backward(torch.tensor(seed))
    for index, (mine, reference) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(mine.grad.detach().numpy(), reference.grad.numpy(), atol=atol, rtol=1e-6,
                                   err_msg=f"gradient of input {index}")


@FEW
@given(conv_cases())
def test_conv2d_matches_torch(case):
    shape, out_channels, kernel, stride, padding, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape), rng.standard_normal((out_channels, shape[1]) + kernel),
              rng.standard_normal(out_channels)]
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, stride, padding),
                       lambda x, w, b: F.conv2d(x, w, b, stride, padding), arrays)


@FEW
@given(pool_cases())
def test_max_pool2d_matches_torch(case):
    shape, kernel, stride, padding, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(lambda x: max_pool2d(x, kernel, stride, padding),
                       lambda x: F.max_pool2d(x, kernel, stride, padding), [x])


@FEW
@given(pool_cases())
def test_avg_pool2d_matches_torch(case):
    shape, kernel, stride, padding, seed = case
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(lambda x: avg_pool2d(x, kernel, stride, padding),
                       lambda x: F.avg_pool2d(x, kernel, stride, padding), [x])


def test_float32_forward_and_backward_match_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3, 9, 8), (5, 3, 3, 3), (5,))]
    compare_with_torch(lambda x, w, b: conv2d(x, w, b, 2, 1),
                       lambda x, w, b: F.conv2d(x, w, b, 2, 1), arrays, atol=1e-4)
    compare_with_torch(lambda x: max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2), arrays[:1], atol=0)
    compare_with_torch(lambda x: avg_pool2d(x, 3, 2, 1), lambda x: F.avg_pool2d(x, 3, 2, 1),
                       arrays[:1], atol=1e-6)
    assert conv2d(*[ag.Tensor(a) for a in arrays]).dtype == np.float32


def test_default_stride_is_the_kernel_and_padding_counts_as_minus_infinity():
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # all negative: zero padding would win the max
    out = max_pool2d(ag.Tensor(x), 2, padding=1)
    np.testing.assert_array_equal(out.detach().numpy(), F.max_pool2d(torch.tensor(x), 2, padding=1).numpy())
    assert max_pool2d(ag.Tensor(x), 2).shape == (1, 1, 2, 2)
    assert avg_pool2d(ag.Tensor(x), (2, 1)).shape == (1, 1, 2, 4)


def test_non_contiguous_and_unbatched_inputs():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 7, 6, 3)).transpose(0, 3, 1, 2)  # (2, 3, 7, 6), not contiguous
    w = rng.standard_normal((3, 4, 2, 2)).transpose(1, 0, 2, 3)  # (4, 3, 2, 2)
    compare_with_torch(lambda x, w: conv2d(x, w, None, 1, 1),
                       lambda x, w: F.conv2d(x, w, None, 1, 1), [x, w])
    compare_with_torch(lambda x: max_pool2d(x, 3, 2, 1), lambda x: F.max_pool2d(x, 3, 2, 1), [x])
    single = conv2d(ag.Tensor(x[0]), ag.Tensor(w), padding=1)
    np.testing.assert_allclose(single.detach().numpy(), F.conv2d(torch.tensor(x[0]), torch.tensor(w),
                                                     padding=1).numpy(), atol=1e-12)
    assert max_pool2d(ag.Tensor(x[0]), 2).shape == (3, 3, 3)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_gradcheck_and_gradgradcheck(stride, padding):
    rng = np.random.default_rng(3)
    x = ag.Tensor(rng.standard_normal((2, 2, 5, 4)), requires_grad=True)
    w = ag.Tensor(rng.standard_normal((3, 2, 3, 2)), requires_grad=True)
    b = ag.Tensor(rng.standard_normal(3), requires_grad=True)

    def fn(x, w, b):
        return conv2d(x, w, b, stride, padding)
    assert ag.gradcheck(fn, (x, w, b))
    assert ag.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("channels", [1, 6])  # K = 9: the shallow weight gradient; K = 54
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, True),
                                   (True, True, False), (False, False, True)])
def test_conv2d_plain_backward_sums_the_bias_in_the_weight_launch(needs, channels, monkeypatch):
    """Without create_graph, Conv2d's backward runs on the arrays (``backward_plain``): with dW
    and db both needed, the weight gradient's launch sums db too and the bias kernel is not
    called. Its gradients equal ``backward``'s (create_graph=True): dx and dW to the last bit,
    db within rounding (with 2 threads its per-piece sums are added in another order)."""
    from autograd_lite import kernels
    rng = np.random.default_rng(11)
    arrays = (rng.standard_normal((3, channels, 9, 8)), rng.standard_normal((5, channels, 3, 3)),
              rng.standard_normal(5))
    tensors = [ag.Tensor(a, requires_grad=need) for a, need in zip(arrays, needs)]
    seed = ag.Tensor(rng.standard_normal((3, 5, 7, 6)))
    wanted = [t for t in tensors if t.requires_grad]
    definition = ag.grad(conv2d(*tensors, 1, 0), wanted, seed, create_graph=True)
    separate = []
    real = kernels.conv2d_bias_grad
    monkeypatch.setattr(kernels, "conv2d_bias_grad", lambda g: separate.append(1) or real(g))
    plain = ag.grad(conv2d(*tensors, 1, 0), wanted, seed)
    assert len(separate) == (1 if needs[2] and not needs[1] else 0)
    for got, want, tensor in zip(plain, definition, wanted):
        if tensor is tensors[2]:
            np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-13, atol=1e-13)
        else:
            np.testing.assert_array_equal(got.numpy(), want.detach().numpy())

def test_conv2d_second_derivative_matches_torch():
    """d/dx, d/dw and d/db of |grad_x L|^2 + |grad_w L|^2 + |grad_b L|^2 for L = sum(conv(x, w, b)^3):
    exercises all four conv ops (forward, input, weight and bias gradients) and their backwards."""
    rng = np.random.default_rng(4)
    x_np, w_np = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 3))
    b_np = rng.standard_normal(3)

    def second(x, w, b, conv, grad):
        y = conv(x, w, b, 2, 1)
        gx, gw, gb = grad((y ** 3).sum(), (x, w, b), create_graph=True)
        return (gx ** 2).sum() + (gw * gw).sum() + (gb * gb).sum()
    x, w, b = (ag.Tensor(v, requires_grad=True) for v in (x_np, w_np, b_np))
    second(x, w, b, conv2d, ag.grad).backward()
    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (x_np, w_np, b_np))
    second(tx, tw, tb, F.conv2d, torch.autograd.grad).backward()
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad.detach().numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("pool, args", [(max_pool2d, (2, 1, 1)), (max_pool2d, (3, 2, 0)),
                                        (avg_pool2d, (3, 2, 1)), (avg_pool2d, ((2, 3), 1, (1, 0)))])
def test_pool_gradcheck_and_gradgradcheck(pool, args):
    x = ag.Tensor(np.random.default_rng(5).standard_normal((2, 2, 5, 6)), requires_grad=True)
    assert ag.gradcheck(lambda x: pool(x, *args), (x,))
    assert ag.gradgradcheck(lambda x: pool(x, *args), (x,))


def test_max_pool_double_backward_gathers_at_the_argmax():
    x = ag.Tensor(np.random.default_rng(6).standard_normal((1, 1, 4, 4)), requires_grad=True)
    g = ag.Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    y = max_pool2d(x, 2)
    gx, = ag.grad(y, x, g, create_graph=True)  # ones at the four argmax positions
    h = np.arange(16.0).reshape(1, 1, 4, 4)
    gg, = ag.grad((gx * ag.Tensor(h)).sum(), g)
    argmax = (x.detach().numpy().reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4).argmax(-1))
    rows, cols = np.divmod(argmax, 2)
    expected = h[0, 0][2 * np.arange(2)[:, None] + rows, 2 * np.arange(2)[None, :] + cols]
    np.testing.assert_array_equal(gg.detach().numpy()[0, 0], expected)


@pytest.mark.parametrize("call, message", [
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 4, 3, 3))), "3 channels but the weight"),
    (lambda: conv2d(np.zeros((1, 3, 2, 5)), np.zeros((2, 3, 3, 3))), "smaller than the kernel"),
    (lambda: conv2d(np.zeros((3, 5)), np.zeros((2, 3, 3, 3))), r"shape \(N, C, H, W\)"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3))), r"\(C_out, C_in, kH, kW\)"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(3)), r"bias must"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), stride=0), "stride must be >= 1"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), padding=-1), "padding must"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), stride=(1, 2, 3)), "pair of ints"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5), np.float32), np.zeros((2, 3, 3, 3))), "float32 but weight"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5), np.int64), np.zeros((2, 3, 3, 3))), "float tensor"),
    (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), "at most half the kernel"),
    (lambda: avg_pool2d(np.zeros((1, 1, 2, 4)), 3), r"input of spatial size \(2, 4\)"),
    (lambda: max_pool2d(np.zeros((1, 1, 2, 4)), 3), "smaller than the kernel_size"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
