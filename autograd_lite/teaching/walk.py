"""Read the recorded graph behind some output tensors into plain items the drawing code can lay out.

Every tensor gets a display name, in this order of preference: the ``names=`` mapping given to the
call, the qualified parameter name in ``model`` (``fc1.weight``, from ``model.named_parameters()``;
without ``model=``, the model that produced the graph: of the modules recently called from outside
any module, the one that holds the graph's modules), the tensor's own ``.name``, and otherwise a made-up name shown in grey italics (``mul3``, ``leaf1``;
an unnamed scalar output is ``L``). Modules come from ``ctx.module`` (the innermost ``nn.Module``
running when the op was recorded) and are named by ``model.named_modules()`` when ``model`` is given,
else by their class name.

Kinds, told apart by style in the drawing:

* ``parameter``    -- a leaf registered in a Module (or of a class named ``Parameter``);
* ``buffer``       -- a Module's buffer (BatchNorm's running statistics in eval mode);
* ``input``        -- any other leaf that requires a gradient;
* ``constant``     -- a leaf that does not (data, targets, masks);
* ``intermediate`` -- produced by an op;
* ``output``       -- the tensors the graph was drawn for.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..graph_walk import topological_order
from ..function import InputRef, _GradMode
from ..tensor import Tensor
from . import rules


@dataclass(eq=False)
class TensorItem:
    key: str
    tensor: Tensor
    name: str
    auto_named: bool
    kind: str
    producer: "OpItem | None" = None
    consumers: list = field(default_factory=list)   # OpItems, once per use
    owner: object = None                             # module holding it as a parameter
    freed: bool = False                              # a stand-in: the tensor itself was freed


@dataclass(eq=False)
class OpItem:
    key: str
    ctx: object
    title: str
    note: str | None
    details: list
    rule: str | None
    module: object
    inputs: list = field(default_factory=list)   # (position, TensorItem, role) for tensor inputs
    outputs: list = field(default_factory=list)  # TensorItems (alive outputs only)
    arguments: tuple = ()                         # forward's arguments, tensors resolved (see resolve)


@dataclass(eq=False)
class GraphItems:
    tensors: dict          # id(tensor) -> TensorItem, in order of first appearance
    ops: list              # OpItems, producers before consumers
    roots: list            # TensorItems of the outputs
    module_names: dict     # id(module) -> display name
    module_parents: dict   # display name -> parent display name (or None)

    @property
    def loss_name(self) -> str:
        return self.roots[0].name if len(self.roots) == 1 else "L"


def _name_mapping(names):
    """``names=`` as {id(tensor): name}; accepts {name: tensor} or {tensor: name}."""
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise TypeError(f"names= must be a mapping of name -> Tensor (or Tensor -> name), got "
                        f"{type(names).__name__}")
    out = {}
    for key, value in names.items():
        if isinstance(key, str) and isinstance(value, Tensor):
            out[id(value)] = key
        elif isinstance(key, Tensor) and isinstance(value, str):
            out[id(key)] = value
        else:
            raise TypeError(f"names= entry {key!r}: expected a str -> Tensor (or Tensor -> str) "
                            f"pair, got {type(key).__name__} -> {type(value).__name__}")
    return out


def _model_that_made(root_nodes):
    """``model`` when none is given: among the modules recently called from outside any module
    (``nn.Module.__call__`` records them, weakly), the one holding the most modules that recorded
    ops of this graph (a loss module holds none of the model's), or None."""
    modules = {id(ctx.module) for ctx in topological_order(root_nodes) if ctx.module is not None}
    best, best_count = None, 0
    for reference in list(_GradMode.outer_modules.values()):
        candidate = reference()
        if candidate is None or not hasattr(candidate, "modules"):
            continue
        count = sum(id(m) in modules for m in candidate.modules())
        if count > best_count:
            best, best_count = candidate, count
    return best


def _model_names(model):
    """({id(param): qualified name}, {id(module): qualified name}) from a Module-like object."""
    if model is None:
        return {}, {}
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"model= must be an nn.Module (something with named_parameters()), got "
                        f"{type(model).__name__}")
    params = {id(p): name for name, p in model.named_parameters()}
    modules = {}
    if hasattr(model, "named_modules"):
        for name, module in model.named_modules():
            modules.setdefault(id(module), name or type(module).__name__)
    return params, modules


def collect(outputs, model=None, names=None) -> GraphItems:
    """The graph that produced ``outputs`` (a Tensor or a sequence of Tensors) as ``GraphItems``."""
    roots = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    for i, root in enumerate(roots):
        if not isinstance(root, Tensor):
            raise TypeError(f"draw_graph: output {i} is a {type(root).__name__}, expected a Tensor")
    if not roots:
        raise ValueError("draw_graph: no output tensor given")
    given = _name_mapping(names)
    if model is None:
        model = _model_that_made([r._ctx for r in roots if r._ctx is not None])
    param_names, module_names = _model_names(model)
    buffer_names = ({id(b): name for name, b in model.named_buffers()}
                    if hasattr(model, "named_buffers") else {})
    counters, tensors, ops = {}, {}, []
    root_ids = {id(r) for r in roots}

    def made_up(prefix):
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}{counters[prefix]}"

    def item_for(tensor, producer=None):
        item = tensors.get(id(tensor))
        if item is not None:
            return item
        name = (given.get(id(tensor)) or param_names.get(id(tensor)) or buffer_names.get(id(tensor))
                or tensor.name)
        if tensor._ctx is None and producer is None:
            is_param = id(tensor) in param_names or type(tensor).__name__ == "Parameter"
            kind = ("parameter" if is_param else "buffer" if id(tensor) in buffer_names
                    else "input" if tensor.requires_grad else "constant")
        else:
            kind = "intermediate"
        if id(tensor) in root_ids:
            kind = "output"
        auto = not name
        if auto:
            if kind == "output":
                name = "L" if len(roots) == 1 and tensor._data.size == 1 else made_up("out")
            elif producer is not None:
                name = made_up(producer.title.lower())
            else:
                name = made_up({"constant": "const", "parameter": "param"}.get(kind, "leaf"))
        item = tensors[id(tensor)] = TensorItem(f"t{len(tensors)}", tensor, name, auto, kind,
                                                producer)
        return item

    stand_ins, op_of = {}, {}

    def resolve(value):
        """A node's record of an input as a Tensor: the tensor itself while it is alive, else (it
        was freed, as PyTorch frees what backward does not need) a stand-in of its shape marked
        ``freed`` (its values are not shown)."""
        if value.__class__ is not InputRef:
            return value
        tensor = value.ref()
        if tensor is not None:
            return tensor
        # a freed leaf used by several ops is one stand-in: its uses share one weak reference
        key = (value._ctx, value._out_index) if value._ctx is not None else id(value.ref)
        stand_in = stand_ins.get(key)
        if stand_in is None:
            stand_in = stand_ins[key] = Tensor._make(np.zeros(value.shape, value.dtype))
            stand_in._ctx, stand_in._out_index = value._ctx, value._out_index
            stand_in.requires_grad, stand_in.name = value.requires_grad, value.name
            producer = op_of.get(value._ctx)
            item = item_for(stand_in, producer)
            item.freed = True
            if producer is not None:
                item.producer = producer
                producer.outputs.append(item)
        return stand_in

    root_nodes = [r._ctx for r in roots if r._ctx is not None]
    for ctx in reversed(topological_order(root_nodes)):  # producers first
        title, note, hidden = rules.recognise(ctx)
        module = getattr(ctx, "module", None)
        if module is model:  # ops of the model's own forward belong to the whole graph
            module = None
        op = OpItem(f"op{len(ops)}", ctx, title, note, rules.argument_details(ctx, hidden),
                    rules.local_rule(ctx, title), module)
        roles = rules.argument_names(ctx)
        op_of[ctx] = op
        inputs = op.arguments = tuple(resolve(v) for v in ctx.inputs)
        tensor_inputs = [p for p, v in enumerate(inputs) if isinstance(v, Tensor) and p != hidden]
        for position in tensor_inputs:
            item = item_for(inputs[position])
            item.consumers.append(op)
            role = roles[position] if len(tensor_inputs) > 1 else None
            op.inputs.append((position, item, role))
            if item.kind == "parameter" and op.module is not None and item.owner is None:
                item.owner = op.module
        for ref in ctx.outputs:
            out = ref()
            if out is not None:
                item = item_for(out, op)
                item.producer = op
                op.outputs.append(item)
        ops.append(op)
    root_items = [item_for(r) for r in roots]
    modules, parents = _module_tree(ops, module_names)
    return GraphItems(tensors, ops, root_items, modules, parents)


def _module_tree(ops, qualified):
    """Display names of the modules that recorded ops, and each one's parent (by qualified name)."""
    names, counts, unnamed = {}, {}, {}
    for op in ops:
        module = op.module
        if module is not None and id(module) not in qualified:
            unnamed.setdefault(type(module).__name__, {})[id(module)] = None
    for op in ops:
        module = op.module
        if module is None or id(module) in names:
            continue
        if id(module) in qualified:
            names[id(module)] = qualified[id(module)]
        else:  # not in model: the class name, numbered when there are several of a class
            kind = type(module).__name__
            counts[kind] = counts.get(kind, 0) + 1
            names[id(module)] = f"{kind}#{counts[kind]}" if len(unnamed[kind]) > 1 else kind
    parents = {}
    known = set(qualified.values())
    for name in list(names.values()):
        child = name
        while "." in child:
            parent = child.rsplit(".", 1)[0]
            if parent not in known:
                break
            parents.setdefault(child, parent)
            child = parent
    return names, parents
