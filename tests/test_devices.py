"""Devices as PyTorch code names them (the CPU only, GPUs refused with a clear error), factories with
PyTorch's keywords, ag.Generator, default dtype, legacy type constructors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn

GPU_ERROR = r"CPU \(NumPy\) only.*device=\"cpu\""


def test_device_objects_behave_like_torch():
    for spec in ("cpu", "cpu:0"):
        ours, theirs = ag.device(spec), torch.device(spec)
        assert (ours.type, ours.index) == (theirs.type, theirs.index)
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        assert ours == spec and ours == ag.device(spec) and hash(ours) == hash(ag.device(spec))
    assert ag.device("cpu", 0) == ag.device("cpu:0") != ag.device("cpu")
    assert ag.device(ag.device("cpu")) == "cpu"
    assert ag.device("cuda").type == "cuda"  # naming is fine (boilerplate does it); using it is not
    with pytest.raises(RuntimeError, match="device type"):
        ag.device("gpu")


def test_accelerator_queries_say_there_is_none():
    assert ag.cuda.is_available() is False and ag.cuda.device_count() == 0
    assert ag.backends.mps.is_available() is False and ag.backends.mps.is_built() is False
    ag.backends.cudnn.deterministic = True
    ag.backends.cudnn.benchmark = False
    assert ag.accelerator.is_available() is False and ag.accelerator.current_accelerator() is None
    ag.cuda.manual_seed_all(0)  # harmless, as on a machine without a GPU
    from autograd_lite.backends import cudnn
    import autograd_lite.cuda
    assert cudnn is ag.backends.cudnn and autograd_lite.cuda is ag.cuda
    device = ag.device("cuda" if ag.cuda.is_available() else "cpu")
    assert device == "cpu" and ag.zeros(2, device=device).device == device
    ag.set_default_device("cpu")
    assert ag.get_default_device() == "cpu"
    with pytest.raises(RuntimeError, match=GPU_ERROR):
        ag.set_default_device("cuda")


@pytest.mark.parametrize("ask", [
    lambda: ag.zeros(2, device="cuda"), lambda: ag.tensor([1.0], device=ag.device("cuda:0")),
    lambda: ag.ones(2).cuda(), lambda: ag.ones(2).to("cuda"), lambda: ag.ones(2).to("mps"),
    lambda: ag.randn(2, device="mps"), lambda: nn.Linear(2, 2).cuda(), lambda: nn.Linear(2, 2).to("cuda"),
    lambda: ag.ones(2).to(device="cuda:1"), lambda: ag.arange(3, device="cuda"),
])
def test_asking_for_a_gpu_says_what_to_write(ask):
    with pytest.raises(RuntimeError, match="CPU .*only") as error:
        ask()
    assert 'device="cpu"' in str(error.value) and "torch.cuda.is_available()" in str(error.value)


def test_to_cpu_and_type_like_torch():
    x = ag.tensor([1.5, -2.0])
    assert x.to(ag.device("cpu")) is x and x.cpu() is x and x.device == ag.device("cpu")
    assert x.is_cuda is False and str(x.device) == "cpu"
    assert x.to("cpu", ag.float64).dtype == np.float64 and x.to(ag.int64).tolist() == [1, -2]
    assert x.type() == torch.tensor([1.5]).type() == "torch.FloatTensor"
    assert x.double().type() == "torch.DoubleTensor" and x.long().type() == "torch.LongTensor"
    assert x.type(ag.float64).dtype == np.float64 and x.type("torch.LongTensor").dtype == np.int64
    assert x.type(ag.DoubleTensor).dtype == np.float64
    model = nn.Linear(2, 1)
    assert model.to(ag.device("cpu")) is model and model.cpu() is model


def test_factories_accept_torch_keywords():
    g = ag.Generator().manual_seed(3)
    checks = [
        (ag.zeros(size=(2, 3), dtype=ag.float64, device="cpu"), torch.zeros(size=(2, 3), dtype=torch.float64)),
        (ag.ones([2], requires_grad=True), torch.ones([2], requires_grad=True)),
        (ag.full((2, 2), 7), torch.full((2, 2), 7)), (ag.full((1,), True), torch.full((1,), True)),
        (ag.full((2,), 1.5, dtype=ag.float64), torch.full((2,), 1.5, dtype=torch.float64)),
        (ag.arange(1, 4, 0.5), torch.arange(1, 4, 0.5)), (ag.arange(5), torch.arange(5)),
        (ag.linspace(0, 1, steps=5), torch.linspace(0, 1, steps=5)),
        (ag.logspace(0, 2, 3), torch.logspace(0, 2, 3)),
        (ag.logspace(0, 3, 4, base=2.0), torch.logspace(0, 3, 4, base=2.0)),
        (ag.eye(2, 3, dtype=ag.int64), torch.eye(2, 3, dtype=torch.int64)),
        (ag.empty(2, 3).shape, torch.empty(2, 3).shape),
        (ag.zeros_like(ag.ones(2, dtype=ag.int32)), torch.zeros_like(torch.ones(2, dtype=torch.int32))),
        (ag.full_like(ag.ones(2), 3, device="cpu"), torch.full_like(torch.ones(2), 3)),
        (ag.randint(0, 10, (3,), generator=g).dtype, torch.randint(0, 10, (3,)).dtype),
        (ag.randint(5, size=(2,)).shape, torch.randint(5, size=(2,)).shape),
    ]
    for ours, theirs in checks:
        if isinstance(theirs, torch.Tensor):
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
            assert ours.requires_grad == theirs.requires_grad
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
        else:
            assert str(ours) == str(theirs).replace("torch.", "") or ours == tuple(theirs)


def test_generators_make_independent_reproducible_streams():
    first = ag.randn(4, generator=ag.Generator().manual_seed(7))
    again = ag.randn(4, generator=ag.Generator().manual_seed(7))
    assert first.tolist() == again.tolist()
    g = ag.Generator()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    state = g.get_state()
    a = ag.rand(3, generator=g)
    g.set_state(state)
    assert ag.rand(3, generator=g).tolist() == a.tolist()
    loader = ag.utils.data.DataLoader(ag.utils.data.TensorDataset(ag.arange(6)), batch_size=6, shuffle=True,
                                      generator=ag.Generator().manual_seed(1))
    again = ag.utils.data.DataLoader(ag.utils.data.TensorDataset(ag.arange(6)), batch_size=6, shuffle=True,
                                     generator=ag.Generator().manual_seed(1))
    assert next(iter(loader))[0].tolist() == next(iter(again))[0].tolist()
    parts = ag.utils.data.random_split(range(10), [7, 3], generator=ag.Generator().manual_seed(0))
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


def test_out_argument_receives_the_result():
    out = ag.empty(2, 2)
    result = ag.zeros(2, 2, out=out)
    assert result is out and out.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    resized = ag.empty(1)
    ag.arange(4, out=resized)
    assert resized.shape == (4,)
    target = ag.empty(3)
    assert ag.add(ag.ones(3), ag.ones(3), alpha=2, out=target) is target and target.tolist() == [3.0] * 3
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        ag.mul(ag.ones(2), 2, out=ag.zeros(2, requires_grad=True))


def test_default_dtype():
    assert ag.get_default_dtype() == ag.float32 and torch.get_default_dtype() == torch.float32
    try:
        ag.set_default_dtype(ag.float64)
        assert ag.tensor([1.5]).dtype == np.float64 and ag.zeros(2).dtype == np.float64
        assert ag.randn(2).dtype == np.float64 and (ag.tensor([1]) / 2).dtype == np.float64
    finally:
        ag.set_default_dtype(ag.float32)
    assert ag.tensor([1.5]).dtype == np.float32
    with pytest.raises(TypeError, match="float32 and float64"):
        ag.set_default_dtype(ag.int64)


def test_dtypes_compare_like_torch_dtypes():
    x = ag.zeros(2)
    assert x.dtype == ag.float32 and x.dtype == ag.float and x.double().dtype == ag.float64
    assert ag.zeros(1, dtype=ag.long).dtype == ag.int64 and ag.is_tensor(x) and ag.numel(ag.zeros(2, 3)) == 6
    assert isinstance(x, ag.Tensor) and ag.from_numpy(np.ones(2)).dtype == ag.float64


def test_legacy_tensor_types():
    assert ag.FloatTensor([1, 2]).dtype == np.float32 and ag.LongTensor([1.0]).dtype == np.int64
    assert ag.FloatTensor(2, 3).shape == (2, 3) and ag.DoubleTensor(2).dtype == np.float64
    assert ag.BoolTensor([1, 0]).tolist() == [True, False] and ag.IntTensor([3]).dtype == np.int32
    assert isinstance(ag.zeros(1), ag.FloatTensor) and not isinstance(ag.zeros(1), ag.LongTensor)
