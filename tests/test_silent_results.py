"""Results that used to be silently wrong, each checked against PyTorch: activations on -inf, inf
and NaN (values and gradients), std() of a constant, .grad assignment of the wrong shape or dtype,
integers beyond int64, writes through .numpy() between forward and backward, float functions and
activations of integer tensors, norms of zero vectors and norm(p=0), uint8 masks, and the older
call forms var(unbiased) and `in` on a matrix."""
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


# ----------------------------------------------------------------------------- integer inputs
FLOAT_FUNCTIONS = ["exp", "log", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1", "erf", "log2",
                   "log10", "sqrt", "rsqrt", "reciprocal"]


@pytest.mark.parametrize("name", FLOAT_FUNCTIONS)
@pytest.mark.parametrize("values", [[1, 2, 3], [True, False]], ids=["int64", "bool"])
def test_float_functions_of_integer_tensors_compute_in_floats(name, values):
    """sigmoid and erf of integers gave integers (all zeros), exp and sin float64: PyTorch computes
    them in the default float dtype."""
    ours, theirs = getattr(ag.tensor(values), name)(), getattr(torch.tensor(values), name)()
    assert ours.dtype == ag.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert getattr(ag, name)(ag.tensor(values)).dtype == ag.float32


INTEGER_REFUSED = {  # name: (ours, PyTorch's): no integer kernel in PyTorch
    "silu": (F.silu, torch.nn.functional.silu),
    "softplus": (F.softplus, torch.nn.functional.softplus),
    "elu": (F.elu, torch.nn.functional.elu),
    "selu": (F.selu, torch.nn.functional.selu),
    "leaky_relu": (F.leaky_relu, torch.nn.functional.leaky_relu),
    "gelu": (F.gelu, torch.nn.functional.gelu),
    "nn.SiLU": (nn.SiLU(), torch.nn.SiLU()),
    "softmax": (lambda x: x.softmax(0), lambda x: x.softmax(0)),
    "log_softmax": (lambda x: F.log_softmax(x, 0), lambda x: torch.nn.functional.log_softmax(x, 0)),
}


@pytest.mark.parametrize("name", INTEGER_REFUSED)
def test_activations_without_an_integer_kernel_refuse_integers(name):
    """leaky_relu of -2 came out 0 and softplus of 1 came out 0, in integers: PyTorch raises."""
    ours, theirs = INTEGER_REFUSED[name]
    with pytest.raises(NotImplementedError):
        theirs(torch.arange(-2, 3))
    with pytest.raises(NotImplementedError, match=r"int64 .*float"):
        ours(ag.arange(-2, 3))


# ----------------------------------------------------------------------------- norms
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), (1, True), (0, True)])
def test_norm_p0_of_a_tensor_that_requires_grad_keeps_the_reduced_shape(dim, keepdim):
    """norm(p=0) broadcast its count back to the input's shape (or raised with dim=) once the
    input required grad."""
    values = [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]
    x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = (x.norm(p=0), t.norm(p=0)) if dim is None else \
        (x.norm(p=0, dim=dim, keepdim=keepdim), t.norm(p=0, dim=dim, keepdim=keepdim))
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))  # (PyTorch leaves none)


@pytest.mark.parametrize("p", [2, "fro", 3, 1.5, 1, math.inf])
def test_norm_of_a_zero_vector_has_gradient_zero(p):
    """The 2-norm's gradient at the zero vector was NaN (sqrt'(0) = inf, times 0), and spread
    into the parameters of a norm penalty; PyTorch gives 0. Rows that are not zero keep theirs."""
    values = [[0.0, 0.0, 0.0], [3.0, -4.0, 1.0]]
    x = ag.tensor(values, dtype=ag.float64, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    x.norm(p, dim=1).sum().backward()
    t.norm(p, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=0)
    z = ag.zeros(4, dtype=ag.float64, requires_grad=True)
    ag.linalg.norm(z, p if p != "fro" else 2).backward()
    assert z.grad.tolist() == [0.0] * 4


def test_norm_second_derivative_is_unchanged_away_from_zero():
    x = ag.tensor([1.0, 2.0, 2.0], dtype=ag.float64, requires_grad=True)
    t = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64, requires_grad=True)
    for a, lib in ((x, ag), (t, torch)):
        g, = lib.autograd.grad(a.norm(), a, create_graph=True)
        (g * g.detach()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- old-style calls
def test_a_uint8_index_tensor_is_a_mask_as_in_pytorch():
    """t[uint8 tensor] picked elements by position (NumPy's reading); PyTorch reads a mask and
    warns that uint8 masks are deprecated."""
    values, mask = [3.0, -1.0, 2.0, -4.0], [1, 0, 1, 0]
    with pytest.warns(UserWarning, match="uint8"):
        theirs = torch.tensor(values)[torch.tensor(mask, dtype=torch.uint8)]
    x = ag.tensor(values, requires_grad=True)
    with pytest.warns(UserWarning, match="uint8.*mask"):
        ours = x[ag.tensor(mask, dtype=ag.uint8)]
    assert ours.tolist() == theirs.tolist() == [3.0, 2.0]
    ours.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]
    with pytest.warns(UserWarning, match="uint8"):
        assert ag.tensor([values])[0, ag.tensor(mask, dtype=ag.uint8)].tolist() == [3.0, 2.0]


@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("unbiased", [False, True])
def test_var_and_std_take_unbiased_as_their_first_argument(name, unbiased):
    """x.var(False), PyTorch's older overload, raised "dim must be an int"."""
    ours = getattr(ag.tensor([1.0, 2.0, 4.0]), name)(unbiased)
    theirs = getattr(torch.tensor([1.0, 2.0, 4.0]), name)(unbiased)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
    assert getattr(ag, name)(ag.tensor([1.0, 2.0, 4.0]), unbiased).item() == pytest.approx(
        theirs.item(), rel=1e-6)


def test_in_looks_through_every_element_at_any_shape():
    """`2.0 in t` raised for a 2-d t ("truth value ... ambiguous"): PyTorch compares elements."""
    values = [[1.0, 2.0], [3.0, 4.0]]
    for element in (2.0, 5, ag.tensor([3.0, 4.0]), ag.tensor(9.0)):
        theirs = (torch.tensor(element.tolist()) if isinstance(element, ag.Tensor) else element) \
            in torch.tensor(values)
        assert (element in ag.tensor(values)) is theirs
    with pytest.raises(TypeError, match="str"):
        "x" in ag.tensor(values)  # noqa: B015


VIEW_CASES = {  # name: (make the tensor from a library, the view's shape)
    "transpose, flattened": (lambda L: L.ones(2, 3).t(), (-1,)),
    "column slice": (lambda L: L.arange(12.0).reshape(3, 4)[:, :2], (6,)),
    "permuted, one row": (lambda L: L.arange(24.0).reshape(2, 3, 4).permute(1, 0, 2)[0], (8,)),
    "permuted, last dim split": (lambda L: L.arange(24.0).reshape(2, 3, 4).permute(1, 0, 2),
                                 (3, 2, 2, 2)),
    "transpose, same layout": (lambda L: L.ones(2, 3).t(), (3, 2)),
    "every other element": (lambda L: L.arange(12.0)[::2], (2, 3)),
    "row slice": (lambda L: L.arange(12.0).reshape(3, 4)[1:], (8,)),
}


@pytest.mark.parametrize("name", VIEW_CASES)
def test_view_shares_memory_or_raises_as_pytorch(name):
    """view() was reshape(): on a transpose it returned a copy, and a write through the "view"
    silently missed the original. It now raises where PyTorch does, and shares memory elsewhere."""
    make, shape = VIEW_CASES[name]
    base = make(torch)
    try:
        theirs = base.view(*shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"view: .*not laid out contiguously.*reshape"):
            make(ag).view(*shape)
        return
    source = make(ag)
    ours = source.view(*shape)
    assert tuple(ours.shape) == tuple(theirs.shape)
    corner = (1,) * len(theirs.shape)
    ours[corner] = 100.0  # a write through the view reaches the tensor it came from
    theirs[corner] = 100.0
    np.testing.assert_array_equal(source.numpy(), base.numpy())
    assert (source.numpy() == 100.0).sum() == 1


CONTIGUITY = {  # name: f(library, x of shape (3, 4) that requires grad) -> a result
    "linear": lambda L, x: L.nn.functional.linear(x, L.ones(5, 4)),
    "x^T @ w": lambda L, x: x.t() @ L.ones(3, 2),
    "softmax(0)": lambda L, x: x.softmax(0),
    "sum(0)": lambda L, x: x.sum(0),
    "x^T * 2": lambda L, x: x.t() * 2,
    "x[:, 1]": lambda L, x: x[:, 1],
    "stack(dim=1)": lambda L, x: L.stack([x, x], 1),
    "cross-entropy's input gradient": lambda L, x: (
        L.nn.functional.cross_entropy(x, L.tensor([0, 1, 2])).backward(), x.grad)[1],
    "x^T .contiguous()": lambda L, x: x.t().contiguous(),
    "LSTM(batch_first) output": lambda L, x: _lstm(L)(x.reshape(1, 3, 4))[0],
}


def _lstm(L):
    L.manual_seed(0)
    return L.nn.LSTM(4, 5, batch_first=True)


@pytest.mark.parametrize("name", CONTIGUITY)
def test_results_are_contiguous_where_pytorchs_are(name):
    """view() now refuses what it cannot view, so a result laid out differently from PyTorch's
    would make a working PyTorch program fail: layouts, strides and view() agree."""
    values = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ours = CONTIGUITY[name](ag, ag.tensor(values, requires_grad=True))
    theirs = CONTIGUITY[name](torch, torch.tensor(values, requires_grad=True))
    assert ours.is_contiguous() == theirs.is_contiguous()
    if theirs.is_contiguous():
        assert ours.stride() == theirs.stride()
        assert tuple(ours.view(-1).shape) == tuple(theirs.view(-1).shape)
    elif ours.ndim > 1:
        with pytest.raises(RuntimeError):
            theirs.view(-1)
        with pytest.raises(RuntimeError, match="view"):
            ours.view(-1)


def test_contiguous_copies_only_what_is_not_and_keeps_the_gradient():
    w = ag.ones(2, 3, requires_grad=True)
    assert w.contiguous() is w
    flat = w.t().contiguous().view(-1)  # PyTorch's idiom for viewing a transpose
    (flat * ag.arange(6.0)).sum().backward()
    assert w.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    assert w.t().stride() == (1, 3) and w.t().stride(-1) == 3
    assert w.t().reshape_as(ag.ones(6)).shape == (6,)  # reshape copies where view may not
    with pytest.raises(RuntimeError, match="view"):
        w.t().view_as(ag.ones(6))
