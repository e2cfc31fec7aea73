"""Gradient checks: backprop's Jacobian against central finite differences, in float64.

For every checked variable x (each input that requires grad, and a Module's parameters) and every
float output y, the numerical Jacobian column for element j is

    dy/dx_j  ~=  (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

and the analytical row for output element i comes from one backward pass with grad_output = e_i.
An entry fails when |analytical - numerical| > atol + rtol * |numerical| (NaN always fails).

When ``fn`` is a Module its buffers (BatchNorm's running statistics) are saved before the probes
and restored after them: a check of a model in training mode leaves its state unchanged (a plain
function that closes over a model should call ``model.eval()`` or check the model itself).

``gradgradcheck`` runs the same check on the function (x, v) -> d(f(x) . v)/dx, built with
``create_graph=True``: its Jacobian holds the second derivatives.
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
    """Float64 copies of the float tensor inputs (warning once when one was in lower precision)."""
    converted, warned = [], False
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            if x.dtype != np.float64 and x.requires_grad and not warned:
                warnings.warn("gradcheck: float32 inputs are checked in float64 (finite differences "
                              "in float32 are too inaccurate)", stacklevel=3)
                warned = True
            t = Tensor(np.array(x._data, dtype=np.float64), requires_grad=x.requires_grad)
            t.name = x.name
            converted.append(t)
        else:
            converted.append(x)
    return converted


def _float_outputs(result):
    outputs = _as_tuple(result)
    for o in outputs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return Tensors, got {type(o).__name__}")
    return [o for o in outputs if o.dtype.kind == "f"]


def _parameters(fn):
    """(name, parameter) pairs of a Module-like ``fn`` that require grad (empty for functions)."""
    if not hasattr(fn, "named_parameters"):
        return []
    return [(name, p) for name, p in fn.named_parameters() if p.requires_grad]


def _buffers(fn):
    """The buffers of a Module-like ``fn`` (BatchNorm's running statistics, ...), empty otherwise."""
    return list(fn.buffers()) if hasattr(fn, "buffers") else []


def _check_deterministic(fn, inputs, outputs):
    """Finite differences of a function that changes between calls (Dropout in training mode, noise)
    measure the randomness: refuse it with a hint instead of reporting huge Jacobian mismatches."""
    for index, (first, again) in enumerate(zip(outputs, _float_outputs(fn(*inputs)))):
        if not np.allclose(first._data, again._data, rtol=1e-10, atol=1e-12, equal_nan=True):
            change = float(np.nanmax(np.abs(first._data - again._data)))
            raise GradcheckError(
                f"gradcheck: the function is not deterministic: output {index} changed by up to "
                f"{change:.3g} between two calls with the same inputs, so finite differences "
                "cannot be compared with backprop. Dropout in training mode? Call model.eval(), or "
                "reseed (ag.manual_seed) inside the function.")


def _jacobians(fn, inputs, variables, eps):
    """(analytical, numerical): lists indexed [variable][output] of (output.size, variable.size)."""
    outputs = _float_outputs(fn(*inputs))
    _check_deterministic(fn, inputs, outputs)
    analytical = [[np.zeros((o._data.size, v._data.size)) for o in outputs] for v in variables]
    for o_index, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        for i in range(out._data.size):
            seed = np.zeros(out._data.size, dtype=out.dtype)
            seed[i] = 1.0
            grads = autograd_grad(out, variables, Tensor(seed.reshape(out.shape)), retain_graph=True,
                                  allow_unused=True)
            for v_index, g in enumerate(grads):
                if g is not None:
                    analytical[v_index][o_index][i] = g._data.ravel()
    numerical = [[np.zeros((o._data.size, v._data.size)) for o in outputs] for v in variables]
    # Grad mode stays on: gradgradcheck's function itself calls backward.
    for v_index, v in enumerate(variables):
        flat = v._data.reshape(-1)  # a view: v owns a contiguous float64 copy
        for j in range(flat.size):
            original = flat[j]
            flat[j] = original + eps
            plus = [o._data.ravel().copy() for o in _float_outputs(fn(*inputs))]
            flat[j] = original - eps
            minus = [o._data.ravel().copy() for o in _float_outputs(fn(*inputs))]
            flat[j] = original
            for o_index in range(len(outputs)):
                numerical[v_index][o_index][:, j] = (plus[o_index] - minus[o_index]) / (2 * eps)
    return analytical, numerical


def _compare(analytical, numerical, variables, names, atol, rtol, what):
    """None when every entry agrees, else a message about the worst failing entry."""
    for v_index, (rows_a, rows_n) in enumerate(zip(analytical, numerical)):
        for o_index, (a, n) in enumerate(zip(rows_a, rows_n)):
            diff = np.abs(a - n)
            bad = ~(diff <= atol + rtol * np.abs(n))  # NaN counts as a failure
            if not bad.any():
                continue
            excess = np.where(bad, np.nan_to_num(diff - atol - rtol * np.abs(n), nan=np.inf), -np.inf)
            out_i, in_j = np.unravel_index(np.argmax(excess), excess.shape)
            shape = variables[v_index].shape
            element = tuple(int(e) for e in np.unravel_index(in_j, shape)) if shape else ()
            relative = diff[out_i, in_j] / max(abs(n[out_i, in_j]), 1e-300)
            return (f"{what} mismatch for {names[v_index]} (shape {shape}) at element {element}, "
                    f"output {o_index} element {out_i}: analytical {a[out_i, in_j]:.10g} vs numerical "
                    f"{n[out_i, in_j]:.10g} (abs error {diff[out_i, in_j]:.3g}, rel error "
                    f"{relative:.3g}; tolerances atol={atol}, rtol={rtol}); {int(bad.sum())} of "
                    f"{bad.size} Jacobian entries fail for this input and output")
    return None


def _check(fn, inputs, names, eps, atol, rtol, raise_exception, what):
    variables = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    restore = []
    parameters = _parameters(fn)
    if any(p.dtype != np.float64 for _, p in parameters):
        warnings.warn("gradcheck: the model's parameters are checked in float64 copies (restored "
                      "afterwards)", stacklevel=3)
    for name, p in parameters:
        restore.append((p, p._data, p.grad))
        p._data, p.grad = np.array(p._data, dtype=np.float64), None
        variables.append(p)
        names.append(f"parameter {name}")
    if not variables:
        raise ValueError("gradcheck: no input (or parameter) requires grad, nothing to check. Give "
                         "an input requires_grad=True, or pass the model itself as fn (an "
                         "nn.Module, e.g. one whose forward returns the loss) to check its "
                         "parameters")
    # Every probe is a forward call: a model in training mode would update its buffers (BatchNorm's
    # running statistics, num_batches_tracked) hundreds of times. Their values are saved here and
    # put back afterwards, so a gradcheck leaves the model's state as it found it.
    saved_buffers = [(b, b._data.copy()) for b in _buffers(fn)]
    try:
        analytical, numerical = _jacobians(fn, inputs, variables, eps)
    finally:
        for p, data, old_grad in restore:
            p._data, p.grad = data, old_grad
        for buffer, data in saved_buffers:
            buffer._data[...] = data
    message = _compare(analytical, numerical, variables, names, atol, rtol, what)
    if message is None:
        return True
    if raise_exception:
        raise GradcheckError(message)
    return False


def _input_names(inputs, label="input"):
    return [f"{label} {i}" + (f" ({x.name})" if x.name else "") for i, x in enumerate(inputs)
            if isinstance(x, Tensor) and x.requires_grad]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check backprop against central differences for ``fn(*inputs)``.

    ``fn`` is a function of Tensors or an ``nn.Module`` (then its parameters are checked too, in
    float64, and restored afterwards). Returns True, or raises ``GradcheckError`` (returns False with
    ``raise_exception=False``) naming the input, the element, the two values, their absolute and
    relative difference, the tolerances and how many entries failed.
    """
    inputs = _to_float64(_as_tuple(inputs))
    return _check(fn, inputs, _input_names(inputs), eps, atol, rtol, raise_exception, "Jacobian")


class _FirstDerivative:
    """(x..., v...) -> d(sum_k fn(x)_k . v_k)/d(x and fn's parameters), with create_graph=True. It
    exposes fn's parameters, so the outer check perturbs them too."""

    def __init__(self, fn, n_inputs):
        self.fn, self.n_inputs = fn, n_inputs

    def named_parameters(self):
        return _parameters(self.fn)

    def buffers(self):
        return _buffers(self.fn)

    def __call__(self, *args):
        xs, vs = args[:self.n_inputs], args[self.n_inputs:]
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        wrt += [p for _, p in _parameters(self.fn)]
        pairs = [(o, v) for o, v in zip(_float_outputs(self.fn(*xs)), vs) if o.requires_grad]
        if not pairs:
            return tuple(x * 0.0 for x in wrt)
        grads = autograd_grad([o for o, _ in pairs], wrt, [v for _, v in pairs], create_graph=True,
                              allow_unused=True)
        return tuple(g if g is not None else x * 0.0 for g, x in zip(grads, wrt))


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """Check second derivatives: gradcheck of (x, v) -> d(fn(x) . v)/dx (built with
    ``create_graph=True``) with respect to x, v (and a Module's parameters). ``grad_outputs`` (the v)
    default to random float64 tensors."""
    inputs = _to_float64(_as_tuple(inputs))
    saved_buffers = [(b, b._data.copy()) for b in _buffers(fn)]
    with warnings.catch_warnings():  # only the output shapes are needed here; the check runs later
        warnings.simplefilter("ignore")
        outputs = _float_outputs(fn(*inputs))
    for buffer, data in saved_buffers:
        buffer._data[...] = data
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outputs]
    else:
        grad_outputs = _to_float64(_as_tuple(grad_outputs))
        for g in grad_outputs:
            g.requires_grad_(True)
    names = _input_names(inputs) + [f"grad_output {i}" for i in range(len(grad_outputs))]
    return _check(_FirstDerivative(fn, len(inputs)), list(inputs) + list(grad_outputs), names, eps,
                  atol, rtol, raise_exception, "second-derivative (gradient's Jacobian)")
