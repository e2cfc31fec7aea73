"""The embedding's row-sparse table gradient (``autograd_lite/sparse_grad.py``) against PyTorch:
every place the engine needs it dense (a hook on the table, a non-leaf table, ``ag.grad``,
``create_graph``, ``detect_anomaly``, ``retain_grads``, the teaching stepper, ``backward(inputs=)``)
and the place it stays sparse (a leaf's ``.grad``), with optimizers stepping on the result; and
that the sparse path is taken: a backward into an existing ``.grad`` allocates no table."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

import autograd_lite as ag
import optim
from autograd_lite.sparse_grad import RowSparseGrad

RNG = np.random.default_rng(7)
INDICES = np.array([[1, 4, 1, 0, 4], [7, 4, 4, 9, 1]])  # repeated rows, row 4 three times
TABLE = RNG.standard_normal((10, 3))
WEIGHTS = RNG.standard_normal(INDICES.shape + (3,))
INDEX_TENSORS = {ag: ag.tensor(INDICES), torch: torch.tensor(INDICES)}  # kept alive: the stepper
# shows the index tensor's values


def lookup(lib, table, padding_idx=None):
    """A loss of an embedding lookup whose output gradient is not constant (so create_graph has
    second derivatives): sum(weights * out^2) / 2 + sum(out)."""
    out = lib.nn.functional.embedding(INDEX_TENSORS[lib], table, padding_idx=padding_idx)
    return (lib.tensor(WEIGHTS) * out * out).sum() / 2 + out.sum()


def tables():
    return (ag.tensor(TABLE.copy(), requires_grad=True),
            torch.tensor(TABLE.copy(), requires_grad=True))


def assert_close(ours, theirs):
    assert ours is not None and theirs is not None
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("padding_idx", [None, 4])
def test_accumulating_twice_with_a_tied_table_and_a_dense_term(padding_idx):
    """Two lookups of one table in one pass, plus a dense term of the same table, twice."""
    ours, theirs = tables()
    for _ in range(2):
        for lib, table in ((ag, ours), (torch, theirs)):
            loss = lookup(lib, table, padding_idx) + lookup(lib, table, padding_idx)
            (loss + (table ** 3).sum()).backward()
        assert_close(ours.grad, theirs.grad)
    if padding_idx is not None:
        np.testing.assert_allclose(ours.grad.detach().numpy()[4], 2 * 3 * TABLE[4] ** 2)


def test_a_hook_on_the_table_sees_the_dense_gradient():
    ours, theirs = tables()
    seen = []
    for lib, table in ((ag, ours), (torch, theirs)):
        table.register_hook(lambda grad: seen.append(grad) or grad * 2)
        lookup(lib, table).backward()
    assert isinstance(seen[0], ag.Tensor) and seen[0].shape == (10, 3)
    assert_close(seen[0], seen[1])
    assert_close(ours.grad, theirs.grad)


def test_a_table_that_is_not_a_leaf_and_retain_grad():
    ours, theirs = tables()
    scaled = []
    for lib, table in ((ag, ours), (torch, theirs)):
        scaled.append(table * 1.5)
        scaled[-1].retain_grad()
        lookup(lib, scaled[-1]).backward()
    assert_close(scaled[0].grad, scaled[1].grad)
    assert_close(ours.grad, theirs.grad)


def test_autograd_grad_returns_a_dense_tensor_and_leaves_grad_alone():
    ours, theirs = tables()
    mine, = ag.grad(lookup(ag, ours), ours)
    reference, = torch.autograd.grad(lookup(torch, theirs), theirs)
    assert isinstance(mine, ag.Tensor) and ours.grad is None
    assert_close(mine, reference)
    lookup(ag, ours).backward(inputs=[ours])
    assert_close(ours.grad, reference)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.parametrize("padding_idx", [None, 4])
def test_create_graph_gives_second_derivatives(padding_idx):
    ours, theirs = tables()
    direction = RNG.standard_normal(TABLE.shape)
    for lib, table in ((ag, ours), (torch, theirs)):
        grad, = lib.autograd.grad(lookup(lib, table, padding_idx), table, create_graph=True)
        (grad * lib.tensor(direction)).sum().backward()  # Hessian-vector product into .grad
    assert_close(ours.grad, theirs.grad)
    ours.grad = theirs.grad = None
    for lib, table in ((ag, ours), (torch, theirs)):
        lookup(lib, table, padding_idx).backward(create_graph=True)
    assert ours.grad.requires_grad and theirs.grad.requires_grad
    assert_close(ag.grad((ours.grad ** 2).sum(), ours)[0],
                 torch.autograd.grad((theirs.grad ** 2).sum(), theirs)[0])


def test_detect_anomaly_retain_grads_and_the_stepper():
    ours, theirs = tables()
    lookup(torch, theirs).backward()
    with ag.detect_anomaly():
        lookup(ag, ours).backward()
    assert_close(ours.grad, theirs.grad)
    ours.grad = None
    with ag.retain_grads():
        lookup(ag, ours).backward()
    assert_close(ours.grad, theirs.grad)
    ours.grad = None
    steps = ag.BackwardStepper(lookup(ag, ours)).run()
    assert any("Embedding" in str(step) for step in steps)
    assert_close(ours.grad, theirs.grad)


@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                           ("Adam", {"lr": 0.05})])
def test_optimizers_step_on_the_dense_gradient(name, options, set_to_none):
    ours, theirs = tables()
    ours_opt = getattr(optim, name)([ours], **options)
    theirs_opt = getattr(torch.optim, name)([theirs], **options)
    for _ in range(3):
        for lib, table, optimizer in ((ag, ours, ours_opt), (torch, theirs, theirs_opt)):
            optimizer.zero_grad(set_to_none=set_to_none)
            lookup(lib, table).backward()
            optimizer.step()
        assert isinstance(ours.grad._data, np.ndarray) and ours.grad.shape == (10, 3)
        assert_close(ours.grad, theirs.grad)
        assert_close(ours, theirs)


def test_a_backward_into_an_existing_grad_touches_only_the_rows_used():
    """The sparse path: no (rows, dim) array is allocated when .grad exists (the dense path would
    allocate the 12.8 MB table), and .grad keeps its array, updated in place."""
    table = ag.zeros(200_000, 8, dtype=ag.float64, requires_grad=True)
    indices = ag.tensor(RNG.integers(0, 200_000, (4, 5)))
    ag.nn.functional.embedding(indices, table).sum().backward()
    array = table.grad.detach().numpy()
    tracemalloc.start()
    try:
        ag.nn.functional.embedding(indices, table).sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200_000 * 8 * 8 / 50, f"backward allocated {peak} bytes"
    assert np.shares_memory(table.grad.detach().numpy(), array)
    counts = np.bincount(indices.detach().numpy().ravel(), minlength=200_000)
    np.testing.assert_array_equal(array, 2.0 * counts[:, None] * np.ones((1, 8)))


def test_a_custom_function_may_return_a_row_sparse_gradient():
    class PickRows(ag.Function):
        @staticmethod
        def forward(ctx, table):
            return ag.Tensor(table.detach().numpy()[[2, 5]])

        @staticmethod
        def backward(ctx, grad):
            return RowSparseGrad(np.array([2, 5]), grad.detach().numpy(), (6, 2))

    table = ag.zeros(6, 2, requires_grad=True)
    PickRows.apply(table).sum().backward()
    np.testing.assert_array_equal(table.grad.detach().numpy()[[0, 2, 5]], [[0, 0], [1, 1], [1, 1]])
    wrong = ag.zeros(7, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(6, 2\) for a tensor of shape \(7, 2\)"):
        PickRows.apply(wrong).sum().backward()


def test_detect_anomaly_checks_the_table_gradient():
    """Two float32 rows of 3e38 summed into one table row overflow: detect_anomaly names the
    embedding's backward (so it checked the gradient, made dense, before the leaf got it)."""
    table = ag.zeros(4, 2, requires_grad=True)
    out = ag.nn.functional.embedding(ag.tensor([1, 1]), table)
    with ag.detect_anomaly(), pytest.raises(FloatingPointError, match="backward of Embedding"):
        out.backward(ag.full((2, 2), 3e38))
