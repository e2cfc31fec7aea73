"""PyTorch's ``torch.autograd`` namespace: ``Function``, ``grad``, ``backward``, ``gradcheck``,
``gradgradcheck``, ``Variable`` (kept as a no-op wrapper for old code), the grad-mode context
managers and ``functional`` (``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``). Every
name is the engine's own object (``ag.autograd.Function is ag.Function``)."""
from __future__ import annotations

import numpy as np

from ..autodiff import grad as _grad
from ..function import (Function, FunctionCtx, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                        detect_anomaly)
from ..gradcheck import gradcheck, gradgradcheck, GradcheckError
from ..tensor import Tensor
from . import functional


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """``torch.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``, as a tuple
    (``.grad`` is not touched). ``only_inputs`` is accepted and ignored (PyTorch deprecated it);
    ``materialize_grads=True`` returns zeros instead of None for inputs the outputs do not use."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported: loop over "
                                  "the batch of grad_outputs instead")
    allow = bool(allow_unused) or materialize_grads
    grads = _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused=allow)
    if materialize_grads:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = tuple(Tensor._make(np.zeros_like(x._data)) if g is None else g for g, x in zip(grads, inputs))
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``torch.autograd.backward``: accumulate the gradients of ``tensors`` (one Tensor or several,
    each weighted by its entry of ``grad_tensors``) into the ``.grad`` of the leaves."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: got {len(grad_tensors)} grad_tensors for {len(tensors)} tensors")
    if len(tensors) == 1:
        return tensors[0].backward(grad_tensors[0], retain_graph, create_graph, inputs)
    total = None
    for t, g in zip(tensors, grad_tensors):
        if g is None and t.numel() != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; a tensor of "
                               f"shape {t.shape} needs its entry in grad_tensors")
        term = (t * g).sum() if g is not None else t.sum()
        total = term if total is None else total + term
    total.backward(None, retain_graph, create_graph, inputs)


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """Old PyTorch's ``Variable(tensor, requires_grad=False)``: returns the tensor itself (with
    ``requires_grad`` set when asked), as Tensors and Variables have been one thing since PyTorch
    0.4. ``isinstance(t, Variable)`` is True for every Tensor."""

    def __new__(cls, data, requires_grad=False, volatile=False):
        t = data if isinstance(data, Tensor) else Tensor(data)
        if requires_grad:
            t.requires_grad_(True)
        return t


__all__ = ["Function", "FunctionCtx", "grad", "backward", "gradcheck", "gradgradcheck",
           "GradcheckError", "Variable", "functional", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "detect_anomaly"]
