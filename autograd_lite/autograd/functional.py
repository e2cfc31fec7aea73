"""``torch.autograd.functional``: Jacobians, Hessians and vector products of a function of tensors,
built on ``ag.grad`` (reverse mode).

* ``jacobian(f, x)``: J[i..., j...] = d f(x)[i...] / d x[j...], one backward pass per output element;
* ``hessian(f, x)``: the Jacobian of the gradient of a scalar f;
* ``vjp(f, x, v)`` = v^T J (one backward pass); ``jvp(f, x, v)`` = J v, by the double-backward
  trick: g(u) = J^T u is linear in u, so d(g(u) . v)/du = J v;
* ``hvp(f, x, v)`` = H v and ``vhp(f, x, v)`` = v^T H (equal for a twice-differentiable f).

As in PyTorch, ``inputs`` is a Tensor or a tuple of Tensors, the results mirror that structure, and
the outputs and results are detached unless ``create_graph=True``.
"""
from __future__ import annotations

import numpy as np

from ..autodiff import grad as _grad
from ..function import enable_grad
from ..tensor import Tensor


def _as_tuple(value, what):
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"{what}[{i}] must be a Tensor, got {type(item).__name__}" if is_tuple
                            else f"{what} must be a Tensor or a tuple of Tensors, got {type(item).__name__}")
    return is_tuple, items


def _prepare(inputs, create_graph):
    """Inputs that require grad: the originals (so results stay differentiable with respect to
    them) under create_graph, detached copies otherwise."""
    return tuple(x if create_graph and x.requires_grad else
                 Tensor._make(x._data.copy() if x.is_floating_point() else x._data.astype(np.float32))
                 .requires_grad_() for x in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph):
    """ag.grad with zeros for the inputs an output does not depend on."""
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not live:
        return tuple(Tensor._make(np.zeros_like(x._data)) for x in inputs)
    grads = _grad([o for o, _ in live], inputs, [g for _, g in live], retain_graph=True,
                  create_graph=create_graph, allow_unused=True)
    return tuple(Tensor._make(np.zeros_like(x._data)) if g is None else g for g, x in zip(grads, inputs))


def _finish(value, create_graph):
    return value if create_graph else value.detach()


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for one input and one output a Tensor of shape
    ``output.shape + input.shape``; tuples of them (indexed [output][input]) otherwise."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "the output of func")
        blocks = []
        for out in outputs:
            rows = []
            for j in range(out.numel()):
                seed = np.zeros(out.shape, out.dtype if out.is_floating_point() else np.float32)
                seed.reshape(-1)[j] = 1
                rows.append(_grads([out], inputs, [Tensor._make(seed)], create_graph))
            blocks.append(tuple(_jacobian_block([r[i] for r in rows], out, x) for i, x in enumerate(inputs)))
    blocks = [tuple(_finish(b, create_graph) for b in row) for row in blocks]
    if not outputs_tuple:
        return blocks[0] if inputs_tuple else blocks[0][0]
    return tuple(row if inputs_tuple else row[0] for row in blocks)


def _jacobian_block(rows, out, x):
    from ..ops.composite import stack
    if not rows:
        return Tensor._make(np.zeros(out.shape + x.shape, x.dtype))
    return stack(rows).reshape(out.shape + x.shape)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of the scalar ``func`` at ``inputs``: a Tensor of shape ``input.shape * 2`` for one
    input, a tuple of tuples [i][j] = d^2 f / d x_i d x_j for several."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")

    def gradient(*xs):
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: func must return a Tensor with a single element, got "
                               f"{getattr(out, 'shape', type(out).__name__)}")
        return _grads([out.reshape(())], xs, [None], create_graph=True)

    result = jacobian(gradient, inputs, create_graph=create_graph)
    return result if inputs_tuple else result[0][0]


def _vector(v, outputs, what):
    if v is None:
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"{what}: v may be omitted only when func returns a single-element "
                               "Tensor")
        return (None,)
    _, vs = _as_tuple(v, "v")
    if len(vs) != len(outputs) or any(a.shape != b.shape for a, b in zip(vs, outputs)):
        raise RuntimeError(f"{what}: v has shapes {[a.shape for a in vs]} but needs "
                           f"{[b.shape for b in outputs]}")
    return vs


def _wrap(is_tuple, items):
    return tuple(items) if is_tuple else items[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "the output of func")
        vs = _vector(v, outputs, "vjp")
        grads = _grads(outputs, inputs, vs, create_graph)
    return (_wrap(outputs_tuple, [_finish(o, create_graph) for o in outputs]),
            _wrap(inputs_tuple, [_finish(g, create_graph) for g in grads]))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product by the double-backward trick."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    vs = _vector(v, inputs, "jvp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "the output of func")
        dummies = tuple(Tensor._make(np.zeros(o.shape, o.dtype if o.is_floating_point() else np.float32))
                        .requires_grad_() for o in outputs)
        transposed = _grads(outputs, inputs, dummies, create_graph=True)  # J^T u, linear in u
        vs = [Tensor._make(np.ones(x.shape, x.dtype)) if w is None else w for w, x in zip(vs, inputs)]
        products = _grads(transposed, dummies, vs, create_graph)
    return (_wrap(outputs_tuple, [_finish(o, create_graph) for o in outputs]),
            _wrap(outputs_tuple, [_finish(p, create_graph) for p in products]))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar ``func``: d (grad f . v) / dx."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    vs = _vector(v, inputs, "vhp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out = func(*inputs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("vhp/hvp: func must return a Tensor with a single element")
        first = _grads([out.reshape(())], inputs, [None], create_graph=True)
        vs = [Tensor._make(np.ones(x.shape, x.dtype)) if w is None else w for w, x in zip(vs, inputs)]
        products = _grads(first, inputs, vs, create_graph)
    return (_finish(out, create_graph), _wrap(inputs_tuple, [_finish(p, create_graph) for p in products]))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar ``func``; H is symmetric, so H v = (v^T H)^T."""
    return vhp(func, inputs, v, create_graph, strict)


__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]
