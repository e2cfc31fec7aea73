"""The embedding's row-sparse table gradient (``autograd_lite/sparse_grad.py``) against PyTorch:
every place the engine needs it dense (a hook on the table, a non-leaf table, ``ag.grad``,
``create_graph``, ``detect_anomaly``, ``retain_grads``, the teaching stepper, ``backward(inputs=)``)
and the place it stays sparse (a leaf's ``.grad``), with optimizers stepping on the result; that
the sparse path is taken: a backward, into an existing ``.grad`` or a None one, allocates no table,
nor does an optimizer step after the first; and that a ``.grad`` still holding rows
(``RowSparseGradTensor``) reads, changes, copies and saves as the dense tensor it stands for."""
from __future__ import annotations

import copy
import pickle
import tracemalloc

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import optim
from autograd_lite.sparse_grad import RowSparseGrad, RowSparseGradTensor, pending_rows

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


def peak_bytes(work):
    """The peak of Python-visible allocations (NumPy's included) while ``work()`` runs."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_backward_into_a_none_grad_allocates_no_table():
    """With .grad None the leaf keeps the rows (no 12.8 MB table); read, it is the dense table."""
    table = ag.zeros(200_000, 8, dtype=ag.float64, requires_grad=True)
    indices = ag.tensor(RNG.integers(0, 200_000, (4, 5)))
    peak = peak_bytes(lambda: ag.nn.functional.embedding(indices, table).sum().backward())
    assert peak < 200_000 * 8 * 8 / 50, f"backward allocated {peak} bytes"
    assert type(table.grad) is RowSparseGradTensor and pending_rows(table.grad) is not None
    counts = np.bincount(indices.detach().numpy().ravel(), minlength=200_000)
    np.testing.assert_array_equal(table.grad.detach().numpy(), counts[:, None] * np.ones((1, 8)))
    assert type(table.grad) is ag.Tensor and pending_rows(table.grad) is None


READERS = {  # each reads a fresh row-sparse .grad; the result must equal the same on PyTorch's
    "numpy": lambda g: g.numpy(), "asarray": np.asarray, "detach": lambda g: g.detach(),
    "data": lambda g: g.data, "sum": lambda g: g.sum(), "times two": lambda g: g * 2,
    "row": lambda g: g[4], "clone": lambda g: g.clone(), "tolist": lambda g: np.array(g.tolist()),
    "shape": lambda g: np.array(g.shape), "repr": lambda g: np.array(len(repr(g)) > 30),
    "deepcopy": copy.deepcopy, "copy": copy.copy, "pickle": lambda g: pickle.loads(pickle.dumps(g)),
}


@pytest.mark.parametrize("reader", READERS, ids=str)
def test_a_row_sparse_grad_reads_as_the_dense_tensor(reader):
    ours, theirs = tables()
    lookup(ag, ours).backward()
    lookup(torch, theirs).backward()
    assert pending_rows(ours.grad) is not None
    grad = ours.grad
    mine, reference = READERS[reader](grad), READERS[reader](theirs.grad)
    assert type(grad) is ag.Tensor and ours.grad is grad  # made dense in place, once
    mine = mine.detach().numpy() if isinstance(mine, ag.Tensor) else np.asarray(mine)
    reference = reference.detach().numpy() if isinstance(reference, torch.Tensor) else reference
    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)
    assert_close(ours.grad, theirs.grad)


def test_save_and_load_a_row_sparse_grad(tmp_path):
    ours, theirs = tables()
    lookup(ag, ours).backward()
    lookup(torch, theirs).backward()
    ag.save({"grad": ours.grad}, tmp_path / "grad.pt")
    assert_close(ag.load(tmp_path / "grad.pt")["grad"], theirs.grad)


def test_backward_twice_merges_the_rows_as_a_dense_grad_would():
    """retain_graph, then a second lookup of other and the same rows: the rows are merged without
    making .grad dense, bit-identical to accumulating into the dense .grad, equal to PyTorch's."""
    sparse, dense = ag.tensor(TABLE.copy(), requires_grad=True), ag.tensor(TABLE.copy(),
                                                                           requires_grad=True)
    theirs = torch.tensor(TABLE.copy(), requires_grad=True)
    for lib, table in ((ag, sparse), (ag, dense), (torch, theirs)):
        loss = lookup(lib, table)
        loss.backward(retain_graph=True)
        if table is dense:
            dense.grad.shape  # made dense here
        loss.backward()
        lib.nn.functional.embedding(lib.tensor([[3, 4, 8]]), table).pow(3).sum().backward()
    assert pending_rows(sparse.grad) is not None
    assert_close(sparse.grad, theirs.grad)
    np.testing.assert_array_equal(sparse.grad.detach().numpy(), dense.grad.detach().numpy())


CHANGES = {  # in-place changes of a row-sparse .grad, the same code on both frameworks
    "+=": lambda p, opt: p.grad.__iadd__(p.grad * 0 + 1.5),
    "zero_": lambda p, opt: p.grad.zero_(),
    "mul_": lambda p, opt: p.grad.mul_(3.0),
    "optimizer.zero_grad(set_to_none=False)": lambda p, opt: opt.zero_grad(set_to_none=False),
    "clip_grad_norm_": lambda p, opt: (nn if isinstance(p, ag.Tensor) else torch.nn).utils
    .clip_grad_norm_([p], 0.5),
    "clip_grad_value_": lambda p, opt: (nn if isinstance(p, ag.Tensor) else torch.nn).utils
    .clip_grad_value_([p], 0.5),
}


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_changing_a_row_sparse_grad_in_place(change):
    """Each change, then a backward into the changed .grad, then an Adam step: as in PyTorch."""
    ours, theirs = tables()
    ours_opt, theirs_opt = optim.Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for lib, table, optimizer in ((ag, ours, ours_opt), (torch, theirs, theirs_opt)):
        lookup(lib, table).backward()
        grad = table.grad
        CHANGES[change](table, optimizer)
        assert table.grad is grad  # the same tensor, changed in place
        lookup(lib, table).backward()
        optimizer.step()
    assert_close(ours.grad, theirs.grad)
    assert_close(ours, theirs)


def test_module_zero_grad_keeps_a_zeroed_dense_grad():
    layer = nn.Embedding(10, 3, dtype=np.float64)
    layer(ag.tensor(INDICES)).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert type(layer.weight.grad) is ag.Tensor and not layer.weight.grad.detach().numpy().any()


def test_optimizer_state_dict_round_trips_without_the_zero_table():
    """The zero table behind the row-sparse updates is not state: state_dict has PyTorch's keys,
    and training resumed in a new optimizer from it continues exactly."""
    ours, theirs = tables()
    ours_opt, theirs_opt = optim.Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for lib, table, optimizer in ((ag, ours, ours_opt), (torch, theirs, theirs_opt)):
        for _ in range(2):
            optimizer.zero_grad()
            lookup(lib, table).backward()
            optimizer.step()
    saved = ours_opt.state_dict()
    assert sorted(saved["state"][0]) == sorted(theirs_opt.state_dict()["state"][0])
    resumed = optim.Adam([ours], lr=0.05)
    resumed.load_state_dict(saved)
    for lib, table, optimizer in ((ag, ours, resumed), (torch, theirs, theirs_opt)):
        for _ in range(2):
            optimizer.zero_grad()
            lookup(lib, table).backward()
            optimizer.step()
    assert_close(ours, theirs)


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1}),
                                           ("Adam", {"lr": 0.1}),
                                           ("SGD", {"lr": 0.1, "momentum": 0.9})])
def test_steps_on_row_sparse_grads_allocate_no_table(name, options):
    """After the first step (which makes the optimizer's state and zero table), a whole training
    step (zero_grad, forward, backward, step) allocates nothing of the table's size (1.6 MB)."""
    table = ag.zeros(50_000, 4, dtype=ag.float64, requires_grad=True)
    optimizer = getattr(optim, name)([table], **options)
    indices = ag.tensor(RNG.integers(0, 50_000, (4, 5)))

    def step():
        optimizer.zero_grad()
        ag.nn.functional.embedding(indices, table).pow(2).sum().backward()
        optimizer.step()
    step()
    peak = peak_bytes(step)
    assert peak < 50_000 * 4 * 8 / 20, f"a training step allocated {peak} bytes"
    assert pending_rows(table.grad) is not None
