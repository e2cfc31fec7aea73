"""Module hooks (PyTorch's): what ``Module.__call__`` runs around ``forward`` once a hook is registered.

    forward pre-hooks   hook(module, args) -> None or new args
                        (with_kwargs: hook(module, args, kwargs) -> None or (new args, new kwargs))
    forward hooks       hook(module, args, output) -> None or a replacement output
                        (with_kwargs: hook(module, args, kwargs, output); always_call: also run when
                        forward raised, with output None)
    full backward pre-hooks   hook(module, grad_output) -> None or a replacement grad_output
    full backward hooks       hook(module, grad_input, grad_output) -> None or a replacement
                              grad_input; grad_input holds the gradients with respect to the
                              module's positional Tensor arguments (zeros for those that need
                              none, as PyTorch gives; all None when no input needs a gradient)

Backward hooks work as PyTorch's do: the Tensor arguments that require grad go through an identity
``Function`` (``BackwardHookFunction``) before ``forward``, and the output Tensors through another
after it. Backward reaches the outputs' identity node first, with every output gradient at once (the
pre-hooks run there and the gradients are remembered), then the inputs' identity node, with every
input gradient at once: the full hooks run there, and what they return is what flows on. A module
without hooks takes none of these paths (``Module.__call__`` tests four dicts).
"""
from __future__ import annotations

import warnings

import numpy as np

from autograd_lite.function import Function, is_grad_enabled
from autograd_lite.hooks import RemovableHandle, _Hooks
from autograd_lite.tensor import Tensor


def new_registry():
    """An ordered hook registry that ``RemovableHandle`` can hold weakly."""
    return _Hooks()


def add_hook(registry, entry, prepend=False):
    """Store ``entry`` (a hook, or a (hook, options...) tuple) in ``registry``; return the handle."""
    if not callable(entry[0] if isinstance(entry, tuple) else entry):
        raise TypeError(f"a module hook must be callable, got {type(entry).__name__}")
    handle = RemovableHandle(registry)
    registry[handle.id] = entry
    if prepend:
        for key in [key for key in registry if key != handle.id]:
            registry[key] = registry.pop(key)  # move the others behind the new one
    return handle


class BackwardHookFunction(Function):
    """Identity on ``tensors``; its backward hands all their gradients at once to ``hooks`` (a
    ``_BackwardHooks``), which runs the module's backward hooks and may replace them."""
    rule = {"en": "identity: d/da = 1 (module backward hooks see the grads)",
            "es": "identidad: d/da = 1 (los hooks de backward del módulo ven los grads)"}

    @staticmethod
    def forward(ctx, hooks, side, *tensors):
        ctx.hooks, ctx.side = hooks, side
        return tuple(Tensor._make(t._data) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        if ctx.side == "outputs":
            grads = ctx.hooks.outputs_reached(grads)
        else:
            grads = ctx.hooks.inputs_reached(grads)
        return (None, None) + tuple(grads)


def _check_replacement(result, expected_count, what, module):
    if not isinstance(result, (tuple, list)) or len(result) != expected_count:
        raise RuntimeError(f"backward hook of {type(module).__name__} returned {what} of length "
                           f"{len(result) if isinstance(result, (tuple, list)) else type(result).__name__}"
                           f", expected a tuple of {expected_count} (gradients or None)")
    return tuple(result)


class _BackwardHooks:
    """One forward call's bookkeeping for the module's backward hooks."""

    def __init__(self, module):
        self.module = module
        self.input_count, self.input_slots = 0, []
        self.output_count, self.output_slots = 0, []
        self.grad_outputs = None

    def wrap_inputs(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.input_count = len(positions)
        wrapped = [i for i in positions if args[i].requires_grad]
        self.input_slots = [positions.index(i) for i in wrapped]
        # PyTorch hands the hooks zeros for the Tensor inputs that need no gradient
        self.input_like = [args[i] for i in positions]
        if not wrapped or not is_grad_enabled():
            self.input_slots = []
            return args
        outs = BackwardHookFunction.apply(self, "inputs", *[args[i] for i in wrapped])
        args = list(args)
        for position, out in zip(wrapped, outs):
            args[position] = out
        return tuple(args)

    def wrap_outputs(self, output):
        single = isinstance(output, Tensor)
        items = [output] if single else list(output) if isinstance(output, (tuple, list)) else []
        positions = [i for i, o in enumerate(items) if isinstance(o, Tensor)]
        self.output_count = len(positions)
        wrapped = [i for i in positions if items[i].requires_grad]
        self.output_slots = [positions.index(i) for i in wrapped]
        if not wrapped or not is_grad_enabled():
            return output
        outs = BackwardHookFunction.apply(self, "outputs", *[items[i] for i in wrapped])
        for position, out in zip(wrapped, outs):
            items[position] = out
        return items[0] if single else type(output)(items)

    def outputs_reached(self, grads):
        module = self.module
        grad_output = [None] * self.output_count
        for slot, grad in zip(self.output_slots, grads):
            grad_output[slot] = grad
        grad_output = tuple(grad_output)
        for hook in tuple(module._backward_pre_hooks.values()):
            result = hook(module, grad_output)
            if result is not None:
                grad_output = _check_replacement(result, self.output_count, "grad_output", module)
        self.grad_outputs = grad_output
        if not self.input_slots:  # no input needs a gradient: the hooks see grad_input of Nones
            for hook in tuple(module._backward_hooks.values()):
                hook(module, (None,) * self.input_count, grad_output)
        return [grad_output[slot] for slot in self.output_slots]

    def inputs_reached(self, grads):
        module = self.module
        grad_input = [Tensor._make(np.zeros_like(t._data)) for t in self.input_like]
        for slot, grad in zip(self.input_slots, grads):
            grad_input[slot] = grad
        grad_input = tuple(grad_input)
        for hook in tuple(module._backward_hooks.values()):
            result = hook(module, grad_input, self.grad_outputs)
            if result is not None:
                grad_input = _check_replacement(result, self.input_count, "grad_input", module)
        return [grad_input[slot] for slot in self.input_slots]


def call_with_hooks(module, args, kwargs, run_forward):
    """``module(*args, **kwargs)`` with its hooks; ``run_forward(args, kwargs)`` runs ``forward``."""
    for hook, with_kwargs in tuple(module._forward_pre_hooks.values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result!r}.")
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    backward_hooks = None
    if module._backward_hooks or module._backward_pre_hooks:
        backward_hooks = _BackwardHooks(module)
        args = backward_hooks.wrap_inputs(args)
    output, called = None, set()
    try:
        output = run_forward(args, kwargs)
        for key, (hook, with_kwargs, always_call) in tuple(module._forward_hooks.items()):
            called.add(key)
            result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
            if result is not None:
                output = result
    except Exception:
        for key, (hook, with_kwargs, always_call) in tuple(module._forward_hooks.items()):
            if always_call and key not in called:
                try:
                    result = (hook(module, args, kwargs, output) if with_kwargs
                              else hook(module, args, output))
                    output = output if result is None else result
                except Exception as error:  # the forward's error is the one to report
                    warnings.warn("forward hook with always_call=True raised an exception that was "
                                  f"silenced as another error was raised in forward: {error}")
        raise
    if backward_hooks is not None:
        output = backward_hooks.wrap_outputs(output)
    return output
