"""Walks over the recorded graph (nodes: ``Function`` instances; a node reaches the nodes that
produced its inputs through ``inputs[i]._ctx``), iterative, linear in nodes and edges: how many
consumers each node has (the engine's ready counts, ``autodiff.run_backward``), an order with every
node before its producers (the teaching views, the ONNX export, the backward stepper), and the
nodes ``ag.grad`` must run for its targets."""
from __future__ import annotations


def dependencies(root_nodes):
    """For every node reachable from ``root_nodes``: how many consuming edges lead into it."""
    deps = {}
    for node in root_nodes:
        deps[node] = 0
    stack = list(deps)
    while stack:
        node = stack.pop()
        needs = node.needs_input_grad
        position = -1
        for inp in node.inputs:  # (an index into needs_input_grad costs less than a zip per node)
            position += 1
            if needs[position]:
                parent = inp._ctx
                if parent is not None:
                    if parent in deps:
                        deps[parent] += 1
                    else:
                        deps[parent] = 1
                        stack.append(parent)
    return deps


def topological_order(root_nodes):
    """The nodes reachable from ``root_nodes``, each before every node that produced its inputs."""
    deps = dependencies(root_nodes)
    ready = [node for node, count in deps.items() if count == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for inp, needed in zip(node.inputs, node.needs_input_grad):
            if needed and inp._ctx is not None:
                deps[inp._ctx] -= 1
                if deps[inp._ctx] == 0:
                    ready.append(inp._ctx)
    return order


def useful_nodes(deps, leaf_targets, node_targets):
    """Nodes whose backward must run for ``ag.grad``: those with an input that is a target or
    that leads to one."""
    leads = {node for node, _ in node_targets}  # nodes whose outputs are targets or lead to one
    useful = set()
    for node in reversed(topological_order([n for n, count in deps.items() if count == 0])):
        # reversed topological order: producers first, so every input's node is already decided
        if any(needed and (id(inp) in leaf_targets if inp._ctx is None else inp._ctx in leads)
               for inp, needed in zip(node.inputs, node.needs_input_grad)):
            useful.add(node)
            leads.add(node)
    return useful
