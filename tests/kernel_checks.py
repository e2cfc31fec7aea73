"""What the kernel tests share (test_kernels.py, test_kernels_conv.py, test_kernel_threads.py,
test_kernel_blas.py): hypothesis settings, a float tolerance, both thread paths, drawn memory
layouts, a fresh Python process, and a count of a function's calls."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from hypothesis import settings, strategies as st

from autograd_lite.kernels import threads

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


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code, extra_env=None):
    """Run ``code`` (dedented) in a fresh Python process on this checkout; its last line of output,
    read as JSON."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("AUTOGRAD_LITE_KERNELS", None)
    env.update(extra_env or {})
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def counted_calls(monkeypatch, owner, name, record=lambda *args: True):
    """``owner.name`` replaced, for the test, by a wrapper that appends ``record(*args)`` to the
    returned list before each call."""
    calls = []
    real = getattr(owner, name)

    def counted(*args):
        calls.append(record(*args))
        return real(*args)
    monkeypatch.setattr(owner, name, counted)
    return calls
