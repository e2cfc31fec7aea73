"""The convolution kernels (forward, both gradients, the shallow-filter paths and the bias
gradient) equal their NumPy references (autograd_lite.kernels.reference) on hypothesis-drawn and
chosen shapes, strides and paddings, in float32 and float64. Split from test_kernels.py; both use
kernel_checks.py's helpers, and test_kernel_vector_width.py reruns part of both files."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from autograd_lite.kernels import (conv, conv_input, conv_input_cols, conv_shallow,
                                   conv_weight_shallow, reference)
from kernel_checks import DTYPES, FEW, both_paths, close, layout


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
    expected_dw = reference.conv2d_weight_grad(x, grad, weight.shape, stride, padding)
    close(conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding), expected_dw, dtype, 30)
    dw, db = conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding, with_bias=True)
    close(dw, expected_dw, dtype, 30)  # the bias gradient summed by the weight gradient's launch
    close(db, reference.conv2d_bias_grad(grad), dtype, 10)
    expected_dx = reference.conv2d_input_grad(grad, weight, x.shape, stride, padding)
    close(conv.conv2d_input_grad(grad, weight, x.shape, stride, padding), expected_dx, dtype, 30)
    for path in (conv_input.input_grad, conv_input_cols.input_grad):  # both, whatever dispatch picks
        close(path(np.ascontiguousarray(grad), np.ascontiguousarray(weight), x.shape, stride,
                   padding, 7, 2), expected_dx, dtype, 30)    # depth panels of 7 output channels
    for _ in both_paths():
        close(conv.conv2d_bias_grad(grad), reference.conv2d_bias_grad(grad), dtype, 10)


@pytest.mark.parametrize("channels", [1, 30])  # K = 9 (shallow weight gradient), K = 270
def test_bias_grad_keeps_inf_and_nan_and_empty_batches(channels):
    """Alone, and summed by the weight gradient's launch (``with_bias``)."""
    grad = np.ones((3, 4, 2, 5), dtype=np.float32)
    grad[1, 0, 1, 2], grad[2, 1, 0, 0], grad[0, 2, 0, 0], grad[0, 2, 1, 1] = np.inf, np.nan, np.inf, -np.inf
    x = np.ones((3, channels, 4, 7), dtype=np.float32)
    for _ in both_paths():
        fused = conv.conv2d_weight_grad(x, grad, (4, channels, 3, 3), (1, 1), (0, 0), True)[1]
        for out in (conv.conv2d_bias_grad(grad), fused):
            assert out[0] == np.inf and np.isnan(out[1]) and np.isnan(out[2]) and out[3] == 30.0
            assert out.dtype == np.float32
        np.testing.assert_array_equal(conv.conv2d_bias_grad(np.ones((0, 3, 2, 2))), np.zeros(3))
        dw, db = conv.conv2d_weight_grad(np.ones((0, channels, 4, 7)), np.ones((0, 3, 2, 5)),
                                         (3, channels, 3, 3), (1, 1), (0, 0), True)
        np.testing.assert_array_equal(db, np.zeros(3))
        np.testing.assert_array_equal(dw, np.zeros((3, channels, 3, 3)))


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
    dw, db = conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding, with_bias=True)
    close(dw, reference.conv2d_weight_grad(x, grad, weight.shape, stride, padding), dtype, 300)
    close(db, reference.conv2d_bias_grad(grad), dtype, 100)


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
    expected_db = reference.conv2d_bias_grad(grad)
    for workers in range(1, min(3, shape[0]) + 1):
        close(conv_weight_shallow.weight_grad(flat, grad, weight_shape,
                                              (shape[0], shape[1], height, width), stride,
                                              workers), expected, dtype, 300)
        dw, db = conv_weight_shallow.weight_grad(flat, grad, weight_shape,
                                                 (shape[0], shape[1], height, width), stride,
                                                 workers, with_bias=True)
        close(dw, expected, dtype, 300)
        close(db, expected_db, dtype, 100)


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
    db = conv.conv2d_weight_grad(x, grad, (17, 4, 3, 3), (1, 1), (1, 1), with_bias=True)[1]
    close(db, reference.conv2d_bias_grad(grad), dtype, 100)  # its rows read at the padded stride
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
