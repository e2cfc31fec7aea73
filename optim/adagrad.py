"""Adagrad and Adadelta: per-coordinate step sizes from accumulated squared gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_nonnegative, check_unit_interval


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011), PyTorch's update rule, step t >= 1:

        g <- g + weight_decay * p                       (if weight_decay != 0)
        lr_t = lr / (1 + (t - 1) lr_decay)
        s_t = s_{t-1} + g^2                             (s_0 = initial_accumulator_value)
        p <- p - lr_t g / (sqrt(s_t) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False, **implementation):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize), **implementation)

    _implementation_switches = ("foreach", "differentiable", "fused")

    def _validate(self, group):
        check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                          "eps")

    def _initial_state(self, p, group):
        return {"step": 0, "sum": np.full_like(p._data, group["initial_accumulator_value"])}  # t, s

    def _update(self, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p, grad in self._parameters_with_gradients(group):
            state = self._state(p, group)
            state["step"] += 1
            clr = lr / (1.0 + (state["step"] - 1) * lr_decay)
            state["sum"] += grad * grad
            denominator = np.sqrt(state["sum"])
            denominator += eps
            p._data -= clr * (grad / denominator)
            p._version += 1


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler 2012), PyTorch's update rule:

        g <- g + weight_decay * p                             (if weight_decay != 0)
        v_t = rho v_{t-1} + (1 - rho) g^2
        delta = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t = rho u_{t-1} + (1 - rho) delta^2
        p <- p - lr delta                                     (v_0 = u_0 = 0)
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False,
                 **implementation):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize), **implementation)

    _implementation_switches = ("foreach", "capturable", "differentiable")

    def _validate(self, group):
        check_nonnegative(group, "lr", "eps", "weight_decay")
        check_unit_interval("rho", group["rho"], closed=True)

    def _initial_state(self, p, group):
        return {"step": 0, "square_avg": np.zeros_like(p._data),    # v
                "acc_delta": np.zeros_like(p._data)}                # u

    def _update(self, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for p, grad in self._parameters_with_gradients(group):
            state = self._state(p, group)
            state["step"] += 1
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            square_avg *= rho
            square_avg += (1.0 - rho) * grad * grad
            delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
            acc_delta *= rho
            acc_delta += (1.0 - rho) * delta * delta
            p._data -= lr * delta
            p._version += 1
