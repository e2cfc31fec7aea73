"""What a graph node keeps of its arguments besides the saved tensors.

``ctx.inputs`` holds, per forward argument: a leaf that requires grad as itself (its ``.grad`` is
filled, as PyTorch's AccumulateGrad keeps it), any other tensor as an ``InputRef`` (edge, shape, dtype
and a weak reference), and other values as given; under ``ag.retain_grads()`` (teaching) every
tensor is kept, so its value can be shown. ``AccumulateGrad`` is what ``grad_fn.next_functions``
shows for a leaf.
"""
from __future__ import annotations


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the step that accumulates into ``variable.grad``."""
    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    @staticmethod
    def name():
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return f"<AccumulateGrad object for a leaf of shape {tuple(self.variable.shape)}>"


class InputRef:
    """What a node keeps of a tensor argument that is not a leaf requiring grad: the producing node
    and output index (the graph's edge), shape and dtype, and a weak reference to the tensor (the
    teaching views show its value while it is alive). So a graph holds only what backward saved:
    intermediate results and constant inputs are freed as soon as nobody else needs them.

    For a tensor computed by a recorded op the weak reference is the producer's own
    (``node.outputs[index]``), so recording makes none; a constant keeps one in ``_leaf_ref``."""
    __slots__ = ("_ctx", "_out_index", "shape", "dtype", "requires_grad", "_leaf_ref", "name")
    _backward_hooks = None

    @property
    def ref(self):
        """A weak reference to the tensor (call it: the tensor, or None once it was freed)."""
        node = self._ctx
        return self._leaf_ref if node is None else node.outputs[self._out_index]

    def tensor(self):
        """The tensor this stands for, or None once it was freed."""
        return self.ref()

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"InputRef(shape={self.shape}, dtype={self.dtype}, node={self._ctx and self._ctx.name()})"


def shape_of(x):
    """The shape of a Tensor or of a node's ``InputRef`` as a plain tuple (no ``ag.Size``: backward
    formulas are the hot path)."""
    return x.shape if x.__class__ is InputRef else x._data.shape
