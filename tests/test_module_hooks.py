"""Module hooks and module utilities, run side by side with PyTorch: forward pre-hooks and forward
hooks (with_kwargs, always_call, prepend, replacement values), full backward hooks and backward
pre-hooks (the gradients they see and replace), the deprecated register_backward_hook, handles;
apply, named_modules/children/buffers, requires_grad_, half/float/double, print(model)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn

RNG = np.random.default_rng(2)


def _pair_of_linears():
    ours, theirs = nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.detach().numpy()))
    return ours, theirs


def _arrays(grads):
    return [None if g is None else g.detach().numpy().copy() for g in grads]


def _run_both(setup, x=None, loss=lambda out: (out * out).sum()):
    """Register hooks with ``setup(module, log)`` on both frameworks' Linear, run forward and
    backward on the same input; return (log, input gradient, output) for each."""
    x = RNG.standard_normal((2, 4)) if x is None else x
    results = []
    for module, tensor in zip(_pair_of_linears(), (ag.Tensor, torch.tensor)):
        log = []
        setup(module, log)
        inp = tensor(x, requires_grad=True)
        out = module(inp)
        loss(out).backward()
        results.append((log, inp.grad.numpy(), out.detach().numpy()))
    return results


def _assert_same(ours, theirs):
    (log_o, grad_o, out_o), (log_t, grad_t, out_t) = ours, theirs
    np.testing.assert_allclose(out_o, out_t, rtol=1e-12)
    np.testing.assert_allclose(grad_o, grad_t, rtol=1e-12)
    assert [entry[0] for entry in log_o] == [entry[0] for entry in log_t]
    for (_, arrays_o), (_, arrays_t) in zip(log_o, log_t):
        for a, b in zip(arrays_o, arrays_t):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)


def test_forward_pre_hook_and_forward_hook_replace_values():
    def setup(module, log):
        module.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        module.register_forward_pre_hook(
            lambda m, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
        module.register_forward_hook(lambda m, args, out: out * 3)
        module.register_forward_hook(lambda m, args, kwargs, out: log.append(
            ("forward", _arrays([args[0], out]))), with_kwargs=True)
    _assert_same(*_run_both(setup))


def test_full_backward_hooks_see_pytorchs_gradients_and_replace_them():
    def setup(module, log):
        module.register_full_backward_pre_hook(
            lambda m, grad_output: log.append(("pre", _arrays(grad_output))))
        module.register_full_backward_pre_hook(lambda m, grad_output: (grad_output[0] * 0.5,))
        module.register_full_backward_hook(
            lambda m, grad_input, grad_output: log.append(
                ("full", _arrays(grad_input) + _arrays(grad_output))))
        module.register_full_backward_hook(lambda m, grad_input, grad_output: (grad_input[0] - 1,))
    _assert_same(*_run_both(setup))


def test_backward_hook_when_no_input_requires_grad():
    x = RNG.standard_normal((2, 4))
    seen = []
    for module, tensor in zip(_pair_of_linears(), (ag.Tensor, torch.tensor)):
        module.register_full_backward_hook(
            lambda m, grad_input, grad_output: seen.append((grad_input, _arrays(grad_output))))
        with warnings.catch_warnings():  # PyTorch warns that the hook fires without input grads
            warnings.simplefilter("ignore")
            module(tensor(x)).sum().backward()
    (gi_ours, go_ours), (gi_theirs, go_theirs) = seen
    assert gi_ours == gi_theirs == (None,)
    np.testing.assert_allclose(go_ours[0], go_theirs[0])


class _Bilinear:
    """forward(a, b, scale) = a * b * scale + a, in either framework."""

    @staticmethod
    def make(base):
        class Module(base):
            def forward(self, a, b, scale=1.0):
                return a * b * scale + a
        return Module()


def test_full_backward_hook_with_several_inputs_and_a_kwarg():
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    logs = []
    for base, tensor in ((nn.Module, ag.Tensor), (torch.nn.Module, torch.tensor)):
        module, log = _Bilinear.make(base), []
        module.register_full_backward_hook(
            lambda m, gi, go, log=log: log.append(_arrays(gi) + _arrays(go)))
        ta, tb = tensor(a, requires_grad=True), tensor(b)  # b needs no gradient
        module(ta, tb, scale=2.0).sum().backward()
        logs.append(log[0] + [ta.grad.numpy()])
    ours, theirs = logs
    assert len(ours) == len(theirs) == 4
    assert not ours[1].any()  # zeros for the input that needs no gradient, as PyTorch gives
    for x, y in zip(ours, theirs):
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-12)


def test_handles_remove_hooks_and_prepend_orders_them():
    layer = nn.Linear(2, 2)
    order = []
    first = layer.register_forward_hook(lambda m, a, o: order.append("first"))
    layer.register_forward_hook(lambda m, a, o: order.append("prepended"), prepend=True)
    layer(ag.Tensor(np.ones((1, 2), np.float32)))
    assert order == ["prepended", "first"]
    first.remove()
    first.remove()  # a second remove does nothing
    order.clear()
    layer(ag.Tensor(np.ones((1, 2), np.float32)))
    assert order == ["prepended"]
    with layer.register_full_backward_hook(lambda m, gi, go: order.append("backward")):
        layer(ag.Tensor(np.ones((1, 2), np.float32), requires_grad=True)).sum().backward()
    layer(ag.Tensor(np.ones((1, 2), np.float32), requires_grad=True)).sum().backward()
    assert order.count("backward") == 1


def test_always_call_forward_hook_runs_when_forward_raises():
    class Failing(nn.Module):
        def forward(self, x):
            raise RuntimeError("forward failed")
    module, seen = Failing(), []
    module.register_forward_hook(lambda m, args, out: seen.append(("always", out)),
                                 always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append("normal"))
    with pytest.raises(RuntimeError, match="forward failed"):
        module(ag.Tensor(np.zeros(2)))
    assert seen == [("always", None)]


def test_deprecated_register_backward_hook_warns_and_behaves_as_a_full_hook():
    layer, seen = nn.Linear(2, 1), []
    with pytest.warns(FutureWarning, match="register_full_backward_hook"):
        layer.register_backward_hook(lambda m, gi, go: seen.append(len(gi)))
    layer(ag.Tensor(np.ones((3, 2), np.float32), requires_grad=True)).sum().backward()
    assert seen == [1]


def test_hook_returning_the_wrong_number_of_gradients_is_named():
    layer = nn.Linear(2, 1)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="grad_input of length 2, expected a tuple of 1"):
        layer(ag.Tensor(np.ones((3, 2), np.float32), requires_grad=True)).sum().backward()


def _models():
    ours = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU(),
                         nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8)), nn.Linear(8, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8)),
                                 torch.nn.Linear(8, 2))
    return ours, theirs


def test_module_utilities_match_pytorch():
    ours, theirs = _models()
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    visited = []
    ours.apply(lambda m: visited.append(type(m).__name__))
    expected = []
    theirs.apply(lambda m: expected.append(type(m).__name__))
    assert visited == expected
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())
    ours.requires_grad_()
    assert all(p.requires_grad for p in ours.parameters())
    assert ours.half()[1].running_var.dtype == np.float16
    assert ours.double()[3][1].weight.dtype == np.float64
    assert ours.float()[1].running_mean.dtype == np.float32
    assert ours[1].num_batches_tracked.dtype == np.int64


def test_embedding_and_groupnorm_repr_in_a_model():
    ours = nn.Sequential(nn.Embedding(100, 8, padding_idx=0), nn.GroupNorm(2, 8),
                         nn.BatchNorm1d(8, momentum=None, affine=False))
    theirs = torch.nn.Sequential(torch.nn.Embedding(100, 8, padding_idx=0),
                                 torch.nn.GroupNorm(2, 8),
                                 torch.nn.BatchNorm1d(8, momentum=None, affine=False))
    assert repr(ours) == repr(theirs)
