"""Embedding and F.embedding against PyTorch (float64, copied table): outputs and table gradients
with padding_idx, scale_grad_by_freq and max_norm; from_pretrained; gradcheck/gradgradcheck; the
errors for out-of-range and non-integer indices; the table gradient touching only the rows used."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F
from autograd_lite.sparse_grad import pending_rows

RNG = np.random.default_rng(1)
INDICES = np.array([[1, 4, 1, 0], [7, 4, 4, 9]])


@pytest.mark.parametrize("options", [{}, {"padding_idx": 4}, {"padding_idx": -1},
                                     {"scale_grad_by_freq": True},
                                     {"padding_idx": 1, "scale_grad_by_freq": True},
                                     {"max_norm": 1.0}, {"max_norm": 2.0, "norm_type": 1.0}],
                         ids=str)
def test_embedding_matches_pytorch(options):
    ours = nn.Embedding(10, 3, dtype=np.float64, **options)
    theirs = torch.nn.Embedding(10, 3, dtype=torch.float64, **options)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    table = RNG.standard_normal((10, 3)) * 2
    ours.weight._data[...] = table
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(table))
    for step in range(2):
        out_ours = ours(ag.Tensor(INDICES))
        out_theirs = theirs(torch.from_numpy(INDICES))
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(),
                                   rtol=1e-12)
        g = RNG.standard_normal(out_ours.shape)
        out_ours.backward(ag.Tensor(g))
        out_theirs.backward(torch.from_numpy(g))
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-12, atol=1e-14)
        # max_norm renormalised the rows used, in place, as PyTorch does
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                                   rtol=1e-12)


def test_defaults_and_padding_row_initialisation():
    ag.manual_seed(0)
    layer = nn.Embedding(1000, 16, padding_idx=3)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    assert not layer.weight.detach().numpy()[3].any()
    values = np.delete(layer.weight.detach().numpy(), 3, axis=0)
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1.0) < 0.02  # N(0, 1)
    assert layer(ag.Tensor(np.array([3, 5]))).shape == (2, 16)


def test_from_pretrained():
    table = RNG.standard_normal((5, 2))
    frozen = nn.Embedding.from_pretrained(ag.Tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(ag.Tensor(np.array([4, 0]))).numpy(), table[[4, 0]])
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    assert repr(trainable) == repr(torch.nn.Embedding.from_pretrained(
        torch.from_numpy(table), freeze=False, padding_idx=0))
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(np.zeros(3))


def test_gradcheck_and_gradgradcheck():
    table = ag.Tensor(RNG.standard_normal((10, 3)), requires_grad=True)
    assert ag.gradcheck(lambda w: F.embedding(INDICES, w), table)
    assert ag.gradgradcheck(lambda w: F.embedding(INDICES, w) ** 2, table)


def test_gradgradcheck_of_the_modified_gradient():
    """padding_idx and scale_grad_by_freq change the gradient on purpose (so gradcheck, in PyTorch
    too, disagrees with finite differences); the backward itself, linear in the output gradient,
    must still differentiate correctly."""
    table = ag.Tensor(RNG.standard_normal((10, 3)), requires_grad=True)
    options = {"padding_idx": 4, "scale_grad_by_freq": True}
    assert ag.gradgradcheck(lambda w: F.embedding(INDICES, w, **options), table)
    assert not ag.gradcheck(lambda w: F.embedding(INDICES, w, **options), table,
                            raise_exception=False)


def test_gradient_flows_only_into_the_rows_used():
    layer = nn.Embedding(50, 4)
    layer(ag.Tensor(np.array([[2, 2, 7]]))).sum().backward()
    grad = layer.weight.grad.numpy()
    assert grad.shape == (50, 4) and grad.dtype == np.float32
    np.testing.assert_array_equal(grad[2], 2.0)
    np.testing.assert_array_equal(grad[7], 1.0)
    assert not np.delete(grad, [2, 7], axis=0).any()
    layer(ag.Tensor(np.array([7]))).sum().backward()  # accumulates, as in PyTorch
    np.testing.assert_array_equal(layer.weight.grad.numpy()[7], 2.0)


def test_errors_name_the_index_and_the_table():
    layer = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"index 10 is out of range for a table of 10 rows"):
        layer(ag.Tensor(np.array([1, 10])))
    with pytest.raises(IndexError, match=r"index -2 is out of range"):
        layer(ag.Tensor(np.array([-2, 3])))
    with pytest.raises(TypeError, match="float32"):
        layer(ag.Tensor(np.array([1.0, 2.0], np.float32)))
    with pytest.raises(ValueError, match="padding_idx 12"):
        nn.Embedding(10, 3, padding_idx=12)


def test_sparse_is_accepted_and_grad_stays_dense():
    ours = nn.Embedding(10, 3, sparse=True, dtype=np.float64)
    theirs = torch.nn.Embedding(10, 3, sparse=True, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
    ours(ag.Tensor(INDICES)).sum().backward()
    theirs(torch.from_numpy(INDICES)).sum().backward()
    assert theirs.weight.grad.is_sparse and isinstance(ours.weight.grad, ag.Tensor)
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.to_dense().numpy())


def test_in_a_model_with_an_optimizer():
    import optim
    ag.manual_seed(0)
    model = nn.Sequential(nn.Embedding(20, 8), nn.Flatten(), nn.Linear(24, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    tokens = ag.Tensor(RNG.integers(0, 20, (16, 3)))
    labels = ag.Tensor((tokens.numpy()[:, 0] % 2).astype(np.int64))
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------------------- training on the
# row-sparse .grad: every optimizer, 20 steps, batches using different rows
OPTIMIZERS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "maximize": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01,
             "maximize": True}),
    ("Adam", {"lr": 0.05}), ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "maximize": True}), ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.5, "maximize": True}),
    ("Adadelta", {"lr": 1.0}), ("Adadelta", {"lr": 1.0, "weight_decay": 0.1}),
]
BATCHES = [RNG.integers(0, 40, (3, 4)) for _ in range(20)]  # 40 of the 60 rows, new ones each step


def train(lib, optimizer_name, options, dense, padding_idx=None):
    """20 steps of zero_grad, an embedding lookup, a loss, backward, step; with ``dense`` the
    row-sparse ``.grad`` is made dense (read) before each step. Returns the table and the last
    ``.grad`` (its array, read after the step)."""
    layer = lib.nn.Embedding(60, 3, padding_idx=padding_idx, dtype=lib.float64)
    with (torch.no_grad() if lib is torch else ag.no_grad()):
        start = np.random.default_rng(5).standard_normal((60, 3))
        if padding_idx is not None:
            start[padding_idx] = 0
        layer.weight.copy_(lib.tensor(start))
    optimizer = getattr(torch.optim if lib is torch else __import__("optim"), optimizer_name)(
        layer.parameters(), **options)
    pending = []
    for indices in BATCHES:
        optimizer.zero_grad()
        out = layer(lib.tensor(indices))
        ((out * out).sum() / 2 + out.sum()).backward()
        if lib is ag:
            if dense:
                layer.weight.grad.shape  # any read makes it dense
            pending.append(pending_rows(layer.weight.grad) is not None)
        optimizer.step()
        if lib is ag:
            pending[-1] = pending[-1] and pending_rows(layer.weight.grad) is not None
    return layer.weight.detach().numpy().copy(), layer.weight.grad.detach().numpy(), pending


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=lambda x: str(x))
def test_every_optimizer_on_the_row_sparse_grad(name, options):
    """The update from the rows (the .grad never made dense) is bit-identical to the update from
    the dense .grad, and matches PyTorch's nn.Embedding with the same optimizer."""
    table, grad, pending = train(ag, name, options, dense=False)
    dense_table, dense_grad, dense_pending = train(ag, name, options, dense=True)
    theirs, their_grad, _ = train(torch, name, options, dense=True)
    assert all(pending) and not any(dense_pending)  # the sparse path ran, and the step kept it
    np.testing.assert_array_equal(table, dense_table)
    np.testing.assert_array_equal(grad, dense_grad)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(table, theirs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1}), ("Adam", {"lr": 0.05,
                                                                           "weight_decay": 0.1})])
def test_the_padding_row_stays_zero_under_training(name, options):
    table, grad, _ = train(ag, name, options, dense=False, padding_idx=4)
    theirs, their_grad, _ = train(torch, name, options, dense=True, padding_idx=4)
    assert any((indices == 4).any() for indices in BATCHES)  # the padding row is looked up
    assert not table[4].any() and not grad[4].any()
    np.testing.assert_allclose(table, theirs, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-12, atol=1e-14)
