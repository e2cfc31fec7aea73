"""Export a model to ONNX: ``ag.onnx.export(model, example_input, "model.onnx")``.

The model runs once on the example input (in eval mode, recording every op, with every input
tensor kept); the recorded graph is walked from the inputs to the outputs and each node is written
by its op's own ``onnx`` method, which lives beside the op's forward and backward:

    @staticmethod
    def onnx(g, node, inputs, outputs):
        g.op("Relu", inputs[:1], outputs)

``inputs`` holds one ONNX value name per forward argument (None for non-tensor arguments, which the
method reads from ``node.inputs``), ``outputs`` the names to give the node's outputs. ``g`` (an
``OnnxGraph``) adds nodes and constants with the ``onnx`` package's helpers. An op without an
``onnx`` method raises ``UnsupportedOperatorError`` naming it. Parameters become initializers; the
example inputs become the graph's inputs, with ``dynamic_axes`` (e.g. ``{"input": {0: "batch"}}``)
left symbolic. Needs the optional ``onnx`` package (``pip install -e ".[onnx]"``); check a file with
ONNX Runtime: ``onnxruntime.InferenceSession(path).run(None, {"input": x})``.
"""
from __future__ import annotations

import numpy as np

from .graph_walk import topological_order
from .function import InputRef, retain_grads, enable_grad
from .tensor import Tensor

__all__ = ["export", "OnnxGraph", "UnsupportedOperatorError"]

DEFAULT_OPSET = 17


class UnsupportedOperatorError(RuntimeError):
    """An op of the model has no ONNX mapping."""


class OnnxGraph:
    """The ONNX graph being written: nodes, initializers, and names for values."""

    def __init__(self, onnx, batch_size=None, dynamic_batch=False):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers = [], []
        self.counter = 0
        self.batch_size, self.dynamic_batch = batch_size, dynamic_batch

    def fresh(self, prefix="v"):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def op(self, op_type, inputs, outputs=None, **attributes):
        """Add a node; returns its output names (one fresh name unless ``outputs`` is given)."""
        outputs = list(outputs) if outputs is not None else [self.fresh(op_type.lower())]
        self.nodes.append(self.helper.make_node(op_type, [i or "" for i in inputs], outputs,
                                                name=self.fresh(op_type), **attributes))
        return outputs

    def constant(self, value, dtype=None, name=None):
        """An initializer holding ``value`` (a number or array) in ``dtype``; returns its name."""
        array = np.asarray(value, dtype=dtype)
        name = name or self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def reshape_target(self, input_shape, shape):
        """Reshape's target for ONNX: with a dynamic batch, a leading dim equal to the traced batch
        size (and to the input's leading dim) becomes 0, ONNX's "copy the input's dim"."""
        shape = list(shape)
        if self.dynamic_batch and shape and input_shape and shape[0] == input_shape[0] == self.batch_size:
            shape[0] = 0
        return self.constant(np.array(shape, np.int64))


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - onnx is installed with the test extra
        raise ImportError("ag.onnx.export needs the onnx package: pip install onnx (or "
                          "pip install -e '.[onnx]')") from None
    return onnx


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def export(model, example_input, path, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=DEFAULT_OPSET):
    """Write ``model`` (an ``nn.Module`` or a function of tensors), traced on ``example_input`` (a
    Tensor or a tuple of them), to ``path`` as ONNX; returns the ``onnx.ModelProto``.

    ``input_names``/``output_names`` name the graph's inputs and outputs (default ``input``,
    ``input_1``, ... and ``output``, ...); ``dynamic_axes`` maps a name to ``{axis: "label"}`` for
    axes left symbolic (the batch axis, typically). The model runs in eval mode; its mode is
    restored afterwards."""
    onnx = _onnx()
    inputs = _as_tuple(example_input)
    for i, value in enumerate(inputs):
        if not isinstance(value, Tensor):
            raise TypeError(f"export: example_input[{i}] is a {type(value).__name__}, expected a Tensor")
    input_names = list(input_names or [f"input{'_' + str(i) if i else ''}" for i in range(len(inputs))])
    if len(input_names) != len(inputs):
        raise ValueError(f"export: {len(input_names)} input_names for {len(inputs)} inputs")
    dynamic_axes = dict(dynamic_axes or {})
    training = getattr(model, "training", None)
    if training is not None:
        model.eval()
    traced = [t.detach().clone().requires_grad_(True) if t.dtype.kind == "f" else t.detach()
              for t in inputs]
    try:
        with enable_grad(), retain_grads():
            outputs = _as_tuple(model(*traced))
    finally:
        if training:
            model.train()
    output_names = list(output_names or [f"output{'_' + str(i) if i else ''}"
                                         for i in range(len(outputs))])
    if len(output_names) != len(outputs):
        raise ValueError(f"export: {len(output_names)} output_names for {len(outputs)} outputs")
    batch = inputs[0].shape[0] if inputs[0].ndim else None
    dynamic_batch = any(0 in axes for axes in dynamic_axes.values())
    g = OnnxGraph(onnx, batch, dynamic_batch)
    names = {id(t): name for t, name in zip(traced, input_names)}
    kept = []  # tensors named here stay alive until the export ends (ids are reused otherwise)

    def name_of(value):
        tensor = value.ref() if value.__class__ is InputRef else value
        if tensor is None:
            raise RuntimeError("export: a tensor of the traced graph was freed")
        name = names.get(id(tensor))
        if name is None:  # a parameter or a constant the model made: an initializer
            name = names[id(tensor)] = g.constant(tensor._data, name=tensor.name and
                                                  f"{tensor.name}_{g.fresh('')}" or None)
            kept.append(tensor)
        return name

    for position, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"export: the model returned a {type(out).__name__} as output {position}")
    roots = [out._ctx for out in outputs if out._ctx is not None]
    for node in reversed(topological_order(roots)):  # producers first
        method = getattr(type(node), "onnx", None)
        if method is None:
            raise UnsupportedOperatorError(
                f"export: op {node.name()} has no ONNX mapping (autograd-lite writes "
                f"{', '.join(sorted(supported_ops()))})")
        arg_names = [name_of(v) if isinstance(v, (Tensor, InputRef)) else None for v in node.inputs]
        out_names = []
        for index, ref in enumerate(node.outputs):
            out = ref()
            name = g.fresh(node.name().lower())
            if out is not None:
                names[id(out)] = name
                kept.append(out)
            out_names.append(name)
        method(g, node, arg_names, out_names)
    final = []
    for out, name in zip(outputs, output_names):
        g.op("Identity", [name_of(out)], [name])
        final.append(name)

    def value_info(name, tensor):
        shape = list(tensor.shape)
        for axis, label in dynamic_axes.get(name, {}).items():
            shape[axis] = label
        return onnx.helper.make_tensor_value_info(
            name, onnx.helper.np_dtype_to_tensor_dtype(tensor.dtype), shape)

    graph = onnx.helper.make_graph(
        g.nodes, "autograd_lite", [value_info(n, t) for n, t in zip(input_names, inputs)],
        [value_info(n, t) for n, t in zip(final, outputs)], g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="autograd-lite",
                                   opset_imports=[onnx.helper.make_opsetid("", opset_version)])
    proto.ir_version = min(proto.ir_version, 9)  # readable by older ONNX Runtimes too
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return proto


def supported_ops():
    """Names of the ops that have an ONNX mapping."""
    from .function import Function
    found, stack = set(), list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "onnx", None) is not None:
            found.add(cls.__name__)
    return found
