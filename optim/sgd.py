"""Stochastic gradient descent with momentum (heavy ball or Nesterov) and weight decay."""
from __future__ import annotations

import numpy as np

from autograd_lite import kernels
from autograd_lite.sparse_grad import RowSparseGrad

from .optimizer import Optimizer, check_nonnegative


class SGD(Optimizer):
    r"""SGD, with PyTorch's update rule. For each parameter p with gradient g, at step t:

        g <- g + weight_decay * p                        (if weight_decay != 0; L2 penalty)
        b_1 = g;  b_t = momentum * b_{t-1} + (1 - dampening) * g     (if momentum != 0)
        g <- g + momentum * b_t   (nesterov=True)   or   g <- b_t   (nesterov=False)
        p <- p - lr * g

    Momentum (Polyak 1964; Nesterov form after Sutskever et al. 2013). Course notes often write
    momentum as an exponential moving average, v_t = beta v_{t-1} + (1 - beta) g: that is
    ``SGD(..., momentum=beta, dampening=beta)`` here (and in PyTorch); the default dampening=0
    gives the heavy-ball sum v_t = beta v_{t-1} + g, i.e. a learning rate 1/(1 - beta) larger.
    ``maximize=True`` ascends instead (g <- -g first).

    Each line is rounded as torch.optim.SGD rounds it, so the two give the same bits (float32
    and float64, tests/test_optim.py): the weight decay, the dampened sum, Nesterov's step and
    the update are each one fused multiply-add (PyTorch's ``a.add_(b, alpha=c)``; here BLAS's
    axpy or the Numba pass's ``fma``, ``kernels.sgd_update``), the rest plain products and sums.

    Without momentum or weight decay, a row-sparse ``.grad`` (an embedding table's, see
    ``optim/optimizer.py``) updates only the rows it has: the other rows' update is p - lr * 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, **implementation):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize), **implementation)

    _implementation_switches = ("foreach", "differentiable", "fused")

    def _validate(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay", "dampening")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"Nesterov momentum requires a momentum > 0 and zero dampening (got "
                             f"momentum={group['momentum']}, dampening={group['dampening']})")

    def _update(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        for p, grad in self._parameters_with_gradients(group, rows_ok=not momentum):
            if grad.__class__ is RowSparseGrad:  # p[rows] -= lr * values, as the dense update does
                rows = p._data[grad.rows]  # (a copy of those rows)
                kernels.axpy(-lr, np.ascontiguousarray(grad.values, rows.dtype), rows)
                p._data[grad.rows] = rows
                p._version_counter[0] += 1  # (the counter itself: no property call per parameter)
                continue
            if momentum:
                state = self.state.setdefault(p, {})
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    buffer = state["momentum_buffer"] = np.array(grad, dtype=p.dtype)
                else:  # (each step rounded as PyTorch's buf.mul_(momentum).add_(g, alpha=1 - dampening))
                    buffer *= momentum
                    if dampening == 0:
                        buffer += grad
                    else:
                        kernels.axpy(1.0 - dampening, grad, buffer)
                grad = kernels.add_scaled(grad, momentum, buffer) if group["nesterov"] else buffer
            kernels.sgd_update(p._data, grad, lr)
            p._version_counter[0] += 1  # (the counter itself: no property call per parameter)
