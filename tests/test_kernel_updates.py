"""The optimizers' update kernels (``kernels.optimizer_updates``, ``kernels.updates``) give their
references' bits, the dispatch takes the path it says, BLAS's axpy rounds once and refuses what it
cannot update in place, and an MLP's updates never import Numba."""
import numpy as np
import pytest

from autograd_lite import kernels
from autograd_lite.kernels import reference


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
            updates.sgd_update(ours, grad, lr)
            reference.sgd_update(theirs, grad, lr)
        np.testing.assert_array_equal(ours.view(np.uint8), theirs.view(np.uint8))


def test_update_dispatch_takes_blas_for_small_and_numpy_for_mixed_arrays(eager):
    """One-pass SGD serves float arrays of one shape, dtype and layout from SGD_MIN_SIZE
    elements; BLAS's axpy those below; NumPy's formula (rounded twice) anything else."""
    kernels._modules()  # as after a first convolution: the process uses Numba kernels
    before = kernels.paths().get("sgd_update", {})
    param = np.ones(kernels.SGD_MIN_SIZE, np.float32)
    kernels.sgd_update(param, np.full_like(param, 2.0), 0.5)
    kernels.sgd_update(param[:10], np.ones(10, np.float32), 0.5)
    kernels.sgd_update(param, np.ones(param.size, np.float64), 0.5)
    kernels.sgd_update(param[::2], np.ones(param.size // 2, np.float32), 0.5)  # a strided view
    after = kernels.paths()["sgd_update"]
    assert {path: after.get(path, 0) - before.get(path, 0) for path in after} == {
        "numba": 1, "blas": 1, "numpy": 2}
    assert param[0] == -1.5 and param[1] == -1.0 and param[-2] == -1.0 and param[-1] == -0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_axpy_rounds_once_and_refuses_what_it_cannot_do_in_place(dtype):
    """blas.axpy: y + alpha x rounded once per element, in place. With e = eps,
    (1 + e)(1 + e) - (1 + 2e) is e^2 exactly, where rounding the product first gives 0. False,
    y untouched, for another dtype, shape or layout, or a read-only y."""
    from autograd_lite.kernels import blas
    eps = np.finfo(dtype).eps
    x = np.full(20001, 1 + eps, dtype)  # three pieces (blas.AXPY_PIECE)
    y = np.full(20001, -(1 + 2 * eps), dtype)
    assert ((1 + eps) * x[0] + y[0]) == 0  # NumPy's two roundings
    assert blas.axpy(1 + eps, x, y)
    np.testing.assert_array_equal(y, dtype(eps) * dtype(eps))
    other = np.float64 if dtype == np.float32 else np.float32
    for bad_x, bad_y in ((x.astype(other), y.copy()), (x[:100], y.copy()),
                         (x[::2].copy(), y.copy()[::2]), (x[:20000].reshape(100, 200),
                                                          y[:20000].copy().reshape(200, 100).T)):
        before = bad_y.copy()
        assert not blas.axpy(0.5, bad_x, bad_y)
        np.testing.assert_array_equal(bad_y, before)
    frozen = y.copy()
    frozen.flags.writeable = False
    assert not blas.axpy(0.5, x, frozen)


def test_sgd_update_without_scipys_blas_falls_back_to_numpys_two_roundings(monkeypatch):
    """Where SciPy's BLAS cannot be loaded, blas.axpy says so and the update is NumPy's
    p - (g lr), rounded twice: still done, in place."""
    from autograd_lite.kernels import blas
    monkeypatch.setattr(blas, "_axpy_functions", {None: None})  # as after a failed import
    eps = np.finfo(np.float32).eps
    param = np.full(5, -(1 + 2 * eps), np.float32)
    assert not blas.axpy(1 + eps, np.full(5, 1 + eps, np.float32), param.copy())
    kernels.sgd_update(param, np.full(5, 1 + eps, np.float32), -(1 + eps))
    np.testing.assert_array_equal(param, 0.0)  # the product rounded first: e^2 lost


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
    assert done.stdout.split() == ["False", "{'numba':", "0,", "'numpy':", "0,", "'blas':", "8}",
                                   "{'numba':", "0,", "'numpy':", "8}"], done.stdout   # 4 parameters, 2 steps
