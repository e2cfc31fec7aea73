"""The GEMM micro-kernel has two shapes: all 8 rows of a tile at once with 64-byte vectors (AVX-512)
and two passes of 4 rows with 32-byte vectors (AVX2, ``simd.SPLIT_TILE``). The machine running the
suite compiles one of them; this file runs every kernel built on the micro-kernel (and Adam's
explicit vectors) with the other one (``AUTOGRAD_LITE_VECTOR_BYTES``) in a fresh process with its own Numba cache, against the NumPy
references, so both shapes are checked on any CPU (an AVX2 machine runs the 64-byte code through
LLVM's split registers: slow, but the same results)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autograd_lite.kernels import cache, simd

CHECK = textwrap.dedent("""
    import sys
    import numpy as np
    from autograd_lite.kernels import conv, matmul_numba, reference, simd, updates
    assert simd.REGISTER_BYTES == int(sys.argv[1]) and simd.SPLIT_TILE == (sys.argv[1] == "32")
    rng = np.random.default_rng(0)

    def close(actual, expected, dtype, scale):
        tolerance = (2e-5 if dtype == np.float32 else 1e-12) * scale
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)

    for dtype in (np.float32, np.float64):
        for rows, depth, cols in [(1, 1, 1), (9, 300, 17), (130, 70, 33), (64, 784, 128)]:
            a = rng.standard_normal((rows, depth)).astype(dtype)
            b = rng.standard_normal((depth, cols)).astype(dtype)
            close(matmul_numba.matmul(a, b), reference.matmul(a, b), dtype, depth ** 0.5)
        for shape, weight_shape, stride, padding in [
                ((3, 40, 9, 8), (9, 40, 3, 3), (1, 1), (1, 1)),     # two forward panels
                ((2, 2, 5, 5), (33, 2, 3, 3), (2, 2), (1, 1)),      # input grad via im2col
                ((5, 1, 12, 11), (7, 1, 3, 3), (1, 1), (0, 0)),     # shallow forward
                ((2, 17, 7, 9), (20, 17, 2, 3), (2, 1), (1, 2))]:   # input grad per tap
            x = rng.standard_normal(shape).astype(dtype)
            weight = rng.standard_normal(weight_shape).astype(dtype)
            out = conv.conv2d_forward(x, weight, stride, padding)
            close(out, reference.conv2d_forward(x, weight, stride, padding), dtype, 30)
            grad = rng.standard_normal(out.shape).astype(dtype)
            close(conv.conv2d_weight_grad(x, grad, weight.shape, stride, padding),
                  reference.conv2d_weight_grad(x, grad, weight.shape, stride, padding), dtype, 300)
            close(conv.conv2d_input_grad(grad, weight, x.shape, stride, padding),
                  reference.conv2d_input_grad(grad, weight, x.shape, stride, padding), dtype, 100)
        for size in (5, 70001):   # Adam's explicit vectors: the reference's bits
            ours = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
            ours[2] = np.abs(ours[2])
            theirs = [a.copy() for a in ours]
            grad = rng.standard_normal(size).astype(dtype)
            settings = (0.9, 0.999, 1e-8, 1e-2, 0.03)
            updates.adam_update(ours[0], grad, ours[1], ours[2], None, None, *settings)
            reference.adam_update(theirs[0], grad, theirs[1], theirs[2], None,
                                  np.empty_like(grad), *settings)
            for mine, expected in zip(ours, theirs):
                assert mine.tobytes() == expected.tobytes()
    print("ok")
""")


def test_this_process_compiles_for_its_cpu():
    assert simd.REGISTER_BYTES in (32, 64)
    assert simd.SPLIT_TILE == (simd.REGISTER_BYTES == 32)
    assert simd.lanes(np.float32) == simd.REGISTER_BYTES // 4
    assert simd.lanes(np.float64) == simd.REGISTER_BYTES // 8


def test_kernels_equal_references_with_the_other_vector_width(tmp_path):
    other = "32" if simd.REGISTER_BYTES == 64 else "64"
    env = dict(os.environ, AUTOGRAD_LITE_VECTOR_BYTES=other, NUMBA_CACHE_DIR=str(tmp_path),
               AUTOGRAD_LITE_COMPILE="eager")
    done = subprocess.run([sys.executable, "-c", CHECK, other], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_a_wrong_vector_width_setting_is_refused():
    env = dict(os.environ, AUTOGRAD_LITE_VECTOR_BYTES="48")
    done = subprocess.run([sys.executable, "-c", "import autograd_lite.kernels.simd"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "AUTOGRAD_LITE_VECTOR_BYTES must be 32 or 64, not '48'" in done.stderr


def test_kernels_cached_for_one_vector_width_are_dropped_for_the_other(tmp_path):
    """The width is baked into the compiled kernels; the cache stamp includes it."""
    (tmp_path / "gemm.tile-10.py311.nbi").write_text("compiled for 64-byte vectors")
    assert cache.drop_stale_cache(str(tmp_path), "vector bytes 64")
    (tmp_path / "gemm.tile-10.py311.nbi").write_text("compiled for 64-byte vectors")
    assert not cache.drop_stale_cache(str(tmp_path), "vector bytes 64")
    assert cache.drop_stale_cache(str(tmp_path), "vector bytes 32")
    assert not (tmp_path / "gemm.tile-10.py311.nbi").exists()


@pytest.mark.parametrize("features, expected", [("+avx2,+fma,+avx512f", "64"),
                                                ("+avx2,+fma,-avx512f", "32")])
def test_the_width_follows_numba_cpu_features(features, expected, tmp_path):
    env = dict(os.environ, NUMBA_CPU_FEATURES=features, NUMBA_CPU_NAME="generic",
               NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("AUTOGRAD_LITE_VECTOR_BYTES", None)
    done = subprocess.run([sys.executable, "-c", "from autograd_lite.kernels import simd; "
                           "print(simd.REGISTER_BYTES)"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == expected
