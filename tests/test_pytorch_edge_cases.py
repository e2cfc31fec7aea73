"""PyTorch's edge cases that autograd-lite got wrong, each checked against PyTorch: float functions
and activations of integer tensors, norms of zero vectors and norm(p=0), uint8 masks, the older
call forms var(unbiased) and `in` on a matrix, view() that must share memory or raise, and the
memory layouts view() depends on."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F


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
