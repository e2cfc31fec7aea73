"""Gradient checks: backprop's Jacobian against central finite differences, in float64.

For every checked variable x (each input that requires grad, and a Module's parameters) and every output
y, the numerical Jacobian column for element j is

    dy/dx_j  ~=  (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

and the analytical row for output element i comes from one backward pass with grad_output = e_i. An
element fails when |analytical - numerical| > atol + rtol * |numerical|.
"""
from __future__ import annotations

import warnings

import numpy as np

from .autodiff import grad as autograd_grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when backprop and finite differences disagree."""


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _to_float64(inputs):
    converted, warned = [], False
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            if x.dtype != np.float64 and x.requires_grad and not warned:
                warnings.warn("gradcheck: float32 inputs are checked in float64 (finite differences "
                              "in float32 are too inaccurate)", stacklevel=3)
                warned = True
            t = Tensor(x.data.astype(np.float64, copy=True), requires_grad=x.requires_grad)
            t.name = x.name
            converted.append(t)
        else:
            converted.append(x)
    return converted


def _float_outputs(result):
    outputs = _as_tuple(result)
    return [o for o in outputs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _jacobians(fn, inputs, variables, eps):
    """(analytical, numerical): lists indexed [variable][output] of (output.size, variable.size)."""
    outputs = _float_outputs(fn(*inputs))
    analytical = [[np.zeros((o.data.size, v.data.size)) for o in outputs] for v in variables]
    for o_index, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for i in range(out.data.size):
            seed = np.zeros(out.data.size, dtype=out.dtype)
            seed[i] = 1.0
            grads = autograd_grad(out, variables, Tensor(seed.reshape(out.shape)), retain_graph=True,
                                  allow_unused=True)
            for v_index, g in enumerate(grads):
                if g is not None:
                    analytical[v_index][o_index][i] = g.data.ravel()
    numerical = [[np.zeros((o.data.size, v.data.size)) for o in outputs] for v in variables]
    # Grad mode stays on: gradgradcheck's function itself calls backward.
    for v_index, v in enumerate(variables):
        flat = v.data.reshape(-1)  # a view: v owns a contiguous float64 copy
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = [o.data.ravel().copy() for o in _float_outputs(fn(*inputs))]
            flat[j] = original - eps
            minus = [o.data.ravel().copy() for o in _float_outputs(fn(*inputs))]
            flat[j] = original
            for o_index in range(len(outputs)):
                numerical[v_index][o_index][:, j] = (plus[o_index] - minus[o_index]) / (2 * eps)
    return analytical, numerical


def _compare(analytical, numerical, variables, names, atol, rtol, what):
    for v_index, (rows_a, rows_n) in enumerate(zip(analytical, numerical)):
        for o_index, (a, n) in enumerate(zip(rows_a, rows_n)):
            diff = np.abs(a - n)
            bad = ~(diff <= atol + rtol * np.abs(n))  # NaN counts as a failure
            if bad.any():
                excess = np.where(bad, np.nan_to_num(diff - atol - rtol * np.abs(n), nan=np.inf), -np.inf)
                out_i, in_j = np.unravel_index(np.argmax(excess), excess.shape)
                element = np.unravel_index(in_j, variables[v_index].shape) if variables[v_index].ndim else ()
                relative = diff[out_i, in_j] / max(abs(n[out_i, in_j]), 1e-300)
                return (f"{what} mismatch for {names[v_index]} (shape {variables[v_index].shape}) at "
                        f"element {tuple(int(e) for e in element)}, output {o_index} element {out_i}: "
                        f"analytical {a[out_i, in_j]:.10g} vs numerical {n[out_i, in_j]:.10g} "
                        f"(abs error {diff[out_i, in_j]:.3g}, rel error {relative:.3g}; atol={atol}, "
                        f"rtol={rtol}); {int(bad.sum())} of {bad.size} Jacobian entries fail")
    return None


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check backprop against central differences for ``fn(*inputs)``.

    ``fn`` is a function of Tensors or an ``nn.Module`` (then its parameters are checked too, in
    float64, and restored afterwards). Returns True, or raises ``GradcheckError`` (returns False when
    ``raise_exception=False``) with a message naming the input, the element and the two values.
    """
    inputs = _to_float64(_as_tuple(inputs))
    variables = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    names = [f"input {i}" + (f" ({x.name})" if x.name else "") for i, x in enumerate(inputs)
             if isinstance(x, Tensor) and x.requires_grad]
    restore = []
    if hasattr(fn, "named_parameters"):
        for name, p in fn.named_parameters():
            if p.requires_grad:
                restore.append((p, p.data, p.grad))
                p.data, p.grad = p.data.astype(np.float64, copy=True), None
                variables.append(p)
                names.append(f"parameter {name}")
    if not variables:
        raise ValueError("gradcheck: no input requires grad, nothing to check")
    try:
        analytical, numerical = _jacobians(fn, inputs, variables, eps)
    finally:
        for p, data, old_grad in restore:
            p.data, p.grad = data, old_grad
    message = _compare(analytical, numerical, variables, names, atol, rtol, "Jacobian")
    if message is None:
        return True
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of x, v -> d(fn(x) . v)/dx (built with create_graph=True)
    with respect to both x and v. ``grad_outputs`` defaults to random float64 tensors."""
    inputs = _to_float64(_as_tuple(inputs))
    variables = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    outputs = _float_outputs(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outputs]
    else:
        grad_outputs = _to_float64(_as_tuple(grad_outputs))
        for g in grad_outputs:
            g.requires_grad_(True)
    n_inputs = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n_inputs], args[n_inputs:]
        diff_xs = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        pairs = [(o, v) for o, v in zip(_float_outputs(fn(*xs)), vs) if o.requires_grad]
        outs, used_vs = [o for o, _ in pairs], [v for _, v in pairs]
        if not outs:
            return tuple(x * 0.0 for x in diff_xs)
        grads = autograd_grad(outs, diff_xs, used_vs, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else x * 0.0 for g, x in zip(grads, diff_xs))

    return gradcheck(first_derivative, list(inputs) + list(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
