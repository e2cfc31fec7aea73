"""The Numba kernels run as plain Python under NUMBA_DISABLE_JIT=1 (how one debugs them) and still
equal their NumPy references. A subprocess is needed: the variable is read when Numba is imported."""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np
    import numba
    assert numba.config.DISABLE_JIT
    from autograd_lite.kernels import (conv, conv_input, conv_weight_shallow, elementwise,
                                       matmul_numba, pool, reference)
    from autograd_lite.kernels.gemm import micro_kernel
    assert not hasattr(micro_kernel, "py_func"), "the kernels were compiled"
    rng = np.random.default_rng(0)
    checked = 0
    for dtype in (np.float32, np.float64):
        tol = 1e-4 if dtype == np.float32 else 1e-12
        a = rng.standard_normal((9, 5)).astype(dtype)
        b = rng.standard_normal((5, 35)).astype(dtype)
        np.testing.assert_allclose(matmul_numba.matmul(a, b), a @ b, rtol=tol, atol=tol)
        np.testing.assert_allclose(matmul_numba.matmul(b.T, a.T), b.T @ a.T, rtol=tol, atol=tol)
        x = rng.standard_normal((2, 4, 5, 4)).astype(dtype)
        w = rng.standard_normal((3, 4, 3, 2)).astype(dtype)
        for stride, padding, channels in (((1, 1), (0, 0), 4), ((2, 1), (1, 1), 2)):
            x, w = x[:, :channels], w[:, :channels]  # K = 24: general kernels; K = 12: shallow
            y = conv.conv2d_forward(x, w, stride, padding)
            np.testing.assert_allclose(y, reference.conv2d_forward(x, w, stride, padding),
                                       rtol=tol, atol=tol)
            g = rng.standard_normal(y.shape).astype(dtype)
            np.testing.assert_allclose(conv.conv2d_weight_grad(x, g, w.shape, stride, padding),
                                       reference.conv2d_weight_grad(x, g, w.shape, stride, padding),
                                       rtol=tol, atol=tol)
            np.testing.assert_allclose(conv.conv2d_input_grad(g, w, x.shape, stride, padding),
                                       reference.conv2d_input_grad(g, w, x.shape, stride, padding),
                                       rtol=tol, atol=tol)
            np.testing.assert_allclose(conv.conv2d_bias_grad(g), reference.conv2d_bias_grad(g),
                                       rtol=tol, atol=tol)
            for fused, expected in zip(conv.conv2d_weight_grad(x, g, w.shape, stride, padding,
                                                               with_bias=True),
                                       reference.conv2d_weight_grad(x, g, w.shape, stride,
                                                                    padding, with_bias=True)):
                np.testing.assert_allclose(fused, expected, rtol=tol, atol=tol)
            checked += 1
            np.testing.assert_allclose(  # the per-tap kernel (dispatch picks im2col for few channels)
                conv_input.input_grad(g, np.ascontiguousarray(w), x.shape, stride, padding, 3, 2),
                reference.conv2d_input_grad(g, w, x.shape, stride, padding), rtol=tol, atol=tol)
            checked += 5
        x4 = rng.standard_normal((2, 4, 6, 6)).astype(dtype)   # 16 pixels and 18 filters: the
        w4 = rng.standard_normal((18, 4, 3, 3)).astype(dtype)  # forward's whole transposed blocks
        b4 = rng.standard_normal(18).astype(dtype)             # and what they leave, with a bias
        np.testing.assert_allclose(conv.conv2d_forward(x4, w4, (1, 1), (0, 0), b4),
                                   reference.conv2d_forward(x4, w4, (1, 1), (0, 0), b4),
                                   rtol=tol, atol=tol)
        checked += 1
        x1, w1 = x[:, :1], rng.standard_normal((5, 1, 3, 3)).astype(dtype)  # K = 9, 2 workers
        g = rng.standard_normal((2, 5, 3, 1)).astype(dtype)                 # stride (1, 2)
        np.testing.assert_allclose(
            conv_weight_shallow.weight_grad(np.ascontiguousarray(x1).reshape(-1), g, w1.shape,
                                            x1.shape, (1, 2), 2),
            reference.conv2d_weight_grad(x1, g, w1.shape, (1, 2), (0, 0)), rtol=tol, atol=tol)
        checked += 1
        wide = rng.standard_normal((2, 1, 6, 20)).astype(dtype)  # rows of a vector or more: the
        filters = rng.standard_normal((5, 1, 3, 3)).astype(dtype)  # shallow forward's direct kernel
        for stride in ((1, 1), (1, 2)):
            np.testing.assert_allclose(conv.conv2d_forward(wide, filters, stride, (1, 1)),
                                       reference.conv2d_forward(wide, filters, stride, (1, 1)),
                                       rtol=tol, atol=tol)
            checked += 1
        out, argmax = pool.max_pool2d_forward(x, (2, 2), (1, 2), (1, 1))
        ref_out, ref_argmax = reference.max_pool2d_forward(x, (2, 2), (1, 2), (1, 1))
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(argmax, ref_argmax)
        np.testing.assert_allclose(pool.max_pool2d_backward(out, argmax, x.shape),
                                   reference.max_pool2d_backward(out, argmax, x.shape))
        mask = ~(x <= 0)
        np.testing.assert_allclose(pool.max_pool2d_backward_masked(out, argmax, x.shape, mask),
                                   reference.max_pool2d_backward_masked(out, argmax, x.shape, mask))
        np.testing.assert_allclose(pool.avg_pool2d_backward(out, x.shape, (2, 2), (1, 2), (1, 1)),
                                   reference.avg_pool2d_backward(out, x.shape, (2, 2), (1, 2),
                                                                 (1, 1)), rtol=tol, atol=tol)
        checked += 5
        y = np.round(rng.standard_normal((2, 3, 7, 9)) * 2).astype(dtype)  # the vector 2x2 kernel
        y[y < -2], y[0, 1, :3, :5] = -np.inf, np.nan                       # and its scalar end
        out, argmax = pool.max_pool2d_forward(y, (2, 2), (2, 2), (0, 0))
        ref_out, ref_argmax = reference.max_pool2d_forward(y, (2, 2), (2, 2), (0, 0))
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(argmax, ref_argmax)
        checked += 1
        v = rng.standard_normal(40).astype(dtype)
        v[::5] = np.nan
        out, mask = elementwise.relu_forward(v)
        ref_out, ref_mask = reference.relu_forward(v)
        np.testing.assert_array_equal(out, ref_out)
        np.testing.assert_array_equal(mask, ref_mask)
        np.testing.assert_array_equal(elementwise.mask_select(v, mask), reference.mask_select(v, mask))
        np.testing.assert_array_equal(elementwise.mask_select_in_place(v.copy(), mask),
                                      reference.mask_select(v, mask))
        checked += 3
    print("checked", checked)
""")


def test_kernels_equal_references_with_jit_disabled():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checked 50" in result.stdout
