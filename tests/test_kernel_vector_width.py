"""The GEMM micro-kernel has two shapes: all 12 rows of a tile at once with 64-byte vectors
(AVX-512) and two passes of 6 rows with 32-byte vectors (AVX2, ``simd.SPLIT_TILE``). The machine
running the suite compiles one of them; this file reruns the tests of test_kernels.py and
test_kernels_conv.py of every kernel built on the micro-kernel (and of the other kernels' explicit
vectors) with the other one
(``AUTOGRAD_LITE_VECTOR_BYTES``), in a fresh process with its own Numba cache, so both shapes are
checked against the NumPy references on any CPU (an AVX2 machine runs the 64-byte code through
LLVM's split registers: slow, but the same results)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from autograd_lite.kernels import cache, simd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# test_kernels(_conv).py's tests of every micro-kernel client (matmul, convolution forward and both
# gradients on shapes that take every path, the shallow forwards) and of the other kernels'
# explicit vectors (updates, 2x2 max pooling, the shallow filters' weight gradient)
SELECTED = ("matmul_equals_reference or several_depth_panels or conv_kernels_on_large_shapes "
            "or shallow_forward or adam_kernel or sgd_kernel or max_pool_2x2 "
            "or shallow_weight_grad or transpose_block or transpose_add_block")


def test_this_process_compiles_for_its_cpu():
    assert simd.REGISTER_BYTES in (32, 64)
    assert simd.SPLIT_TILE == (simd.REGISTER_BYTES == 32)
    assert simd.lanes(np.float32) == simd.REGISTER_BYTES // 4
    assert simd.lanes(np.float64) == simd.REGISTER_BYTES // 8


def test_kernels_equal_references_with_the_other_vector_width(tmp_path):
    other = "32" if simd.REGISTER_BYTES == 64 else "64"
    env = dict(os.environ, AUTOGRAD_LITE_VECTOR_BYTES=other, NUMBA_CACHE_DIR=str(tmp_path),
               AUTOGRAD_LITE_COMPILE="eager")
    width = subprocess.run([sys.executable, "-c", "from autograd_lite.kernels import simd; "
                            "print(simd.REGISTER_BYTES, simd.SPLIT_TILE)"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert width.stdout.split() == [other, str(other == "32")], width.stderr[-2000:]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           os.path.join(ROOT, "tests", "test_kernels.py"),
                           os.path.join(ROOT, "tests", "test_kernels_conv.py"), "-k", SELECTED],
                          env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


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
