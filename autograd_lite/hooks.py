"""Tensor hooks: ``tensor.register_hook(hook)`` calls ``hook(grad)`` when backward (or ``ag.grad``)
computes the gradient with respect to ``tensor``; a returned Tensor replaces the gradient.

An intermediate tensor's hooks live on its node (``node._tensor_hooks``, keyed by output index) and
run when the node is ready, on the summed gradient, before ``retain_grad`` and ``ag.grad`` see it and
before the node's backward; they set ``node.retains_grad``, the flag that already stops backward at a
node's output gradients, so nodes without hooks cost nothing more. A leaf's hooks live on the leaf
(``_backward_hooks``): its gradients are summed over all paths and the hooks run once, after the rest
of the pass, before accumulation into ``.grad``. Without hooks the cost is one test per leaf edge.
``autodiff.run_backward`` and ``teaching.stepper.BackwardStepper`` call the functions below.
"""
from __future__ import annotations

import weakref


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook (a second call does
    nothing); ``with tensor.register_hook(fn):`` removes it at the end of the block."""
    _next_id = 0

    def __init__(self, hooks):
        self.hooks_dict_ref = weakref.ref(hooks)
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _Hooks(dict):
    """A tensor's hooks, in registration order (a dict subclass, so that handles can hold it weakly)."""
    __slots__ = ("__weakref__",)


def register_hook(tensor, hook):
    """``tensor.register_hook(hook)``: call ``hook(grad)`` whenever backward (or ``ag.grad``) computes
    the gradient with respect to ``tensor``; a returned Tensor replaces the gradient."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"register_hook: expected a Tensor, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            f"cannot register a hook on a tensor that doesn't require gradient (shape {tensor.shape}, "
            f"dtype {tensor.dtype}): call requires_grad_() on the leaf first, or register the hook "
            "on a tensor computed from one that requires grad")
    if not callable(hook):
        raise TypeError(f"register_hook: hook must be callable as hook(grad), got "
                        f"{type(hook).__name__}")
    hooks = tensor._backward_hooks
    if hooks is None:
        hooks = tensor._backward_hooks = _Hooks()
        node = tensor._ctx
        if node is not None:  # the node keeps them: they run even if the tensor itself is dropped
            if node._tensor_hooks is None:
                node._tensor_hooks = {}
            node._tensor_hooks[tensor._out_index] = hooks
            node.retains_grad = True  # backward's flag for "stop at this node's output gradients"
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def _apply_hooks(hooks, grad):
    """Run ``hooks`` (in registration order) on ``grad``; each one sees the previous one's result."""
    for hook in tuple(hooks.values()):  # a hook may remove itself
        result = hook(grad)
        if result is None:
            continue
        name = getattr(hook, "__name__", type(hook).__name__)
        if not isinstance(result, Tensor):
            raise TypeError(f"hook '{name}' returned a {type(result).__name__}: a hook must return "
                            "a Tensor (the new gradient) or None")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the shape of the gradient: it returned "
                               f"shape {result.shape} for a gradient of shape {grad.shape}")
        if result.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the dtype of the gradient: it returned "
                               f"{result.dtype} for a gradient of dtype {grad.dtype}")
        grad = result
    return grad


def _run_node_hooks(node, grads, handed):
    """The hooks of ``node``'s outputs, on their summed gradients (``grads``, changed in place)."""
    for index, hooks in node._tensor_hooks.items():
        grad = grads[index]
        if grad is not None and hooks:
            grads[index] = grad = _apply_hooks(hooks, grad)
            handed.add(id(grad._data))  # a hook may have kept it: no leaf keeps it without a copy


def _hold_for_hooks(held, leaf, grad):
    """Sum a hooked leaf's gradients; its hooks run once on the sum at the end of the pass."""
    entry = held.get(id(leaf))
    if entry is None:
        held[id(leaf)] = [leaf, grad]
    else:
        entry[1] = entry[1] + grad


from .tensor import Tensor  # noqa: E402  (tensor imports autodiff, which imports this, at its end)
