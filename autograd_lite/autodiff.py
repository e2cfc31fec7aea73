"""Reverse-mode differentiation: topological sort of the graph and back-propagation through it.

The graph's nodes are ``Function`` instances (``ctx``); a tensor produced by an op points at its node
through ``tensor._ctx`` and ``tensor._out_index``. Back-propagation visits the nodes in reverse
topological order, so each node's backward runs once, after every gradient flowing into its outputs
has been summed. The sort is iterative (no recursion limit) and linear in the size of the graph.
"""
from __future__ import annotations

import numpy as np

from .function import _GradMode


def _parents(node):
    for inp in node.inputs:
        ctx = getattr(inp, "_ctx", None)
        if ctx is not None:
            yield ctx


def topological_order(roots):
    """Nodes reachable from ``roots`` (Function instances), each after every node that consumes it.

    Iterative depth-first search: ``stack`` holds (node, iterator over its parents); a node is emitted
    once all its parents are done, and the reversed post-order puts consumers before producers.
    """
    order, visited = [], set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, _parents(root))]
        while stack:
            node, parents = stack[-1]
            for parent in parents:
                if parent not in visited:
                    visited.add(parent)
                    stack.append((parent, _parents(parent)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _root_gradient(tensor, gradient):
    if not tensor.requires_grad:
        raise RuntimeError(
            f"backward() on a tensor of shape {tensor.shape} that does not require grad and has no "
            "grad_fn: no input of the computation had requires_grad=True (or it ran under no_grad()).")
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, but the output has shape "
                f"{tensor.shape}; pass gradient= (a tensor of that shape), or reduce it first (e.g. "
                ".sum()).")
        return Tensor._make(np.ones_like(tensor.data))
    if not isinstance(gradient, Tensor):
        gradient = Tensor(np.asarray(gradient, dtype=tensor.dtype))
    if gradient.shape != tensor.shape:
        raise RuntimeError(
            f"gradient has shape {gradient.shape} but the output it belongs to has shape {tensor.shape}")
    return gradient


def run_backward(roots, gradients, retain_graph, create_graph, targets=None):
    """Back-propagate ``gradients`` from ``roots``.

    Without ``targets`` gradients accumulate into ``.grad`` of the leaves (``Tensor.backward``). With
    ``targets`` (a list of tensors) nothing is accumulated and their gradients are returned in order
    (``ag.grad``).
    """
    pending = {}  # node -> list with the summed gradient of each of its outputs
    captured, leaf_targets, node_targets = {}, {}, {}
    for position, t in enumerate(targets or ()):
        if t._ctx is None:
            leaf_targets.setdefault(id(t), []).append(position)
        else:
            node_targets.setdefault((t._ctx, t._out_index), []).append(position)
    accumulate = targets is None
    owned = set()  # ids of arrays already handed to a leaf's .grad

    def deliver(inp, grad):
        ctx = inp._ctx
        if ctx is not None:
            slots = pending.get(ctx)
            if slots is None:
                slots = pending[ctx] = [None] * len(ctx.outputs)
            index = inp._out_index
            slots[index] = grad if slots[index] is None else slots[index] + grad
        elif accumulate:
            _accumulate_leaf(inp, grad, create_graph, owned)
        else:
            for position in leaf_targets.get(id(inp), ()):
                captured[position] = grad if position not in captured else captured[position] + grad

    root_nodes = []
    for root, gradient in zip(roots, gradients):
        deliver(root, _root_gradient(root, gradient))
        if root._ctx is not None:
            root_nodes.append(root._ctx)

    previous_mode = _GradMode.enabled
    _GradMode.enabled = create_graph
    try:
        for node in topological_order(root_nodes):
            grads = pending.pop(node, None)
            if grads is None:
                continue
            if node_targets or _GradMode.retain_all:
                _capture_node_grads(node, grads, node_targets, captured, create_graph)
            if len(grads) > 1 and None in grads:
                if all(g is None for g in grads):
                    continue
                grads = [g if g is not None else _zeros_like_output(node, i)
                         for i, g in enumerate(grads)]
            in_grads = node.backward(node, *grads)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(node.inputs):
                raise RuntimeError(
                    f"{node.name()}.backward returned {len(in_grads)} gradient(s) but forward took "
                    f"{len(node.inputs)} argument(s): return one per argument (None where not needed)")
            if _GradMode.anomaly:
                _check_backward(node, grads, in_grads)
            for inp, needed, grad in zip(node.inputs, node.needs_input_grad, in_grads):
                if needed and grad is not None:
                    if grad.data.shape != inp.data.shape:
                        raise RuntimeError(
                            f"{node.name()}.backward returned a gradient of shape {grad.shape} for an "
                            f"input of shape {inp.shape}")
                    if grad.data.dtype != inp.data.dtype:
                        grad = grad.to(inp.dtype)
                    deliver(inp, grad)
            if not retain_graph:
                node._saved = None
    finally:
        _GradMode.enabled = previous_mode
    if targets is not None:
        return [captured.get(i) for i in range(len(targets))]
    return None


def _accumulate_leaf(leaf, grad, create_graph, owned):
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return
    data = grad.data
    if leaf.grad is not None:
        leaf.grad.data = leaf.grad.data + data
        return
    if id(data) in owned or not data.flags.owndata or not data.flags.writeable:
        data = data.copy()  # a leaf owns its gradient: users modify .grad in place
    owned.add(id(data))
    leaf.grad = Tensor._make(data)


def _capture_node_grads(node, grads, node_targets, captured, create_graph):
    for index, grad in enumerate(grads):
        if grad is None:
            continue
        for position in node_targets.get((node, index), ()):
            captured[position] = grad
        out = node.outputs[index]()
        if out is not None and (_GradMode.retain_all or out._retains_grad):
            out.grad = grad if create_graph else grad.detach()


def _zeros_like_output(node, index):
    out = node.outputs[index]()
    if out is None:
        raise RuntimeError(f"{node.name()}: output {index} was freed before backward reached it")
    return Tensor._make(np.zeros_like(out.data))


def _check_backward(node, grads, in_grads):
    if not all(np.isfinite(g.data).all() for g in grads if g is not None):
        return
    for position, grad in enumerate(in_grads):
        if grad is not None and grad.data.dtype.kind == "f" and not np.isfinite(grad.data).all():
            where = "".join(node.created_at[-4:]) if node.created_at else "(created outside detect_anomaly)"
            raise FloatingPointError(
                f"detect_anomaly: backward of {node.name()} turned finite gradients into NaN/Inf for "
                f"its input {position} (shape {grad.shape}). The forward {node.name()} was created "
                f"here:\n{where}")


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """``tensor.backward()``: accumulate d(tensor)/d(leaf) into every leaf's ``.grad``."""
    if retain_graph is None:
        retain_graph = create_graph
    run_backward([tensor], [gradient], retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (``.grad`` untouched).

    With ``create_graph=True`` the returned gradients are themselves differentiable, so
    ``ag.grad(ag.grad(f, x, create_graph=True)[0] @ v, x)`` is a Hessian-vector product.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries but there are "
                         f"{len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"inputs[{i}] (shape {t.shape}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grad_outputs, retain_graph, create_graph, targets=inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"inputs[{i}] (shape {inputs[i].shape}) was not used to compute the outputs; pass "
                "allow_unused=True to get None for it")
        if g is not None and not create_graph:
            result[i] = g.detach()
    return tuple(result)


from .tensor import Tensor  # noqa: E402  (tensor imports this module lazily)
