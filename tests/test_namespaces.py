"""`import autograd_lite as torch` gives PyTorch's namespaces, as the same objects as the top-level
`nn`, `optim` and `ag.data`; `from autograd_lite import *` never shadows a builtin; `ag.autograd`
(grad, backward, Variable, functional) matches PyTorch."""
from __future__ import annotations

import builtins
import subprocess
import sys

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import optim


def test_nn_and_optim_are_the_top_level_packages():
    assert ag.nn is nn and ag.optim is optim
    assert ag.nn.functional is nn.functional and ag.nn.init is nn.init and ag.nn.utils is nn.utils
    assert ag.optim.lr_scheduler is optim.lr_scheduler
    import autograd_lite.nn as nn2
    import autograd_lite.nn.functional as functional
    from autograd_lite.nn import functional as F
    from autograd_lite.optim.lr_scheduler import StepLR
    from autograd_lite import nn as nn3
    assert nn2 is nn3 is nn and F is functional is nn.functional
    assert StepLR is optim.lr_scheduler.StepLR
    assert sys.modules["autograd_lite.nn.functional"] is nn.functional


def test_importing_autograd_lite_nn_first_in_a_fresh_process():
    # the alias must not depend on nn having been imported already (nn itself imports autograd_lite)
    code = ("import autograd_lite.nn as nn, autograd_lite as torch\n"
            "from autograd_lite.nn import functional as F\n"
            "import nn as top\n"
            "m = nn.Linear(2, 1); assert isinstance(m, top.Module) and F is top.functional\n"
            "assert torch.utils.data.DataLoader is torch.data.DataLoader\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_utils_data_is_ag_data():
    import autograd_lite.utils.data as data
    from autograd_lite.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
    assert data is ag.data and ag.utils.data is ag.data
    assert (DataLoader, Dataset, Subset, TensorDataset, random_split) == (
        ag.data.DataLoader, ag.data.Dataset, ag.data.Subset, ag.data.TensorDataset, ag.data.random_split)


def test_default_collation_of_tuples_and_dicts_matches_torch():
    class Pairs(ag.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": ag.tensor([float(i), 2.0 * i]), "y": i}, float(i)

    batch = next(iter(ag.utils.data.DataLoader(Pairs(), batch_size=3)))
    features, targets = batch
    assert isinstance(batch, (tuple, list)) and isinstance(features, dict)
    assert features["x"].shape == (3, 2) and features["y"].tolist() == [0, 1, 2]
    assert features["y"].dtype == np.int64 and targets.dtype == np.float32


def test_star_import_declares_all_and_shadows_no_builtin():
    namespace = {}
    exec("from autograd_lite import *", namespace)
    exported = set(namespace) - {"__builtins__"}
    assert exported == set(ag.__all__)
    assert not exported & set(dir(builtins)), exported & set(dir(builtins))
    for name in ("tensor", "zeros", "device", "cuda", "no_grad", "Tensor", "float32", "gather", "nn"):
        assert name in exported
    # the builtin-named ones stay reachable as attributes
    x = ag.tensor([[-1.0, 2.0], [3.0, -4.0]])
    assert ag.sum(x).item() == 0.0 and ag.max(x).item() == 3.0 and ag.abs(x).sum().item() == 10.0
    assert ag.float is ag.float32 and ag.long is ag.int64 and ag.bool is ag.bool_
    assert ag.all(x != 0).item() and ag.any(x > 2).item() and ag.round(x / 3).tolist() == [[-0.0, 1.0], [1.0, -1.0]]


def test_autograd_namespace_objects():
    assert ag.autograd.Function is ag.Function and ag.autograd.gradcheck is ag.gradcheck
    assert ag.autograd.gradgradcheck is ag.gradgradcheck and ag.autograd.no_grad is ag.no_grad
    v = ag.autograd.Variable(ag.tensor([1.0, 2.0]), requires_grad=True)
    assert isinstance(v, ag.Tensor) and v.requires_grad and isinstance(ag.zeros(1), ag.autograd.Variable)


def test_autograd_grad_accepts_only_inputs_allow_unused_and_materialize():
    x, y = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor(3.0, requires_grad=True)
    out = (x ** 2).sum()
    gx, gy = ag.autograd.grad(out, [x, y], only_inputs=True, allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0, 4.0] and gy is None
    _, gy = ag.autograd.grad(out, [x, y], materialize_grads=True)
    assert gy.tolist() == 0.0
    with pytest.raises(Exception, match="(?i)unused|not.*used|does not"):
        ag.autograd.grad((x ** 2).sum(), [x, y])


def test_autograd_backward_of_several_tensors_matches_torch():
    a = np.array([1.0, -2.0, 0.5])
    ours, theirs = ag.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ag.autograd.backward([(ours ** 2).sum(), ours * 3], [None, ag.tensor([1.0, 0.0, 2.0], dtype="double")])
    torch.autograd.backward([(theirs ** 2).sum(), theirs * 3],
                            [None, torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)])
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())


def _f(x, y):
    return (x.sin() * y).sum(), x * y.exp()


def _scalar(x, y):
    return (x ** 3 * y + (x * y).sin()).sum()


@pytest.mark.parametrize("create_graph", [False, True])
def test_functional_matches_torch(create_graph):
    rng = np.random.default_rng(0)
    xa, ya, va = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3)
    ours = [ag.tensor(a) for a in (xa, ya)]
    theirs = [torch.tensor(a) for a in (xa, ya)]
    F, TF = ag.autograd.functional, torch.autograd.functional

    def close(a, b):
        if isinstance(b, (tuple, list)):
            assert isinstance(a, tuple) and len(a) == len(b)
            for p, q in zip(a, b):
                close(p, q)
        else:
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)

    close(F.jacobian(_f, tuple(ours), create_graph=create_graph), TF.jacobian(_f, tuple(theirs)))
    close(F.jacobian(lambda x: x.exp(), ours[0]), TF.jacobian(lambda x: x.exp(), theirs[0]))
    close(F.hessian(_scalar, tuple(ours), create_graph=create_graph), TF.hessian(_scalar, tuple(theirs)))
    close(F.hessian(lambda x: (x ** 3).sum(), ours[0]), TF.hessian(lambda x: (x ** 3).sum(), theirs[0]))
    v = (ag.tensor(va), ag.tensor(va))
    tv = (torch.tensor(va), torch.tensor(va))
    close(F.vjp(lambda x: x.sin() * 2, ours[0], v[0]), TF.vjp(lambda x: x.sin() * 2, theirs[0], tv[0]))
    close(F.jvp(lambda x, y: x * y.exp(), tuple(ours), v), TF.jvp(lambda x, y: x * y.exp(), tuple(theirs), tv))
    close(F.hvp(_scalar, tuple(ours), v), TF.hvp(_scalar, tuple(theirs), tv))
    close(F.vhp(_scalar, tuple(ours), v), TF.vhp(_scalar, tuple(theirs), tv))


def test_functional_create_graph_gives_differentiable_results():
    x = ag.tensor([0.5, -1.0], dtype="double", requires_grad=True)
    hessian = ag.autograd.functional.hessian(lambda t: (t ** 4).sum(), x, create_graph=True)
    hessian.sum().backward()  # d/dx sum(diag(12 x^2)) = 24 x
    np.testing.assert_allclose(x.grad.numpy(), 24 * np.array([0.5, -1.0]))
    plain = ag.autograd.functional.jacobian(lambda t: t * 2, x)
    assert not plain.requires_grad


def test_functional_errors_name_the_problem():
    with pytest.raises(TypeError, match="inputs"):
        ag.autograd.functional.jacobian(lambda t: t, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="v may be omitted"):
        ag.autograd.functional.vjp(lambda t: t * 2, ag.ones(3))
