"""The wider Tensor API against PyTorch where the op table does not reach: ops without a gradient
(comparisons, logic, nonzero, unique, one_hot, integer results), precision near 0, gradients
through zeros, ties, formatting, ag.Size, reductions of empty tensors, and the errors for bad dims
and shapes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_lite as ag

RNG = np.random.default_rng(0)


def both(array):
    return ag.tensor(array), torch.tensor(array)


def same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
        return
    if isinstance(theirs, torch.Tensor):
        assert ours.shape == tuple(theirs.shape), (ours.shape, theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-7)
    else:
        assert ours == theirs


def test_precision_near_zero_as_torch():
    ours, theirs = both(np.array([1e-8, -1e-10, 3e-7], np.float32))
    same(ours.log1p(), theirs.log1p())
    same(ours.expm1(), theirs.expm1())
    assert ag.log1p(ag.tensor(1e-8)).item() == pytest.approx(1e-8, rel=1e-6)
    assert ag.tensor(1e-8).expm1().item() == pytest.approx(1e-8, rel=1e-6)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "sign", "floor",
                                  "ceil", "round", "trunc", "frac", "nan_to_num", "count_nonzero"])
def test_special_values(name):
    ours, theirs = both(np.array([np.nan, np.inf, -np.inf, -1.5, 0.0, 2.5, 3.7]))
    same(getattr(ag, name)(ours), getattr(torch, name)(theirs))


def test_comparisons_and_logic():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4,))
    (oa, ta), (ob, tb) = both(a), both(b)
    same(ag.isclose(oa, oa + 1e-9), torch.isclose(ta, ta + 1e-9))
    assert ag.allclose(oa, oa + 1e-9) == torch.allclose(ta, ta + 1e-9) is True
    assert ag.equal(oa, oa.clone()) and not ag.equal(oa, ob) and not ag.equal(oa, oa + 1)
    for name in ("logical_and", "logical_or", "logical_xor"):
        same(getattr(ag, name)(oa > 0, ob > 0), getattr(torch, name)(ta > 0, tb > 0))
        same(getattr(oa > 0, name)(ob), getattr(ta > 0, name)(tb))
    same(ag.logical_not(oa > 0), torch.logical_not(ta > 0))
    oi, ti = both(np.array([[5, 3], [12, 0]]))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        same(getattr(ag, name)(oi, oi.T), getattr(torch, name)(ti, ti.T))
    same(ag.bitwise_not(oi), torch.bitwise_not(ti))
    with pytest.raises(TypeError, match="integer or bool"):
        ag.bitwise_and(oa, ob)


def test_nonzero_where_argwhere_unique_one_hot():
    ours, theirs = both(np.array([[0, 2, 0], [1, 0, 3]]))
    same(ours.nonzero(), theirs.nonzero())
    same(ag.nonzero(ours, as_tuple=True), torch.nonzero(theirs, as_tuple=True))
    same(ag.where(ours > 0), torch.where(theirs > 0))
    same(ag.argwhere(ours), torch.argwhere(theirs))
    values, labels = both(np.array([3, 1, 3, 2, 1, 3]))
    same(ag.unique(values), torch.unique(labels))
    same(values.unique(return_inverse=True, return_counts=True),
         torch.unique(labels, return_inverse=True, return_counts=True))
    same(ag.one_hot(values, 5), torch.nn.functional.one_hot(labels, 5))
    same(ag.one_hot(values), torch.nn.functional.one_hot(labels))
    with pytest.raises(ValueError, match="out of range"):
        ag.one_hot(values, 2)


def test_integer_division_and_modulo():
    a, b = np.array([7, -7, 5, -3]), np.array([2, 2, -3, 4])
    (oa, ta), (ob, tb) = both(a), both(b)
    for mode in ("trunc", "floor"):
        same(ag.div(oa, ob, rounding_mode=mode), torch.div(ta, tb, rounding_mode=mode))
        same(ag.div(oa.double(), ob, rounding_mode=mode), torch.div(ta.double(), tb, rounding_mode=mode))
    same(oa // ob, ta // tb)
    same(oa % ob, ta % tb)
    same(ag.fmod(oa, ob), torch.fmod(ta, tb))
    same(ag.remainder(oa.double(), 2.5), torch.remainder(ta.double(), 2.5))
    same(ag.div(oa, ob), torch.div(ta, tb))  # true division gives the default float dtype
    with pytest.raises(ValueError, match="rounding_mode"):
        ag.div(oa, ob, rounding_mode="round")


def test_gradients_through_zeros_match_torch():
    a = np.array([[2.0, 0.0, 3.0, -1.0], [0.0, 0.0, 1.5, 2.0]])
    ours = ag.tensor(a, requires_grad=True)
    theirs = torch.tensor(a, requires_grad=True)
    for op in (lambda x: x.cumprod(1), lambda x: x.prod(1), lambda x: x.prod(), lambda x: x.cumprod(0)):
        seed = RNG.standard_normal(op(theirs).shape)
        got, = ag.grad(op(ours), ours, ag.tensor(seed))
        want, = torch.autograd.grad(op(theirs), theirs, torch.tensor(seed))
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), atol=1e-12)
    assert ag.gradcheck(lambda x: x.cumprod(1), [ag.tensor(a, requires_grad=True)])
    assert ag.gradgradcheck(lambda x: x.prod(1), [ag.tensor(a, requires_grad=True)])


def test_sorting_ties_keep_order_like_a_stable_sort():
    ours, theirs = both(np.array([[3.0, 1.0, 3.0, 2.0, 1.0]]))
    same(ours.sort(stable=True), theirs.sort(stable=True))
    same(ours.sort(descending=True, stable=True), theirs.sort(descending=True, stable=True))
    same(ours.argsort(dim=1, stable=True), theirs.argsort(dim=1, stable=True))
    same(ours.sort(0).values, theirs.sort(0).values)
    values, indices = ours.topk(2)
    assert values.tolist() == [[3.0, 3.0]] and set(indices.tolist()[0]) == {0, 2}
    same(ag.median(ag.tensor([4.0, 1.0, 3.0, 2.0])), torch.median(torch.tensor([4.0, 1.0, 3.0, 2.0])))


def test_integer_and_bool_inputs():
    ours, theirs = both(np.array([[1, 2, 3], [4, 5, 6]]))
    for op in (lambda t: t.cumsum(1), lambda t: t.prod(), lambda t: t.prod(0), lambda t: t.cumprod(0),
               lambda t: t.flip(0), lambda t: t.roll(1, 1), lambda t: t.gather(1, t.new_tensor([[0], [2]])),
               lambda t: t.tril(), lambda t: t.diagonal(), lambda t: t.repeat(2, 1), lambda t: t.sort(1),
               lambda t: t.index_select(1, t.new_tensor([2, 0])), lambda t: t.unbind(1),
               lambda t: t.split([1, 2], 1), lambda t: t.repeat_interleave(2, 0)):
        same(op(ours), op(theirs))
    flags, tflags = both(np.array([True, False, True]))
    same(flags.cumsum(0), tflags.cumsum(0))


def test_size_numel_element_size_and_format():
    x = ag.zeros(2, 3, dtype=ag.float64)
    assert isinstance(x.size(), ag.Size) and isinstance(x.shape, ag.Size) and isinstance(x.shape, tuple)
    assert x.size() == (2, 3) == torch.zeros(2, 3).size() and x.size(1) == 3 and x.size(-2) == 2
    assert x.shape.numel() == 6 and x.shape[1:] == (3,) and isinstance(x.shape[1:], ag.Size)
    assert x.numel() == x.nelement() == 6 and x.dim() == x.ndimension() == 2
    assert x.element_size() == 8 and ag.zeros(1).element_size() == 4 and ag.zeros(1, dtype=ag.bool).element_size() == 1
    loss = ag.tensor(0.123456)
    assert f"{loss:.3f}" == f"{torch.tensor(0.123456):.3f}" == "0.123"
    assert f"{ag.tensor(7):>4}" == f"{torch.tensor(7):>4}" and "{}".format(ag.ones(2)) == str(ag.ones(2))
    with pytest.raises(TypeError):
        f"{ag.ones(2):.3f}"
    with pytest.raises(IndexError, match="out of range"):
        x.size(2)


def test_new_factories_keep_dtype():
    x = ag.zeros(2, dtype=ag.float64)
    theirs = torch.zeros(2, dtype=torch.float64)
    same(x.new_zeros(3), theirs.new_zeros(3))
    same(x.new_ones((2, 2)), theirs.new_ones((2, 2)))
    same(x.new_full((2,), 4), theirs.new_full((2,), 4))
    same(x.new_tensor([1, 2]), theirs.new_tensor([1, 2]))
    assert x.new_empty(4).shape == (4,)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: x.gather(5, ag.zeros(2, 3, dtype=ag.int64)), IndexError, "dim 5 is out of range"),
    (lambda x: x.gather(1, ag.zeros(3, dtype=ag.int64)), ValueError, "as many dims"),
    (lambda x: x.gather(1, ag.full((2, 3), 7)), IndexError, "index 7 is out of bounds"),
    (lambda x: x.gather(1, ag.zeros(2, 3)), TypeError, "integer"),
    (lambda x: x.narrow(1, 2, 5), IndexError, "exceed dim 1 of size 3"),
    (lambda x: x.split([1, 1], 1), ValueError, "sum to 2"),
    (lambda x: x.chunk(0), ValueError, "positive"),
    (lambda x: x.topk(9), ValueError, r"k \(9\)"),
    (lambda x: ag.diag(ag.zeros(2, 2, 2)), ValueError, "1-D or 2-D"),
    (lambda x: ag.trace(ag.zeros(3)), ValueError, "matrix"),
    (lambda x: ag.dot(x, x), ValueError, "1 and 1 dims"),
    (lambda x: ag.bmm(x, x), ValueError, "3 and 3 dims"),
    (lambda x: ag.mv(x, ag.zeros(4)), ValueError, "not aligned|shapes"),
    (lambda x: ag.einsum("ij,jk->ik", x, x), ValueError, "subscript 'j'"),
    (lambda x: ag.einsum("ijk->i", x), ValueError, "name 3 dims"),
    (lambda x: x.repeat(2), ValueError, "at least 2"),
    (lambda x: x.roll((1, 2), 0), ValueError, "same length"),
    (lambda x: x.masked_select(ag.ones(2, 3)), TypeError, "bool"),
    (lambda x: x.index_select(0, ag.zeros(2, 2, dtype=ag.int64)), ValueError, "1-D"),
    (lambda x: ag.tril(ag.zeros(3)), ValueError, "at least 2 dims"),
    (lambda x: x.norm(p="nuc"), ValueError, "not supported"),
    (lambda x: x.diagonal(0, 1, 1), ValueError, "must differ"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(ag.zeros(2, 3))


def test_functions_take_input_and_other_keywords():
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2))
    (oa, ta), (ob, tb) = both(a), both(b)
    same(ag.matmul(input=oa, other=ob), torch.matmul(input=ta, other=tb))
    same(ag.mm(oa, mat2=ob), torch.mm(ta, mat2=tb))
    same(ag.sum(input=oa, dim=1, keepdim=True), torch.sum(input=ta, dim=1, keepdim=True))
    same(ag.max(oa, dim=1), torch.max(ta, dim=1))
    same(ag.mean(oa, 0), torch.mean(ta, 0))
    same(ag.exp(input=oa), torch.exp(input=ta))
    same(ag.clamp(oa, min=-0.5, max=0.5), torch.clamp(ta, min=-0.5, max=0.5))
    same(ag.cat([oa, oa], dim=1), torch.cat([ta, ta], dim=1))
    same(ag.neg(oa), torch.neg(ta))
    same(ag.pow(oa, 2), torch.pow(ta, 2))
    same(ag.pow(2.0, oa), torch.pow(2.0, ta))
    same(ag.stack([oa, oa], 2), torch.stack([ta, ta], 2))
    same(ag.where(oa > 0, oa, 0.0), torch.where(ta > 0, ta, 0.0))
    same(ag.linalg.norm(oa), torch.linalg.norm(ta))
    same(ag.linalg.vector_norm(oa, 1, dim=1), torch.linalg.vector_norm(ta, 1, dim=1))
    same(ag.addmm(ag.zeros(2, 2, dtype=ag.float64), oa, ob, beta=0), torch.addmm(torch.zeros(2, 2, dtype=torch.float64), ta, tb, beta=0))
    same(ag.outer(oa[0], ob[0]), torch.outer(ta[0], tb[0]))
    same(ag.einsum("ij,jk", [oa, ob]), torch.einsum("ij,jk", [ta, tb]))
    same(ag.hstack([oa, oa]), torch.hstack([ta, ta]))
    same(ag.vstack([oa, oa]), torch.vstack([ta, ta]))


EMPTY_REDUCTIONS = {  # name: f(library, tensor of shape (0, 4) that requires grad)
    "max(1)": lambda L, e: e.max(1)[0],
    "min(1).indices": lambda L, e: e.min(1)[1],
    "amax(1)": lambda L, e: e.amax(1),
    "logsumexp(0)": lambda L, e: e.logsumexp(0),
    "logsumexp(1)": lambda L, e: e.logsumexp(1),
    "softmax(0)": lambda L, e: e.softmax(0),
    "log_softmax(1)": lambda L, e: e.log_softmax(1),
    "prod()": lambda L, e: e.prod(),
    "prod(0)": lambda L, e: e.prod(0),
}


@pytest.mark.parametrize("name", EMPTY_REDUCTIONS)
def test_reductions_of_an_empty_tensor_along_a_dim_that_has_elements(name):
    """A (0, 4) tensor reduced over its 4-long dim, or over its empty one where the result is
    defined (logsumexp of nothing is -inf, a product of nothing 1), as PyTorch gives them; these
    raised (max, amax, logsumexp, softmax) or left the graph (prod)."""
    f = EMPTY_REDUCTIONS[name]
    ours_input, theirs_input = ag.zeros(0, 4, requires_grad=True), torch.zeros(0, 4, requires_grad=True)
    ours, theirs = f(ag, ours_input), f(torch, theirs_input)
    same(ours, theirs)
    if theirs.dtype.is_floating_point:
        assert ours.requires_grad and theirs.requires_grad
        ours.sum().backward()
        theirs.sum().backward()
        assert ours_input.grad.shape == tuple(theirs_input.grad.shape) == (0, 4)


@pytest.mark.parametrize("call", [lambda e: e.max(0), lambda e: e.amax(0), lambda e: e.amax(),
                                  lambda e: e.max()])
def test_max_over_no_element_still_raises(call):
    with pytest.raises((RuntimeError, IndexError)):
        call(torch.zeros(0, 4))
    with pytest.raises(RuntimeError, match=r"\(0, 4\)"):
        call(ag.zeros(0, 4))


IN_PLACE = {  # name: f(library) -> the tensor changed in place, and what the method returned
    "one-hot by scatter_": lambda L: (lambda t: (t, t.scatter_(1, L.tensor([[2], [0], [1]]), 1)))(
        L.zeros(3, 4)),
    "scatter_ from src, dim 0": lambda L: (lambda t: (t, t.scatter_(
        0, L.tensor([[1, 0, 1]]), L.tensor([[5.0, 6.0, 7.0]]))))(L.zeros(2, 3)),
    "scatter_ value=": lambda L: (lambda t: (t, t.scatter_(1, L.tensor([[1], [0]]), value=-2.0)))(
        L.ones(2, 3)),
    "scatter_add_ repeated": lambda L: (lambda t: (t, t.scatter_add_(
        1, L.tensor([[0, 0], [2, 1]]), L.ones(2, 2))))(L.zeros(2, 3)),
    "masked_fill_ broadcast mask": lambda L: (lambda t: (t, t.masked_fill_(
        L.tensor([True, False, True]), -1.0)))(L.arange(6.0).reshape(2, 3)),
    "masked_fill_ 0-d tensor value": lambda L: (lambda t: (t, t.masked_fill_(t > 2, L.tensor(9.0))))(
        L.arange(6.0).reshape(2, 3)),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_scatter_and_masked_fill_as_pytorch(name):
    (ours, returned), (theirs, _) = IN_PLACE[name](ag), IN_PLACE[name](torch)
    assert returned is ours
    same(ours, theirs)


def test_in_place_scatter_and_masked_fill_refuse_what_pytorch_refuses():
    w = ag.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_: in-place"):
        w.masked_fill_(ag.tensor([True, False, True]), 0.0)
    with pytest.raises(TypeError, match="bool"):
        ag.ones(3).masked_fill_(ag.tensor([1, 0, 1]), 0.0)
    with pytest.raises(RuntimeError, match="scatter_: in-place"):
        w.scatter_(0, ag.tensor([0]), 1.0)
    t = ag.zeros(3)
    version = t._version
    t.scatter_(0, ag.tensor([1]), 1.0)
    assert t._version == version + 1 and t.tolist() == [0.0, 1.0, 0.0]


MEDIANS = {  # name: values; median() over all elements and median(dim=-1)
    "ties share the gradient": [[1.0, 2.0, 2.0, 3.0]],
    "three ties": [[2.0, 2.0, 2.0, 1.0]],
    "NaN is the median": [[1.0, float("nan"), 2.0], [3.0, 1.0, 2.0]],
    "two NaNs": [[1.0, float("nan"), 2.0, float("nan")]],
}


@pytest.mark.parametrize("name", MEDIANS)
def test_median_ties_and_nan_as_pytorch(name):
    """median() gave all the gradient to one of tied elements (PyTorch shares it) and skipped
    NaN (PyTorch returns NaN, the gradient going to the NaN)."""
    values = MEDIANS[name]
    for reduce in (lambda t: t.median(), lambda t: t.median(-1).values,
                   lambda t: t.median(0, keepdim=True).values):
        x, t = ag.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        ours, theirs = reduce(x), reduce(t)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-7)
    same(ag.tensor(values).median(-1).indices, torch.tensor(values).median(-1).indices)


@pytest.mark.parametrize("values, dtype", [([1, 2, 3], "float64"), ([0.1, 0.2, 0.3], "float64"),
                                           ([1, 2, 3], "float32")])
def test_sum_and_mean_take_a_dtype(values, dtype):
    for name in ("sum", "mean"):
        ours = getattr(ag.tensor(values, dtype=ag.float32 if isinstance(values[0], float) else None),
                       name)(dtype=getattr(ag, dtype))
        theirs = getattr(torch.tensor(values, dtype=torch.float32 if isinstance(values[0], float)
                                      else None), name)(dtype=getattr(torch, dtype))
        same(ours, theirs)


def test_meshgrid_without_indexing_warns_and_uses_ij():
    with pytest.warns(UserWarning, match="indexing"):
        grids = ag.meshgrid(ag.arange(2), ag.arange(3))
    assert [tuple(g.shape) for g in grids] == [(2, 3), (2, 3)]
    with pytest.raises(ValueError, match="1-d"):
        ag.meshgrid(ag.ones(2, 2), indexing="ij")
