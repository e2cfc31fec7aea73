"""Reverse-mode differentiation: back-propagation through the recorded graph.

The graph's nodes are ``Function`` instances (``ctx``); a tensor produced by an op points at its node
through ``tensor._ctx`` and ``tensor._out_index``, and a node reaches its inputs through
``ctx.inputs``. Back-propagation runs each node's backward once, after every gradient flowing into
its outputs has been summed (Kahn's algorithm):

1. ``dependencies`` (``graph_walk``): one iterative walk from the roots counts, for every reachable
   node, how many edges from other reachable nodes consume its outputs;
2. a node whose count is zero is ready: its backward runs, its input gradients are summed into the
   producers' pending slots (or into the leaves' ``.grad``), and each producer's count drops by one.

Both steps visit every node and edge once: time is linear in the size of the graph and there is no
recursion, so a chain of 100,000 ops is fine.

Tensor hooks (``hooks``) run inside this pass: an intermediate tensor's when its node is ready, a
leaf's once on its summed gradient after the rest of the pass.

A gradient that nothing else holds (from one producer whose ``_owned_gradients`` is True, not summed
with another, not captured by ag.grad's targets, retain_grad or hooks) may be overwritten by its
consumer's ``backward_in_place`` (ReLU masks it): no new array. Course CNN training step, batch 64,
Intel Xeon (family 6 model 167), in-process interleaved medians: 7.26 -> 7.01 ms and 7.15 -> 6.99 at
2 threads, 8.93 -> 8.63 at 1; batch 1024 at 1 thread 200 -> 193 ms. The bookkeeping costs the tiny
graph ``(a*b + a).sum()`` about 0.3 us of its 19.

Under the same conditions a node may fold its producer's backward into its own
(``Function.absorbs``: MaxPool2d after a ReLU scatters the gradient only where the ReLU lets it
through, one pass over the ReLU's input instead of two); the producer then passes that gradient
on unchanged. Nobody sees the gradient in between: not captured, one consumer, no retain_grad
or hooks on the producer's output (tests/test_gradient_ownership.py). What every other node pays
for it is one test (``node.absorbs or absorbed``), the rest is in ``_folded_backward``: the tiny
graph's backward 0.0-0.4 us more than without it (in-process, Intel Xeon family 6 model 167;
0.3-0.7 us with the first version, which made two tests per node).

One level further (``Function.absorbs_below``: MaxPool2d after Conv2d -> ReLU), the consumer also
computes the producer's producer's gradients; they wait in ``absorbed`` for that node's turn, so
leaves receive them in the usual order (tests/test_pooled_conv_grads.py).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .backward_results import (as_gradient, as_tuple, check_backward, checked_in_grads,
                               zeros_like_output)
from .function import InputRef, _GradMode, _local, _switches
from .graph_walk import dependencies, useful_nodes
from .hooks import _apply_hooks, _hold_for_hooks, _run_node_hooks


_NO_TARGETS = MappingProxyType({})
_SCALAR_ONES = {}  # dtype -> read-only 0-d array of 1 (copied: cheaper than np.array(1, dtype))


def _root_gradient(tensor, gradient):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"backward/grad: outputs must be Tensors, got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise RuntimeError(
            f"element 0 of tensors does not require grad and does not have a grad_fn: backward() on "
            f"a tensor of shape {tensor.shape} that no input with requires_grad=True contributed to "
            "(or that was computed under no_grad()).")
    if gradient is None:
        data = tensor._data
        if data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, but the output has shape "
                f"{tensor.shape}; pass gradient= to backward() (grad_outputs= to ag.grad), a tensor of "
                "that shape, or reduce it first (e.g. .sum()).")
        if data.ndim:
            return _make(np.ones(data.shape, data.dtype))
        one = _SCALAR_ONES.get(data.dtype)
        if one is None:
            one = _SCALAR_ONES[data.dtype] = np.array(1, data.dtype)
            one.flags.writeable = False
        return _make(one.copy())
    if not isinstance(gradient, Tensor):
        gradient = _make(np.asarray(gradient, dtype=tensor.dtype))
    if gradient.shape != tensor.shape:
        raise RuntimeError(
            f"gradient has shape {gradient.shape} but the output it belongs to has shape {tensor.shape}")
    if gradient.dtype != tensor.dtype:
        gradient = gradient.to(tensor.dtype)
    return gradient


def run_backward(roots, gradients, retain_graph, create_graph, targets=None):
    """Back-propagate ``gradients`` from ``roots``.

    Without ``targets`` gradients accumulate into ``.grad`` of the leaves (``Tensor.backward``). With
    ``targets`` (a list of tensors) nothing is accumulated, only the nodes that lead to a target run,
    and the targets' gradients are returned in order (``ag.grad``).
    """
    pending = {}  # node -> [summed gradient of each of its outputs]
    accumulate = targets is None
    # (without targets nothing is looked up in these three: one shared read-only empty mapping)
    leaf_targets, node_targets, captured = (_NO_TARGETS,) * 3 if accumulate else ({}, {}, {})
    # handed: ids of arrays a leaf must not keep without a copy (the caller's gradients, those made
    # by custom backward formulas, which may return saved tensors, and those already handed out)
    root_nodes, handed = [], set()
    hooked_leaves = {}  # id(leaf) -> [leaf, summed gradient] for leaves with hooks
    if targets is not None:
        for position, t in enumerate(targets):
            if t._ctx is None:
                leaf_targets.setdefault(id(t), []).append(position)
            else:
                node_targets.setdefault((t._ctx, t._out_index), []).append(position)
    position = 0
    for root in roots:  # (indexing the gradients costs less than a zip)
        gradient = gradients[position]
        position += 1
        grad = _root_gradient(root, gradient)
        if gradient is not None:
            handed.add(id(grad._data))
        node = root._ctx
        if node is None:
            if root._backward_hooks is not None:
                _hold_for_hooks(hooked_leaves, root, grad)
            else:
                _deliver_to_leaf(root, grad, accumulate, create_graph, handed, leaf_targets, captured)
            continue
        slots = pending.get(node)
        if slots is None:
            slots = pending[node] = [None] * len(node.outputs)
            root_nodes.append(node)
        index = root._out_index
        slots[index] = grad if slots[index] is None else slots[index] + grad
    deps = dependencies(root_nodes)
    useful = None if accumulate else useful_nodes(deps, leaf_targets, node_targets)
    try:
        mode = _local.switches  # this thread's switches, fetched once
    except AttributeError:
        mode = _switches()
    capture_all = mode.retain_all or bool(node_targets)
    keep_fresh = accumulate and not create_graph  # leaves may keep fresh gradient arrays as .grad
    if len(root_nodes) == 1:  # (one root node: nothing reachable consumes it)
        ready = root_nodes
    else:
        ready = [node for node in root_nodes if deps[node] == 0]
    owned = set()  # nodes whose one pending gradient nothing else holds (see backward_in_place)
    absorbed = {}  # producer -> the gradient array its consumer's backward_absorbing gave it
    previous_mode = mode.enabled
    mode.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node, None)
            inputs = node.inputs
            in_grads = None
            owns = False  # node's gradients for its inputs are its own (_owned_gradients)
            if grads is not None:
                if capture_all or node.retains_grad:  # retain_grad() or hooks on an output
                    if node._tensor_hooks is not None:
                        _run_node_hooks(node, grads, handed)
                    _capture_node_grads(node, grads, node_targets, captured, create_graph)
                if useful is None or node in useful:
                    if len(grads) == 1 and not (node._released or mode.anomaly):  # the common case
                        backward_plain = None if create_graph else node.backward_plain
                        if backward_plain is None:
                            in_grads = node.backward(node, grads[0])
                        else:  # no graph of the gradient: the same formula on the arrays
                            folded = (node.absorbs or absorbed) and _folded_backward(
                                node, grads[0], absorbed, deps, pending, capture_all, useful)
                            if folded:  # (rare: Function.absorbs)
                                in_grads = folded
                            else:
                                if owned and node in owned and node.backward_in_place is not None \
                                        and not (capture_all or node.retains_grad):
                                    backward_plain = node.backward_in_place
                                in_grads = backward_plain(node, grads[0])
                            owns = node._owned_gradients
                        if in_grads.__class__ is not tuple or len(in_grads) != len(inputs):
                            in_grads = checked_in_grads(node, in_grads)
                    else:
                        in_grads = _call_backward(node, grads, mode)
                    if not node._fresh_gradients:
                        handed.update([id(g._data) for g in in_grads if isinstance(g, Tensor)])
                    if not retain_graph:
                        node._saved = None  # what backward saved; then whatever else forward stored
                        if not node._stores_only_saved:
                            _release_attributes(node)
            if in_grads is None:  # nothing flows on, but the producers are one consumer closer
                for inp, needed in zip(inputs, node.needs_input_grad):
                    if needed and inp._ctx is not None:
                        parent = inp._ctx
                        deps[parent] -= 1
                        if deps[parent] == 0:
                            ready.append(parent)
                continue
            needs = node.needs_input_grad
            position = -1
            for inp in inputs:  # (indexing costs less than a zip per node)
                position += 1
                if not needs[position]:
                    continue
                grad = in_grads[position]
                parent = inp._ctx
                if grad is not None:
                    if grad.__class__ is not Tensor:
                        if grad.__class__ is RowSparseGrad and parent is None and keep_fresh and \
                                inp._backward_hooks is None:
                            grad.add_to(inp, handed)  # a scatter-add into the rows it has
                            continue
                        grad = as_gradient(node, grad)
                    data = grad._data
                    if inp.__class__ is InputRef:
                        shape, dtype = inp.shape, inp.dtype
                    else:
                        array = inp._data
                        shape, dtype = array.shape, array.dtype
                    if data.shape != shape:
                        raise RuntimeError(
                            f"{node.name()}.backward returned a gradient of shape {grad.shape} for "
                            f"an input of shape {inp.shape}")
                    grad_dtype = data.dtype
                    if grad_dtype is not dtype and grad_dtype != dtype:
                        grad = grad.to(dtype)
                        data = grad._data
                    if parent is not None:
                        slots = pending.get(parent)
                        if slots is None:
                            slots = pending[parent] = [None] * len(parent.outputs)
                        index = inp._out_index
                        current = slots[index]
                        if current is None:
                            slots[index] = grad
                            if owns:  # held by nobody else: parent may overwrite it
                                owned.add(parent)
                        else:
                            slots[index] = current + grad
                            if owned:
                                owned.discard(parent)
                    elif inp._backward_hooks is not None:
                        _hold_for_hooks(hooked_leaves, inp, grad)
                    # the two common cases of _deliver_to_leaf, inlined: a leaf's first gradient
                    # (kept without a copy when fresh), and a further one added in place
                    elif keep_fresh and (current := inp._grad) is None and id(data) not in handed \
                            and data.base is None and data.flags.writeable:
                        handed.add(id(data))
                        inp._grad = _make(data)
                    elif keep_fresh and current is not None and \
                            id(current_data := current._data) not in handed and current_data.flags.writeable:
                        current_data += data
                    else:
                        _deliver_to_leaf(inp, grad, accumulate, create_graph, handed, leaf_targets,
                                         captured)
                if parent is not None:
                    count = deps[parent] - 1
                    deps[parent] = count
                    if count == 0:
                        ready.append(parent)
        for leaf, grad in hooked_leaves.values() if hooked_leaves else ():
            if accumulate or id(leaf) in leaf_targets:  # ag.grad runs only its targets' hooks
                grad = _apply_hooks(leaf._backward_hooks, grad)
                handed.add(id(grad._data))  # a hook may have kept it: the leaf keeps a copy
                _deliver_to_leaf(leaf, grad, accumulate, create_graph, handed, leaf_targets, captured)
    finally:
        mode.enabled = previous_mode
    if targets is not None:
        return [captured.get(i) for i in range(len(targets))]
    return None


_BOOKKEEPING = frozenset(("inputs", "needs_input_grad", "outputs", "module", "_saved", "_saved_versions",
                          "_saved_checksums",
                          "_non_differentiable", "created_at", "retains_grad", "_tensor_hooks",
                          "_materialize_grads", "_dirty", "_released", "_output_meta"))


def _release_attributes(node):
    """After a backward without ``retain_graph`` (which has dropped the saved tensors): drop
    whatever else forward stored on ``ctx``, so a graph kept alive by its output holds no arrays;
    a second backward through it raises (PyTorch's rule)."""
    state = node.__dict__
    if not state.keys() <= _BOOKKEEPING:  # (no new set in the common case: nothing extra stored)
        for key in state.keys() - _BOOKKEEPING:
            del state[key]
        node._released = True


def _call_backward(node, grads, mode):
    """node.backward(node, *grads) with the checks: zeros for unused outputs of multi-output ops,
    one gradient per forward argument, anomaly detection."""
    if node._released:
        raise RuntimeError(
            f"Trying to backward through the graph a second time (op {node.name()}): what it saved "
            "for backward was freed after the first backward. Pass retain_graph=True to the first "
            "backward() if you need to run it twice.")
    if len(grads) == 1:
        grads = grads[0],
    elif node._materialize_grads and any(g is None for g in grads):  # an unused output: zeros
        grads = [g if g is not None else zeros_like_output(node, i) for i, g in enumerate(grads)]
    if mode.anomaly:  # the ops inside a backward formula are checked as one, below
        mode.anomaly = False
        try:
            in_grads = node.backward(node, *grads)
        finally:
            mode.anomaly = True
        in_grads = tuple(map(densify, as_tuple(in_grads)))  # checked, and passed on, dense
        check_backward(node, grads, in_grads)
    else:
        in_grads = node.backward(node, *grads)
    return checked_in_grads(node, in_grads)


def _folded_backward(node, grad, absorbed, deps, pending, capture_all, useful):
    """``Function.absorbs``: for a node whose backward a consumer already applied (in
    ``absorbed``), its gradients as computed then (a producer's: its gradient passed on); for a
    node that may fold its producer's backward (and ``absorbs_below``, the next one's) into its
    own, its gradients so, the others noted; else None. A node may be folded when nobody sees its
    gradient, as when its ``backward_in_place`` may overwrite it."""
    done = absorbed.pop(node, None) if absorbed else None
    if done is not None:  # (computed for the gradient this node was to get: check it did)
        array, in_grads = done
        if array is not grad._data:
            return None
        return in_grads if in_grads is not None else (grad,) + (None,) * (len(node.inputs) - 1)
    producer = node.inputs[0]._ctx
    if (capture_all or producer.__class__ not in node.absorbs or not node.needs_input_grad[0]
            or not node._owned_gradients or not _may_fold(producer, deps, pending)):
        return None
    below = producer.inputs[0]._ctx if producer.needs_input_grad[0] else None
    if (below.__class__ in node.absorbs_below and _may_fold(below, deps, pending)
            and (useful is None or below in useful)):
        in_grads, below_grads = node.backward_absorbing(node, grad, producer, below)
        absorbed[below] = (in_grads[0]._data, below_grads)
    else:
        in_grads = node.backward_absorbing(node, grad, producer)
    absorbed[producer] = (in_grads[0]._data, None)
    return in_grads


def _may_fold(producer, deps, pending):
    """Whether a consumer may apply ``producer``'s backward (a node, or None): its one consumer,
    no gradient yet, none retained, and it can still run."""
    return (producer is not None and deps.get(producer) == 1 and producer not in pending
            and not producer.retains_grad and not producer._released)


def _deliver_to_leaf(leaf, grad, accumulate, create_graph, handed, leaf_targets, captured):
    if not accumulate:
        for position in leaf_targets.get(id(leaf), ()):
            captured[position] = grad if position not in captured else captured[position] + grad
        return
    if create_graph:  # differentiable: a shared gradient is cloned through the graph, not copied
        if leaf._grad is not None:
            leaf._grad = leaf._grad + grad
            return
        if id(grad._data) in handed:
            grad = grad.clone()
        handed.add(id(grad._data))
        leaf._grad = grad
        return
    data = grad._data
    current = leaf._grad
    if current is not None:
        if id(current._data) in handed or not current._data.flags.writeable:
            current._data = current._data + data  # may be shared with gradients still in flight
        else:
            current._data += data  # in place, like PyTorch: the leaf owns its .grad
        return
    # The leaf will own this array (optimizers modify .grad in place), so it is kept without a copy
    # only when a built-in backward just created it and nobody else got it in this pass.
    if id(data) in handed or not data.flags.owndata or not data.flags.writeable:
        data = data.copy()
    handed.add(id(data))
    leaf._grad = Tensor._make(data)


def _capture_node_grads(node, grads, node_targets, captured, create_graph):
    retain_all = _GradMode.retain_all
    for index, grad in enumerate(grads):
        if grad is None:
            continue
        for position in node_targets.get((node, index), ()):
            captured[position] = grad
        if retain_all or node.retains_grad:
            out = node.outputs[index]()
            if out is not None and (retain_all or out._retains_grad):
                if not create_graph:
                    grad = Tensor._make(grad._data.copy())  # never shared with a leaf's .grad
                out._grad = grad if out._grad is None or retain_all else out._grad + grad


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``tensor.backward()``: accumulate d(tensor)/d(leaf) into every leaf's ``.grad``.

    ``retain_graph`` defaults to ``create_graph``; without it the saved tensors are freed and a second
    backward through the same nodes raises. With ``inputs`` (tensors) only their ``.grad`` is filled.
    """
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward([tensor], [gradient], retain_graph, create_graph)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    grads = grad(tensor, inputs, gradient, retain_graph, create_graph, allow_unused=True)
    for t, g in zip(inputs, grads):
        if g is not None:
            t.grad = g if t.grad is None else t.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple (``.grad`` untouched).

    ``inputs`` may be leaves or intermediate tensors. With ``create_graph=True`` the returned
    gradients are themselves differentiable, so ``ag.grad(ag.grad(f, x, create_graph=True)[0] @ v,
    x)`` is a Hessian-vector product.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):  # one gradient for one output
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries but there are "
                         f"{len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs[{i}] is a {type(t).__name__}, expected a Tensor")
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


def _accumulate_leaf(leaf, grad, create_graph, handed):
    """Add ``grad`` into ``leaf.grad`` (the step-by-step teaching tools call this directly).
    ``handed`` is a set of ids of arrays that must not be kept without a copy."""
    _deliver_to_leaf(leaf, grad, True, create_graph, handed, None, None)


from .tensor import Tensor  # noqa: E402  (tensor imports this module at its end)
from .sparse_grad import RowSparseGrad, densify  # noqa: E402  (it imports tensor)

_make = Tensor._make
