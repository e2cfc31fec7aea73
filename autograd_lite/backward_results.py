"""What a node's backward returned, checked and normalised for the engine (``autodiff``) and the
step-by-step stepper: one gradient per forward argument, Tensors (arrays and numbers wrapped),
zeros for the unused outputs of multi-output ops, and anomaly detection's check that finite output
gradients did not give a NaN or Inf input gradient."""
from __future__ import annotations

import numpy as np

from .anomaly import count_bad as _count_bad


def checked_in_grads(node, in_grads):
    """What backward returned as a tuple of one gradient per forward argument."""
    if in_grads.__class__ is not tuple:
        in_grads = as_tuple(in_grads)
    if len(in_grads) > len(node.inputs) and all(g is None for g in in_grads[len(node.inputs):]):
        in_grads = in_grads[:len(node.inputs)]  # extra trailing Nones (optional inputs) are allowed
    if len(in_grads) != len(node.inputs):
        raise RuntimeError(
            f"{node.name()}.backward returned {len(in_grads)} gradient(s) but forward took "
            f"{len(node.inputs)} argument(s): return one per argument (None where not needed)")
    return in_grads


def as_tuple(in_grads):
    if isinstance(in_grads, tuple):
        return in_grads
    return tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)


def as_gradient(node, grad):
    if isinstance(grad, Tensor):
        return grad
    if isinstance(grad, RowSparseGrad):  # where a leaf's scatter-add cannot take it
        return grad.dense()
    if isinstance(grad, (np.ndarray, np.generic, float, int)):
        return Tensor._make(np.asarray(grad))
    raise TypeError(f"{node.name()}.backward returned a {type(grad).__name__} as a gradient: return "
                    "Tensors (or None)")


def zeros_like_output(node, index):
    shape, dtype = node._output_meta[index]
    return Tensor._make(np.zeros(shape, dtype))


def check_backward(node, grads, in_grads):
    if not all(np.isfinite(g._data).all() for g in grads if g is not None):
        return  # the NaN/Inf came from further down the graph: that node reports it
    for position, grad in enumerate(in_grads):
        if isinstance(grad, Tensor) and grad._data.dtype.kind == "f" and not np.isfinite(grad._data).all():
            where = "".join(node.created_at) if node.created_at else "(created outside detect_anomaly)\n"
            raise FloatingPointError(
                f"detect_anomaly: backward of {node.name()} returned {_count_bad(grad._data)} in the "
                f"gradient of its input {position} (shape {grad.shape}) from finite output gradients. "
                f"The forward {node.name()} was created here:\n{where}")


from .tensor import Tensor  # noqa: E402  (tensor imports autodiff, which imports this module)
from .sparse_grad import RowSparseGrad  # noqa: E402  (it imports tensor)
