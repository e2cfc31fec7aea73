"""What the kernel tests share (test_kernels.py, test_kernels_conv.py): hypothesis settings, a
float tolerance, both thread paths, and drawn memory layouts."""
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
