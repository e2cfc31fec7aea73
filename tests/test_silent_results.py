"""Results that used to be silently wrong, each checked against PyTorch: activations on -inf, inf
and NaN (values and gradients), std() of a constant, .grad assignment of the wrong shape or dtype,
integers beyond int64, writes through .numpy() between forward and backward. (Edge cases found
against PyTorch in session 18: ``test_pytorch_edge_cases.py``.)"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F

SPECIAL = [-math.inf, -1.0, 0.0, 1.0, math.inf, math.nan]

# name: (ours, PyTorch's)
ACTIVATIONS = {
    "Tensor.relu": (lambda x: x.relu(), torch.relu),
    "F.relu": (F.relu, torch.nn.functional.relu),
    "nn.ReLU": (nn.ReLU(), torch.nn.ReLU()),
    "LeakyReLU": (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
    "F.leaky_relu": (F.leaky_relu, torch.nn.functional.leaky_relu),
    "ELU": (nn.ELU(alpha=0.7), torch.nn.ELU(alpha=0.7)),
    "SELU": (nn.SELU(), torch.nn.SELU()),
    "Softplus": (nn.Softplus(), torch.nn.Softplus()),
    "Softplus(beta=2)": (nn.Softplus(beta=2.0, threshold=5.0), torch.nn.Softplus(beta=2.0, threshold=5.0)),
    "GELU": (nn.GELU(), torch.nn.GELU()),
    "GELU(tanh)": (nn.GELU("tanh"), torch.nn.GELU("tanh")),
    "SiLU": (nn.SiLU(), torch.nn.SiLU()),
    "Sigmoid": (nn.Sigmoid(), torch.nn.Sigmoid()),
    "Tensor.sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "Tanh": (nn.Tanh(), torch.nn.Tanh()),
    "Tensor.tanh": (lambda x: x.tanh(), torch.tanh),
}


def _compare(ours, theirs, dtype):
    x = ag.tensor(np.array(SPECIAL, dtype=dtype), requires_grad=True)
    y = ours(x)
    y.backward(ag.ones(len(SPECIAL), dtype=dtype))
    # PyTorch in float64, rounded to the dtype: its float32 vector kernels differ between CPUs at
    # the infinities (on AVX-512, 2.13's float32 GELU gives NaN for GELU(inf) = inf).
    reference = torch.tensor(SPECIAL, dtype=torch.float64, requires_grad=True)
    expected = theirs(reference)
    expected.backward(torch.ones(len(SPECIAL), dtype=reference.dtype))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy().astype(dtype),
                               rtol=rtol, atol=0, err_msg="forward")
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy().astype(dtype), rtol=rtol,
                               atol=0, err_msg="gradient")
    assert y.dtype == dtype and x.grad.dtype == dtype


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "Tensor.relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_matches_pytorch_on_infinities_and_nan(name, dtype):
    _compare(*ACTIVATIONS[name], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_relu_of_minus_inf_and_nan_matches_pytorch(dtype):
    """``Tensor.relu`` and ``nn.ReLU`` agree with each other and with PyTorch: relu(-inf) = 0,
    relu(NaN) = NaN with gradient 1 at NaN... as PyTorch computes it."""
    _compare(*ACTIVATIONS["Tensor.relu"], dtype)
    assert ag.tensor([-math.inf, 1.0]).relu().tolist() == [0.0, 1.0]


# ----------------------------------------------------------------------------- std of a constant
@pytest.mark.parametrize("dim,correction", [(None, 1), (1, 1), (0, 0), ((0, 1), 1)])
def test_std_of_a_constant_has_gradient_zero_like_pytorch(dim, correction):
    data = np.array([[2.0, 2.0, 2.0], [1.0, 3.0, 5.0]])
    if dim == 0:
        data = np.full((2, 3), 4.0)
    x = ag.tensor(data, requires_grad=True)
    reference = torch.tensor(data, requires_grad=True)
    kwargs = {} if dim is None else {"dim": dim}
    y = x.std(correction=correction, **kwargs)
    expected = reference.std(correction=correction, **kwargs)
    y.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert np.isfinite(x.grad.numpy()).all()


def test_std_second_derivative_of_a_partly_constant_input_matches_pytorch():
    data = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    x = ag.tensor(data, requires_grad=True)
    reference = torch.tensor(data, requires_grad=True)
    weights = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, -3.0]])
    grad, = ag.grad(x.std(1).sum(), x, create_graph=True)
    second, = ag.grad((grad * ag.tensor(weights)).sum(), x)
    torch_grad, = torch.autograd.grad(reference.std(1).sum(), reference, create_graph=True)
    torch_second, = torch.autograd.grad((torch_grad * torch.tensor(weights)).sum(), reference)
    np.testing.assert_allclose(second.numpy(), torch_second.numpy(), rtol=1e-10, atol=1e-12)
    assert ag.gradcheck(lambda t: t.std(1), (ag.tensor(data[:1], requires_grad=True),))


def test_std_gradient_is_still_right_for_varying_input():
    assert ag.gradgradcheck(lambda t: t.std(0, correction=0),
                            (ag.tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True),))


# ----------------------------------------------------------------------------- .grad assignment
def test_grad_of_the_wrong_shape_is_refused_on_assignment_like_pytorch():
    p = ag.zeros(3, 2, requires_grad=True)
    reference = torch.zeros(3, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient of size '\[2\]' to a "
                                           r"tensor of size '\[3, 2\]'"):
        reference.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match=r"attempting to assign a gradient of size \[2\] to a "
                                           r"tensor of size \[3, 2\]"):
        p.grad = ag.ones(2)
    assert p.grad is None


def test_grad_of_the_wrong_dtype_or_type_is_refused():
    p = ag.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient with dtype float64 to a "
                                           "tensor with dtype float32"):
        p.grad = ag.ones(3, dtype=ag.float64)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but got grad "
                                        "of type ndarray"):
        p.grad = np.ones(3, np.float32)
    p.grad = ag.ones(3)
    assert p.grad.tolist() == [1.0, 1.0, 1.0]
    p.grad = None
    assert p.grad is None


def test_optimizers_and_backward_still_fill_grad():
    import optim
    layer = nn.Linear(3, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer(ag.ones(4, 3)).sum().backward()
    assert layer.weight.grad.shape == (2, 3) and layer.bias.grad.tolist() == [4.0, 4.0]
    opt.step()
    opt.zero_grad()
    assert layer.weight.grad is None


# ----------------------------------------------------------------------------- integers
@pytest.mark.parametrize("data", [[2 ** 63], 2 ** 63, [[1, 2 ** 70]], [-1, 2 ** 63], [-2 ** 63 - 1]])
def test_integers_beyond_int64_raise_instead_of_wrapping_like_pytorch(data):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        torch.tensor(data)
    with pytest.raises(OverflowError, match=r"Overflow when unpacking long long.*fit int64"):
        ag.tensor(data)
    with pytest.raises(ValueError, match="Overflow"):  # PyTorch's exception type catches it too
        ag.tensor(data)


@pytest.mark.parametrize("data,kwargs", [([2 ** 63 - 1, -2 ** 63], {}), ([2 ** 63], {"dtype": ag.float64}),
                                         ([2 ** 70, 1.5], {}), ([-1.0, 2 ** 63], {})])
def test_integers_at_the_int64_limits_or_asked_as_floats_are_kept(data, kwargs):
    torch_kwargs = {"dtype": torch.float64} if kwargs else {}
    expected = torch.tensor(data, **torch_kwargs)
    ours = ag.tensor(data, **kwargs)
    assert ours.tolist() == expected.tolist()
    assert str(ours.dtype) == str(expected.dtype).replace("torch.", "")


# ----------------------------------------------------------------- writes through .numpy()
def _weight_and_input():
    return ag.tensor([1.0, 2.0, 3.0], requires_grad=True), ag.tensor([1.0, 1.0, 1.0])


def test_numpy_write_after_forward_raises_at_backward():
    w, x = _weight_and_input()
    loss = (w * x).sum()
    x.numpy()[0] = 5  # the case: PyTorch gives w.grad = [5, 1, 1] silently
    with pytest.raises(RuntimeError, match=r"changed through the array that \.numpy\(\) returned"):
        loss.backward()


def test_numpy_write_through_an_array_taken_before_forward_raises():
    w, x = _weight_and_input()
    array = x.numpy()
    loss = (w * x).sum()
    array[1] = 7
    with pytest.raises(RuntimeError, match=r"Mul .*shape \(3,\)"):
        loss.backward()


def test_numpy_write_through_detach_of_an_intermediate_raises():
    w, _ = _weight_and_input()
    h = w * 2
    loss = (h * h).sum()
    h.detach().numpy()[2] = 100
    with pytest.raises(RuntimeError, match=r"\.numpy\(\)"):
        loss.backward()


def test_numpy_reads_and_writes_between_steps_are_fine():
    """Reading the array, and refilling it before the next forward (a reused input buffer), are
    legitimate: gradients equal PyTorch's for the values each forward saw."""
    w, x = _weight_and_input()
    array = x.numpy()
    for values in ([1.0, 1.0, 1.0], [2.0, -1.0, 0.5]):
        array[:] = values
        loss = (w * x).sum()
        _ = x.numpy().sum()  # reading between forward and backward
        w.grad = None
        loss.backward()
        tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (tw * torch.tensor(values)).sum().backward()
        np.testing.assert_allclose(w.grad.detach().numpy(), tw.grad.numpy())


# ----------------------------------------------------------------- how long an export is watched
def _counted_checksums(monkeypatch):
    from autograd_lite import exported
    calls = []
    original = exported.checksum
    monkeypatch.setattr(exported, "checksum", lambda array: calls.append(1) or original(array))
    return calls


def test_an_export_dropped_before_training_costs_no_fingerprints(monkeypatch):
    """Plotting the weights (t.numpy(), the array then dropped) must not make every later step
    fingerprint them: a step after that computes no checksum, and its gradients are right."""
    w = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = ag.tensor([[1.0, -1.0]])
    _ = w.detach().numpy().sum()  # exported, and dropped
    calls = _counted_checksums(monkeypatch)
    for _ in range(3):
        w.grad = None
        (x @ w).sum().backward()
        with ag.no_grad():
            w.sub_(0.1 * w.grad)
    assert calls == []
    np.testing.assert_allclose(w.grad.detach().numpy(), [[1.0, 1.0], [-1.0, -1.0]])


def test_a_write_through_an_export_alive_at_the_save_is_found_after_the_array_is_dropped():
    w, x = _weight_and_input()
    array = x.numpy()
    loss = (w * x).sum()      # saved while the export is alive: its own fingerprint
    array[0] = 5
    del array
    (w * x).sum()             # another save, after every exported array is gone
    with pytest.raises(RuntimeError, match=r"changed through the array that \.numpy\(\) returned"):
        loss.backward()


def test_a_write_through_an_export_made_after_a_save_is_found_across_later_exports():
    w, x = _weight_and_input()
    _ = x.numpy()             # an export, dropped: its epoch ends
    loss = (w * x).sum()      # saved while no export is alive
    array = x.numpy()         # the first export after the save holds the bytes the save saw
    array[1] = 7
    del array
    _ = x.numpy()             # a later epoch starts from the written bytes
    with pytest.raises(RuntimeError, match=r"Mul .*shape \(3,\)"):
        loss.backward()


def test_a_view_of_an_export_keeps_it_watched():
    w, x = _weight_and_input()
    view = x.numpy()[1:]      # the array itself is dropped at once; its view lives on
    loss = (w * x).sum()
    view[0] = 9
    with pytest.raises(RuntimeError, match=r"\.numpy\(\)"):
        loss.backward()


def test_numpy_hands_out_a_new_array_over_the_same_memory_each_time():
    t = ag.tensor([1.0, 2.0, 3.0])
    first, second = t.numpy(), t.numpy()
    assert first is not second and np.shares_memory(first, second)
    first[2] = 30
    assert t.tolist() == [1.0, 2.0, 30.0] and second[2] == 30

