"""Every Numba kernel equals its NumPy reference (autograd_lite.kernels.reference) on hypothesis-drawn
shapes, strides, paddings and non-contiguous inputs, in float32 and float64; the dispatch rule and the
thread policy hold. test_kernels_nojit.py runs a subset with NUMBA_DISABLE_JIT=1."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autograd_lite import kernels
from autograd_lite.kernels import (conv, conv_input, conv_input_cols, conv_shallow,
                                   conv_weight_shallow, elementwise, matmul_numba as matmul, pool,
                                   reference, threads)

FEW = settings(max_examples=25, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])


def close(actual, expected, dtype, scale=1.0):
    """Within float rounding: a few ulps of the dtype times the size of the sums involved."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    tolerance = (2e-5 if dtype == np.float32 else 1e-12) * scale
    np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


def both_paths():
    """Yields twice: with ``threads.PARALLEL_MIN_SIZE`` at 0 (every pass split across our
    threads), then above any size here (every pass on the calling thread); restored after."""
    saved = threads.PARALLEL_MIN_SIZE
    try:
        for threshold in (0, 2 ** 62):
            threads.PARALLEL_MIN_SIZE = threshold
            yield threshold
    finally:
        threads.PARALLEL_MIN_SIZE = saved


def layout(array, draw):
    """The same values as ``array``, drawn as C-contiguous, transposed-copy or strided-slice."""
    kind = draw(st.sampled_from(["contiguous", "fortran", "sliced"]))
    if kind == "fortran":
        return np.asfortranarray(array)
    if kind == "sliced":
        padded = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        padded[..., ::2] = array
        return padded[..., ::2]
    return array


# ----------------------------------------------------------------------------- matmul
@FEW
@given(st.data(), DTYPES, st.integers(1, 40), st.integers(1, 70), st.integers(1, 70))
def test_matmul_equals_reference(data, dtype, rows, depth, cols):
    rng = np.random.default_rng(rows * 10007 + depth * 101 + cols)
    a = layout(rng.standard_normal((rows, depth)).astype(dtype), data.draw)
    b = layout(rng.standard_normal((depth, cols)).astype(dtype), data.draw)
    close(matmul.matmul(a, b), reference.matmul(a, b), dtype, depth)
    close(matmul.matmul(b.T, a.T), reference.matmul(b.T, a.T), dtype, depth)  # transposed views


@FEW
@given(DTYPES, st.sampled_from([((3, 1, 5, 6), (4, 6, 2)), ((2, 9, 33), (33, 17)),
                                ((7, 3), (2, 1, 3, 40)), ((1, 4, 4), (3, 4, 4))]))
def test_batched_matmul_broadcasts_like_numpy(dtype, shapes):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    close(matmul.matmul(a, b), np.matmul(a, b), dtype, a.shape[-1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_with_several_depth_panels_and_large_sides(dtype):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 700)).astype(dtype)      # depth 700: three panels of 234
    b = rng.standard_normal((700, 90)).astype(dtype)
    close(matmul.matmul(a, b), a @ b, dtype, 50)
    close(matmul.matmul(a[::2, 1::3], b[1::3]), a[::2, 1::3] @ b[1::3], dtype, 50)


def test_matmul_of_empty_and_broadcast_read_only_inputs():
    a = np.broadcast_to(np.arange(6.0).reshape(2, 3), (4, 2, 3))
    np.testing.assert_allclose(matmul.matmul(a, np.ones((3, 5))), a @ np.ones((3, 5)))
    assert matmul.matmul(np.ones((0, 3)), np.ones((3, 2))).shape == (0, 2)
    np.testing.assert_array_equal(matmul.matmul(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3)))


# ----------------------------------------------------------------------------- convolution
@st.composite
def conv_geometry(draw, max_size=9):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    height = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), max_size))
    width = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), max_size))
    return kernel, stride, padding, height, width


@FEW
@given(st.data(), DTYPES, conv_geometry(), st.integers(1, 4), st.integers(1, 5), st.integers(1, 20))
def test_conv_kernels_equal_reference(data, dtype, geometry, images, channels, out_channels):
    kernel, stride, padding, height, width = geometry
    rng = np.random.default_rng(images * 131 + channels * 17 + out_channels)
    x = layout(rng.standard_normal((images, channels, height, width)).astype(dtype), data.draw)
    weight = layout(rng.standard_normal((out_channels, channels) + kernel).astype(dtype), data.draw)
    bias = rng.standard_normal(out_channels).astype(dtype)
    expected = reference.conv2d_forward(x, weight, stride, padding, bias)
    close(conv.conv2d_forward(x, weight, stride, padding, bias), expected, dtype, 10)
    grad = layout(rng.standard_normal(expected.shape).astype(dtype), data.draw)
    close(conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding),
          reference.conv2d_weight_grad(x, grad, weight.shape, stride, padding), dtype, 30)
    expected_dx = reference.conv2d_input_grad(grad, weight, x.shape, stride, padding)
    close(conv.conv2d_input_grad(grad, weight, x.shape, stride, padding), expected_dx, dtype, 30)
    for path in (conv_input.input_grad, conv_input_cols.input_grad):  # both, whatever dispatch picks
        close(path(np.ascontiguousarray(grad), np.ascontiguousarray(weight), x.shape, stride,
                   padding, 7, 2), expected_dx, dtype, 30)    # depth panels of 7 output channels
    for _ in both_paths():
        close(conv.conv2d_bias_grad(grad), reference.conv2d_bias_grad(grad), dtype, 10)


def test_bias_grad_keeps_inf_and_nan_and_empty_batches():
    grad = np.ones((3, 4, 2, 5), dtype=np.float32)
    grad[1, 0, 1, 2], grad[2, 1, 0, 0], grad[0, 2, 0, 0], grad[0, 2, 1, 1] = np.inf, np.nan, np.inf, -np.inf
    for _ in both_paths():
        out = conv.conv2d_bias_grad(grad)
        assert out[0] == np.inf and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == 30.0
        assert out.dtype == np.float32
        np.testing.assert_array_equal(conv.conv2d_bias_grad(np.ones((0, 3, 2, 2))), np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, weight_shape, stride, padding", [
    ((3, 70, 9, 8), (9, 70, 3, 3), (1, 1), (1, 1)),       # C kH kW = 630: two forward panels
    ((2, 3, 24, 23), (5, 3, 2, 2), (1, 1), (0, 0)),       # 22 x 22 positions: two weight-grad panels
    ((2, 2, 5, 5), (330, 2, 3, 3), (2, 2), (1, 1)),       # 330 output channels: two input-grad panels
    ((64, 32, 13, 13), (64, 32, 3, 3), (1, 1), (0, 0)),   # the course CNN's second layer
    ((5, 1, 28, 28), (32, 1, 3, 3), (1, 1), (0, 0)),      # its first layer (shallow forward)
    ((3, 2, 17, 9), (11, 2, 2, 3), (2, 1), (1, 2)),       # K = 12: shallow, strided, padded
    ((4, 3, 20, 21), (40, 3, 5, 5), (2, 2), (2, 2)),      # 3 channels: input grad via im2col
])
def test_conv_kernels_on_large_shapes(dtype, shape, weight_shape, stride, padding):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(weight_shape).astype(dtype)
    out = conv.conv2d_forward(x, weight, stride, padding)
    close(out, reference.conv2d_forward(x, weight, stride, padding), dtype, 30)
    grad = rng.standard_normal(out.shape).astype(dtype)
    close(conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding),
          reference.conv2d_weight_grad(x, grad, weight.shape, stride, padding), dtype, 300)
    close(conv.conv2d_input_grad(grad, weight, x.shape, stride, padding),
          reference.conv2d_input_grad(grad, weight, x.shape, stride, padding), dtype, 100)
    close(conv.conv2d_bias_grad(grad), reference.conv2d_bias_grad(grad), dtype, 100)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, weight_shape, stride, padding", [
    ((64, 1, 28, 28), (32, 1, 3, 3), (1, 1), (0, 0)),     # the course CNN's first layer, K = 9
    ((3, 2, 17, 15), (13, 2, 3, 3), (1, 1), (0, 0)),      # K = 18, C_out not a multiple of 4
    ((1, 1, 11, 9), (5, 1, 3, 3), (2, 2), (1, 1)),        # batch 1, stride 2, padding 1, odd sizes
    ((2, 2, 9, 13), (7, 2, 3, 3), (1, 2), (1, 0)),        # strided columns: packed one by one
    ((5, 3, 8, 7), (6, 3, 2, 2), (2, 1), (0, 1)),         # K = 12 (a tap block of zeros)
    ((4, 1, 5, 6), (9, 1, 1, 1), (1, 1), (0, 0)),         # K = 1, P = 30: one partial vector
    ((2, 2, 3, 3), (4, 2, 3, 3), (1, 1), (0, 0)),         # one output pixel: only the tail
    ((2, 3, 16, 16), (16, 3, 3, 3), (1, 1), (1, 1)),      # K = 27: an RGB first layer
])
def test_shallow_weight_grad_equals_reference(dtype, shape, weight_shape, stride, padding,
                                              monkeypatch):
    """Filters with K = C kH kW <= SHALLOW_MAX_DEPTH take ``conv_weight_shallow``; its result is
    the same for any number of workers (each sums its own images)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    out_h = (shape[2] + 2 * padding[0] - weight_shape[2]) // stride[0] + 1
    out_w = (shape[3] + 2 * padding[1] - weight_shape[3]) // stride[1] + 1
    grad = rng.standard_normal((shape[0], weight_shape[0], out_h, out_w)).astype(dtype)
    expected = reference.conv2d_weight_grad(x, grad, weight_shape, stride, padding)
    calls = []
    monkeypatch.setattr(conv, "shallow_weight_grad",
                        lambda *args: calls.append(1) or conv_weight_shallow.weight_grad(*args))
    close(conv.conv2d_weight_grad(x, grad, weight_shape, stride, padding), expected, dtype, 300)
    assert calls, "a shallow filter should take conv_weight_shallow"
    flat, height, width = conv.padded_batch(x, padding)
    for workers in range(1, min(3, shape[0]) + 1):
        close(conv_weight_shallow.weight_grad(flat, grad, weight_shape,
                                              (shape[0], shape[1], height, width), stride,
                                              workers), expected, dtype, 300)


@pytest.mark.parametrize("dtype, size", [(np.float32, 32), (np.float32, 16), (np.float64, 16)])
def test_weight_grad_with_gradient_rows_a_multiple_of_2_kb_apart(monkeypatch, dtype, size):
    """32 x 32 float32 (4 KB) and 16 x 16 float64 (2 KB) gradient rows are copied with a pad before
    the general kernel gathers them (``conv.ALIASING_ROW_BYTES``); 16 x 16 float32 (1 KB) is not.
    Either way the result is the reference's, and the same as without the pad."""
    rng = np.random.default_rng(size)
    x = rng.standard_normal((3, 4, size, size)).astype(dtype)       # K = 36: the general kernel
    grad = rng.standard_normal((3, 17, size, size)).astype(dtype)
    expected = reference.conv2d_weight_grad(x, grad, (17, 4, 3, 3), (1, 1), (1, 1))
    spread = conv.conv2d_weight_grad(x, grad, (17, 4, 3, 3), (1, 1), (1, 1))
    close(spread, expected, dtype, 300)
    monkeypatch.setattr(conv, "ALIASING_ROW_BYTES", 1 << 40)          # never spread
    np.testing.assert_allclose(spread, conv.conv2d_weight_grad(x, grad, (17, 4, 3, 3), (1, 1),
                                                               (1, 1)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("weight_shape", [(4, 1, 3, 3), (4, 3, 4, 4)])  # shallow, general
def test_weight_grad_of_an_empty_batch_is_zero(weight_shape):
    x = np.ones((0, weight_shape[1], 6, 6), dtype=np.float32)
    grad = np.ones((0, 4, 3, 3), dtype=np.float32)
    out = conv.conv2d_weight_grad(x, grad, weight_shape, (1, 1), (0, 0))
    np.testing.assert_array_equal(out, np.zeros(weight_shape, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape, weight_shape, stride, padding", [
    ((3, 1, 28, 28), (32, 1, 3, 3), (1, 1), (0, 0)),      # K = 9: the course CNN's first layer
    ((2, 2, 28, 28), (32, 2, 3, 3), (2, 2), (1, 1)),      # K = 18, stride 2, padding 1
    ((1, 2, 17, 23), (5, 2, 3, 3), (1, 2), (1, 0)),       # batch 1, odd sizes, blocks overlap
    ((2, 1, 19, 40), (7, 1, 2, 5), (3, 3), (2, 1)),       # stride 3: three phase planes
    ((1, 3, 9, 31), (4, 3, 3, 2), (2, 1), (0, 1)),        # one channel block, strided rows only
    ((2, 1, 30, 30), (6, 1, 3, 3), (1, 3), (1, 1)),       # rows of 10: the last vector overlaps
    ((2, 2, 9, 9), (3, 2, 3, 3), (1, 1), (1, 1)),         # 3 output channels: tiles
    ((2, 1, 7, 7), (8, 1, 3, 3), (1, 1), (0, 0)),         # rows of 5: tiles (float64: direct)
    ((2, 3, 16, 16), (16, 3, 3, 3), (1, 1), (1, 1)),      # K = 27: an RGB first layer
])
def test_shallow_forward_equals_reference(dtype, bias, shape, weight_shape, stride, padding):
    """Both shallow forwards (direct where rows hold a vector, tiles), against the reference, with
    the images cut into 1 to 3 workers."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    weight = rng.standard_normal(weight_shape).astype(dtype)
    b = rng.standard_normal(weight_shape[0]).astype(dtype) if bias else None
    expected = reference.conv2d_forward(x, weight, stride, padding, b)
    close(conv.conv2d_forward(x, weight, stride, padding, b), expected, dtype, 10)
    flat, height, width = conv.padded_batch(x, padding)
    for forward in (conv_shallow.forward, conv_shallow.forward_tiles):
        for workers in (1, 2, 3):
            out = np.full(expected.shape, np.nan, dtype=dtype)  # every element must be written
            forward(flat, weight, b, out, (shape[0], shape[1], height, width), stride, workers)
            close(out, expected, dtype, 10)


# ----------------------------------------------------------------------------- pooling
@st.composite
def pool_geometry(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)),
             draw(st.integers(kernel[0], 9)), draw(st.integers(kernel[1], 9)))
    return shape, kernel, stride, padding


@FEW
@given(st.data(), DTYPES, pool_geometry(), st.sampled_from(["random", "ties", "minus_inf"]))
def test_pool_kernels_equal_reference(data, dtype, geometry, values):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    if values == "ties":
        x = np.round(x)            # many equal maxima: the first one must win in both
    elif values == "minus_inf":
        x[x < 0.5] = -np.inf       # windows of -inf only: argmax must stay on a real cell
    x = layout(x.astype(dtype), data.draw)
    out_shape = reference.max_pool2d_forward(x, kernel, stride, padding)[0].shape
    grad = layout(rng.standard_normal(out_shape).astype(dtype), data.draw)
    values_in = rng.standard_normal(shape).astype(dtype)
    for _ in both_paths():  # planes split across threads, then all on the calling thread
        out, argmax = pool.max_pool2d_forward(x, kernel, stride, padding)
        expected, expected_argmax = reference.max_pool2d_forward(x, kernel, stride, padding)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(argmax, expected_argmax)
        close(pool.max_pool2d_backward(grad, argmax, shape),
              reference.max_pool2d_backward(grad, argmax, shape), dtype, 10)
        np.testing.assert_array_equal(pool.max_pool2d_gather(values_in, argmax),
                                      reference.max_pool2d_gather(values_in, argmax))
        finite = np.nan_to_num(x, neginf=-3.0)
        close(pool.avg_pool2d_forward(finite, kernel, stride, padding),
              reference.avg_pool2d_forward(finite, kernel, stride, padding), dtype, 10)
        close(pool.avg_pool2d_backward(grad, shape, kernel, stride, padding),
              reference.avg_pool2d_backward(grad, shape, kernel, stride, padding), dtype, 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 4, 6), (3, 2, 11, 11), (1, 2, 5, 8), (2, 1, 3, 2),
                                   (2, 3, 26, 26), (3, 5, 9, 35), (2, 2, 30, 3), (1, 1, 2, 2)])
def test_max_pool_2x2_kernels_on_even_and_odd_sizes(dtype, shape):
    """Kernel 2, stride 2: the vector forward (rows of 1 to 17 windows: whole vectors, a last
    vector past the row's end, the windows done one at a time at the end of x and of a thread's
    planes) and the backward (an odd last row or column lies in no window and must get a zero
    gradient), with ties, -0.0 against 0.0, -inf and NaNs of distinct payloads: out equals the
    reference bit for bit (the first maximum and the first NaN win)."""
    rng = np.random.default_rng(sum(shape))
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # round(-0.3) is -0.0
    x[x < -2] = -np.inf
    bits = x.view(np.uint32 if dtype == np.float32 else np.uint64)
    nan = rng.random(shape) < 0.1
    bits[nan] = np.array(np.nan, dtype).view(bits.dtype) | rng.integers(1, 1000, nan.sum(),
                                                                        dtype=bits.dtype)
    expected, expected_argmax = reference.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    grad = rng.standard_normal(expected.shape).astype(dtype)
    for _ in both_paths():
        out, argmax = pool.max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
        np.testing.assert_array_equal(out.view(bits.dtype), expected.view(bits.dtype))
        np.testing.assert_array_equal(argmax, expected_argmax)
        np.testing.assert_array_equal(pool.max_pool2d_backward(grad, argmax, shape),
                                      reference.max_pool2d_backward(grad, argmax, shape))


# ----------------------------------------------------------------------------- ReLU
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 16383, 16385, 70001])
def test_relu_kernels_equal_reference(dtype, size):
    """Chunk edges (16384), NaN (kept, gradient passed as in PyTorch), +-inf, -0.0 (becomes 0.0)."""
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    x[::7] = 0.0
    x[1::11], x[2::13], x[3::17], x[4::19] = np.nan, np.inf, -np.inf, -0.0
    expected, expected_mask = reference.relu_forward(x)
    grad = rng.standard_normal(size).astype(dtype)
    grad[5::23] = np.nan
    for _ in both_paths():  # chunks split across threads, then one pass on the calling thread
        out, mask = elementwise.relu_forward(x)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(expected))
        np.testing.assert_array_equal(mask, expected_mask)
        assert out.dtype == dtype and not np.signbit(out[~np.isnan(out)]).any()
        np.testing.assert_array_equal(elementwise.mask_select(grad, mask),
                                      reference.mask_select(grad, mask))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_references_match_their_definitions(dtype):
    """The references read the mask from the output (out != 0) and select by multiplying the
    gradient's bits by 0 or 1: the same as not (x <= 0) and np.where(mask, grad, 0), NaN, +-inf
    and -0.0 included, for any layout."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 10)).astype(dtype)
    x[0, :5] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    grad = rng.standard_normal((6, 10)).astype(dtype)
    grad[1:, 0], grad[1:, 1], grad[1:, 2], grad[1:, 3] = np.nan, np.inf, -0.0, -np.inf
    for view in (lambda a: a, lambda a: a.T, lambda a: a[::2, 1::3], lambda a: a[2, 3, ...]):
        out, mask = reference.relu_forward(view(x))
        np.testing.assert_array_equal(mask, ~(view(x) <= 0))
        selected = reference.mask_select(view(grad), mask)
        expected = np.where(mask, view(grad), 0).astype(dtype)
        assert selected.dtype == dtype and selected.shape == expected.shape
        np.testing.assert_array_equal(selected, expected)
        np.testing.assert_array_equal(np.signbit(selected), np.signbit(expected))


def test_relu_dispatch_sends_small_and_strided_tensors_to_numpy(monkeypatch, eager):
    used = []
    monkeypatch.setattr(elementwise, "relu_forward", lambda x: used.append(x.size) or
                        reference.relu_forward(x))
    kernels.relu_forward(np.ones(10, np.float32))
    kernels.relu_forward(np.ones((400, 400), np.float32)[:, ::2])
    kernels.relu_forward(np.ones((400, 400), np.float32))
    assert used == [160000]


# ----------------------------------------------------------------------------- dispatch and threads
@pytest.fixture
def eager():
    """Kernels compile on first use in the test's thread (not in the helper process)."""
    kernels.set_compile_mode("eager")
    yield
    kernels.set_compile_mode("background")


def test_backend_switch_and_rule(monkeypatch, eager):
    calls = []
    monkeypatch.setattr(reference, "conv2d_forward", lambda *a: calls.append("numpy") or 0)
    x, w = np.zeros((1, 1, 3, 3), np.float32), np.zeros((1, 1, 2, 2), np.float32)
    try:
        kernels.set_backend("numpy")
        kernels.conv2d_forward(x, w, (1, 1), (0, 0))
        assert calls == ["numpy"]
        kernels.set_backend("numba")
        assert kernels.conv2d_forward(x, w, (1, 1), (0, 0)).shape == (1, 1, 2, 2)
        assert calls == ["numpy"]                      # the Numba kernel ran this time
        kernels.conv2d_forward(x.astype(np.float16), w.astype(np.float16), (1, 1), (0, 0))
        assert calls == ["numpy", "numpy"]             # no float16 kernel: the reference runs
    finally:
        kernels.set_backend("numba")
    assert kernels.paths()["conv2d_forward"]["numba"] >= 1
    with pytest.raises(ValueError, match="unknown kernel backend 'cuda'"):
        kernels.set_backend("cuda")
    with pytest.raises(ValueError, match="unknown compile mode 'later'"):
        kernels.set_compile_mode("later")


def test_matmul_dispatch_uses_the_gemm_only_for_large_products_once_numba_kernels_ran(
        monkeypatch, eager):
    used = []
    monkeypatch.setattr(matmul, "matmul", lambda a, b: used.append(a.shape) or np.matmul(a, b))
    big = np.ones((512, 512), np.float32)
    monkeypatch.setitem(kernels._state, "numba_ran", False)  # a program of matrix products only
    monkeypatch.setitem(kernels._state, "wide_vectors", True)  # as on an AVX-512 CPU
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)
    kernels.matmul(big, big)
    assert used == []
    kernels.conv2d_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), (1, 1), (0, 0))
    assert kernels._state["numba_ran"]
    kernels.matmul(np.ones((64, 784), np.float32), np.ones((784, 128), np.float32))  # MLP: BLAS
    kernels.matmul(np.ones((128, 128), np.float32), np.ones((128, 128), np.float32))  # too small
    kernels.matmul(big, big)
    kernels.matmul(big.astype(np.int64), big.astype(np.int64))
    kernels.matmul(np.ones((4096, 64), np.float32), np.ones((64, 4096), np.float32))
    kernels.matmul(np.ones((256, 256), np.float32), np.ones((256, 256), np.float32))
    assert used == [(512, 512), (4096, 64), (256, 256)]


@pytest.mark.parametrize("numba_ran", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_of_depth_one_is_an_outer_product(monkeypatch, numba_ran, dtype):
    """(M, 1) @ (1, N), a linear layer's weight gradient at batch 1, is a broadcast multiply (path
    ``outer``): each element is the one product BLAS would compute; inf and NaN as in np.matmul;
    views (the transposed gradient) and non-float dtypes keep np.matmul."""
    monkeypatch.setitem(kernels._state, "numba_ran", numba_ran)
    rng = np.random.default_rng(5)
    g, x = rng.standard_normal((1, 7)).astype(dtype), rng.standard_normal((1, 5)).astype(dtype)
    g[0, 2], x[0, 3] = np.inf, np.nan
    before = kernels.paths().get("matmul", {}).get("outer", 0)
    out = kernels.matmul(g.T, x)
    assert kernels.paths()["matmul"]["outer"] == before + 1
    assert out.dtype == dtype and out.shape == (7, 5) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.matmul(g.T, x))
    integers = kernels.matmul(np.ones((3, 1), np.int64), np.ones((1, 2), np.int64))
    assert kernels.paths()["matmul"]["outer"] == before + 1 and integers.dtype == np.int64


def test_matmul_keeps_blas_where_the_gemm_cannot_win(monkeypatch):
    """The GEMM only with AVX-512 (its accumulators spill on AVX2) and at least 2 threads."""
    monkeypatch.setitem(kernels._state, "numba_ran", True)
    used = []
    monkeypatch.setattr(matmul, "matmul", lambda a, b: used.append(a.shape) or np.matmul(a, b))
    big = np.ones((512, 512), np.float32)
    for wide, count, expected in ((False, 2, []), (True, 1, []), (True, 2, [(512, 512)])):
        monkeypatch.setitem(kernels._state, "wide_vectors", wide)
        monkeypatch.setattr(threads, "get_num_threads", lambda: count)
        used.clear()
        np.testing.assert_array_equal(kernels.matmul(big, big), np.full((512, 512), 512.0))
        assert used == expected, (wide, count)
    monkeypatch.setitem(kernels._state, "wide_vectors", None)  # found from the host's features
    from llvmlite import binding
    kernels._gemm_pays()
    assert kernels._state["wide_vectors"] == bool(binding.get_host_cpu_features().get("avx512f"))


def test_blas_runs_our_products_on_one_thread_and_is_restored_after_each():
    """Inside ``one_blas_thread`` NumPy's BLAS has one thread (nested uses too); after it, the
    count the program had, whatever it was."""
    from threadpoolctl import threadpool_info, threadpool_limits
    from autograd_lite.kernels import threads

    def blas_threads():
        return [pool_["num_threads"] for pool_ in threadpool_info() if pool_["user_api"] == "blas"]
    before = blas_threads()
    with threadpool_limits(2, user_api="blas"):
        program = blas_threads()
        with threads.one_blas_thread():
            assert set(blas_threads()) == {1}
            with threads.one_blas_thread():
                assert set(blas_threads()) == {1}
            assert set(blas_threads()) == {1}
        assert blas_threads() == program
    assert blas_threads() == before


def test_stale_numba_cache_is_dropped_when_a_kernel_source_changes(tmp_path):
    """Numba checks only a kernel's own file; the stamp makes a change anywhere drop the cache."""
    from autograd_lite.kernels import cache
    (tmp_path / "gemm.tile-10.py311.nbi").write_text("old")
    (tmp_path / "unrelated.nbi").write_text("keep")
    (tmp_path / cache.STAMP).write_text("hash of other sources")
    assert cache.drop_stale_cache(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.STAMP, "unrelated.nbi"]
    (tmp_path / "gemm.tile-10.py311.nbi").write_text("new")   # compiled from these sources
    assert not cache.drop_stale_cache(str(tmp_path))
    assert (tmp_path / "gemm.tile-10.py311.nbi").read_text() == "new"


# ----------------------------------------------------------------------------- Adam
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("size", [1, 37, 70001])
def test_adam_kernel_gives_the_references_bits(dtype, amsgrad, size):
    """Three steps of the one-pass kernel against the reference's 14 NumPy passes, bit for bit
    (special values included: NaN and inf in the gradient, NaN in vmax)."""
    from autograd_lite.kernels import updates
    rng = np.random.default_rng(size)
    ours = [rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype),
            np.abs(rng.standard_normal(size)).astype(dtype)]           # p, m, v
    if amsgrad:
        ours.append(np.abs(rng.standard_normal(size)).astype(dtype))    # vmax
        ours[3][::5] = np.nan
    theirs = [a.copy() for a in ours]
    for step in (1, 2, 3):
        grad = rng.standard_normal(size).astype(dtype)
        grad[::7] = np.inf if step == 2 else grad[::7]
        grad[3::11] = np.nan if step == 3 else grad[3::11]
        settings = (0.9, 0.999, 1e-8, 1e-3 / (1 - 0.9 ** step), (1 - 0.999 ** step) ** 0.5)
        with np.errstate(invalid="ignore"):
            updates.adam_update(ours[0], grad, ours[1], ours[2], ours[3] if amsgrad else None,
                             None, *settings)
            reference.adam_update(theirs[0], grad, theirs[1], theirs[2],
                                  theirs[3] if amsgrad else None, np.empty_like(grad), *settings)
        for mine, expected in zip(ours, theirs):
            np.testing.assert_array_equal(mine.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 37, 70001])
def test_sgd_kernel_gives_the_references_bits(dtype, size):
    from autograd_lite.kernels import updates
    rng = np.random.default_rng(size)
    ours = rng.standard_normal(size).astype(dtype)
    theirs = ours.copy()
    grad = rng.standard_normal(size).astype(dtype)
    grad[::9] = np.inf
    grad[1::13] = np.nan
    for lr in (0.1, 3e-4):
        with np.errstate(invalid="ignore"):
            updates.sgd_update(ours, grad, lr, None)
            reference.sgd_update(theirs, grad, lr, np.empty_like(theirs))
        np.testing.assert_array_equal(ours.view(np.uint8), theirs.view(np.uint8))


def test_update_dispatch_takes_numpy_for_small_or_mixed_arrays(eager):
    """One-pass SGD serves float arrays of one shape, dtype and layout from SGD_MIN_SIZE
    elements; anything else goes to the reference, with the same result."""
    kernels._modules()  # as after a first convolution: the process uses Numba kernels
    before = kernels.paths().get("sgd_update", {"numba": 0, "numpy": 0})
    param = np.ones(kernels.SGD_MIN_SIZE, np.float32)
    kernels.sgd_update(param, np.full_like(param, 2.0), 0.5, np.empty_like(param))
    kernels.sgd_update(param[:10], np.ones(10, np.float32), 0.5, np.empty(10, np.float32))
    kernels.sgd_update(param, np.ones(param.size, np.float64), 0.5, np.empty_like(param))
    after = kernels.paths()["sgd_update"]
    assert after["numba"] - before["numba"] == 1 and after["numpy"] - before["numpy"] == 2
    assert param[0] == -1.0 and param[-1] == -0.5


def test_an_mlp_trained_with_sgd_and_adam_does_not_import_numba():
    """The update kernels run only where Numba is already loaded: a small MLP (ReLUs on NumPy)
    must not pay Numba's import and kernel loading for them (1.5 s on a first step)."""
    import subprocess
    import sys
    script = (
        "import sys, numpy as np, autograd_lite as ag, nn, optim\n"
        "model = nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 3))\n"
        "for opt in (optim.SGD(model.parameters(), lr=0.1), optim.Adam(model.parameters())):\n"
        "    for _ in range(2):\n"
        "        opt.zero_grad()\n"
        "        nn.CrossEntropyLoss()(model(ag.Tensor(np.ones((4, 300), np.float32))),\n"
        "                              np.array([0, 1, 2, 0])).backward()\n"
        "        opt.step()\n"
        "from autograd_lite import kernels\n"
        "print('numba' in sys.modules, kernels.paths()['sgd_update'], kernels.paths()['adam_update'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "{'numba':", "0,", "'numpy':", "8}", "{'numba':",
                                   "0,", "'numpy':", "8}"], done.stdout   # 4 parameters, 2 steps
