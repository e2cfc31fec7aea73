"""Every Numba kernel equals its NumPy reference (autograd_lite.kernels.reference) on hypothesis-drawn
shapes, strides, paddings and non-contiguous inputs, in float32 and float64; the dispatch rule and the
thread policy hold. The convolution kernels are in test_kernels_conv.py; test_kernels_nojit.py runs a
subset with NUMBA_DISABLE_JIT=1."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from autograd_lite import kernels
from autograd_lite.kernels import (blas, elementwise, matmul_numba as matmul, pool, reference,
                                   threads)
from kernel_checks import DTYPES, FEW, both_paths, close, layout


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
    mask = rng.random(shape) < 0.5  # a ReLU's, for the scatter that folds it in
    for _ in both_paths():  # planes split across threads, then all on the calling thread
        out, argmax = pool.max_pool2d_forward(x, kernel, stride, padding)
        expected, expected_argmax = reference.max_pool2d_forward(x, kernel, stride, padding)
        np.testing.assert_array_equal(out, expected)
        np.testing.assert_array_equal(argmax, expected_argmax)
        scattered = pool.max_pool2d_backward(grad, argmax, shape)
        close(scattered, reference.max_pool2d_backward(grad, argmax, shape), dtype, 10)
        masked = pool.max_pool2d_backward_masked(grad, argmax, shape, mask)
        np.testing.assert_array_equal(masked, reference.mask_select(scattered, mask))
        close(masked, reference.max_pool2d_backward_masked(grad, argmax, shape, mask), dtype, 10)
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
        mask = ~(x <= 0)  # the ReLU's mask (NaN lets the gradient through): +0.0 where it is off
        masked = pool.max_pool2d_backward_masked(grad, argmax, shape, mask)
        expected_masked = reference.max_pool2d_backward_masked(grad, argmax, shape, mask)
        np.testing.assert_array_equal(masked.view(bits.dtype), expected_masked.view(bits.dtype))


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
        expected_grad = reference.mask_select(grad, mask)
        np.testing.assert_array_equal(elementwise.mask_select(grad, mask), expected_grad)
        in_place = grad.copy()
        assert elementwise.mask_select_in_place(in_place, mask) is in_place
        np.testing.assert_array_equal(in_place, expected_grad)
        np.testing.assert_array_equal(np.signbit(in_place), np.signbit(expected_grad))


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
        in_place = grad.copy()
        target = view(in_place)
        assert reference.mask_select_in_place(target, mask) is target
        np.testing.assert_array_equal(view(in_place), expected)  # written through the view


def test_relu_dispatch_sends_small_and_strided_tensors_to_numpy(monkeypatch, eager):
    used = []
    monkeypatch.setattr(elementwise, "relu_forward", lambda x: used.append(x.size) or
                        reference.relu_forward(x))
    kernels.relu_forward(np.ones(10, np.float32))
    kernels.relu_forward(np.ones((400, 400), np.float32)[:, ::2])
    kernels.relu_forward(np.ones((400, 400), np.float32))
    assert used == [160000]


# ----------------------------------------------------------------------------- dispatch and threads
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


@pytest.mark.parametrize("lately", [False, True])
@pytest.mark.parametrize("count", [1, 2])
def test_matmul_dispatch_keeps_products_on_blas(monkeypatch, eager, count, lately):
    """Products run on BLAS whatever the CPU and thread count (the Numba GEMM lost to the split
    BLAS calls on AVX-512 too): all its threads before any Numba kernel has run; after, one
    thread, and with 2 threads the large 2-D float ones cut in parts (``blas_split``), but at 2
    threads only while our workers ran a kernel lately: otherwise BLAS's own threads again."""
    used, held = [], []
    monkeypatch.setattr(matmul, "matmul", lambda a, b: used.append(a.shape) or np.matmul(a, b))
    monkeypatch.setattr(threads, "get_num_threads", lambda: count)
    monkeypatch.setattr(threads, "workers_ran_lately", lambda: lately)
    enter = blas.one_blas_thread.__enter__
    monkeypatch.setattr(blas.one_blas_thread, "__enter__",
                        lambda self: held.append(1) or enter(self))
    big = np.ones((512, 512), np.float32)
    monkeypatch.setitem(kernels._state, "numba_ran", False)  # a program of matrix products only
    split = lambda: kernels.paths().get("matmul", {}).get("blas_split", 0)  # noqa: E731
    before = split()
    np.testing.assert_array_equal(kernels.matmul(big, big), np.full((512, 512), 512.0))
    assert split() == before and held == []
    kernels.conv2d_forward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), (1, 1), (0, 0))
    assert kernels._state["numba_ran"]
    np.testing.assert_array_equal(kernels.matmul(big, big), np.full((512, 512), 512.0))
    kernels.matmul(np.ones((64, 784), np.float32), np.ones((784, 128), np.float32))  # 2^22.6
    kernels.matmul(big.astype(np.int64), big.astype(np.int64))
    on_one_thread = count == 1 or lately
    assert split() == before + (count == 2 and lately)
    assert len(held) == (3 if on_one_thread else 0)
    assert used == []


@pytest.mark.parametrize("numba_ran", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [(7, 5), (128, 784), (3, kernels.OUTER_GEMM_MIN_SIZE // 3 + 1)])
def test_matmul_of_depth_one_is_an_outer_product(monkeypatch, numba_ran, dtype, size):
    """(M, 1) @ (1, N), a linear layer's weight gradient at batch 1, is an outer product (path
    ``outer``): a broadcast multiply when small, a depth-2 GEMM with zero padding from
    ``OUTER_GEMM_MIN_SIZE`` elements; each element is the one product BLAS would compute (the
    GEMM's to the bit, zeros' signs included); inf and NaN as in np.matmul (the padding never
    meets them); non-float dtypes keep np.matmul."""
    monkeypatch.setitem(kernels._state, "numba_ran", numba_ran)
    rng = np.random.default_rng(5)
    rows, cols = size
    g, x = rng.standard_normal((1, rows)).astype(dtype), rng.standard_normal((1, cols)).astype(dtype)
    g[0, 2], x[0, 3], g[0, 1] = np.inf, np.nan, 0.0
    x[0, 4] = np.inf  # inf * 0 is NaN in both, inf * inf stays inf
    before = kernels.paths().get("matmul", {}).get("outer", 0)
    out = kernels.matmul(g.T, x)
    assert kernels.paths()["matmul"]["outer"] == before + 1
    assert out.dtype == dtype and out.shape == size and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.matmul(g.T, x))
    np.testing.assert_array_equal(out, g.T * x)  # the products themselves, no rounding beyond them
    assert np.isnan(out[1, 4]) and np.isinf(out[2, 4]) and np.isnan(out[2, 3])
    if rows * cols >= kernels.OUTER_GEMM_MIN_SIZE:  # -0.0 products come out +0.0, as from BLAS
        np.testing.assert_array_equal(np.signbit(out), np.signbit(np.matmul(g.T, x)))
    integers = kernels.matmul(np.ones((3, 1), np.int64), np.ones((1, 2), np.int64))
    assert kernels.paths()["matmul"]["outer"] == before + 1 and integers.dtype == np.int64


def test_blas_runs_our_products_on_one_thread_and_is_restored_after_each():
    """Inside ``one_blas_thread`` NumPy's BLAS has one thread (nested uses too); after it, the
    count the program had, whatever it was."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return [pool_["num_threads"] for pool_ in threadpool_info() if pool_["user_api"] == "blas"]
    before = blas_threads()
    with threadpool_limits(2, user_api="blas"):
        program = blas_threads()
        with blas.one_blas_thread():
            assert set(blas_threads()) == {1}
            with blas.one_blas_thread():
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


# ----------------------------------------------------------------------------- vector blocks
def check_transpose(dtype, shifted):
    """``simd_masks.transpose_block`` (or, ``shifted``, ``transpose_add_block`` with a shift vector
    added to each source row) on a lanes x lanes block read with one stride and written
    transposed with another: equal to NumPy's, nothing else touched."""
    from numba import njit
    from autograd_lite.kernels import simd, simd_masks

    @njit
    def run(src, src_at, src_stride, shift, dst, dst_at, dst_stride):
        if shifted:
            simd_masks.transpose_add_block(src, src_at, src_stride, simd.load(shift, 1), dst,
                                           dst_at, dst_stride)
        else:
            simd_masks.transpose_block(src, src_at, src_stride, dst, dst_at, dst_stride)

    n = simd.lanes(dtype)
    rng = np.random.default_rng(n)
    src = rng.standard_normal(3 + (n + 5) * n).astype(dtype)
    shift = rng.standard_normal(n + 1).astype(dtype)
    dst = np.full(7 + (n + 2) * n, -1.0, dtype=dtype)
    run(src, 3, n + 5, shift, dst, 7, n + 2)
    block = src[3:3 + (n + 5) * n].reshape(n, n + 5)[:, :n] + (shift[1:] if shifted else 0)
    expected = np.full_like(dst, -1.0)
    expected[7:7 + (n + 2) * n].reshape(n, n + 2)[:, :n] = block.T
    np.testing.assert_array_equal(dst, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_block_equals_numpy_transpose(dtype):
    """The AVX-512 weight gradient's packing of g^T."""
    check_transpose(dtype, shifted=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_add_block_equals_numpy_transpose_plus_shift(dtype):
    """The forward convolution's store with its bias: each source row plus the shift vector."""
    check_transpose(dtype, shifted=True)
