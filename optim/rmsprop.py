"""RMSprop: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_nonnegative


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6e, 2012), PyTorch's update rule:

        g <- g + weight_decay * p                            (if weight_decay != 0)
        v_t = alpha v_{t-1} + (1 - alpha) g^2                 (v_0 = 0)
        centered:  m_t = alpha m_{t-1} + (1 - alpha) g,  d = sqrt(v_t - m_t^2) + eps
        otherwise: d = sqrt(v_t) + eps
        momentum > 0:  b_t = momentum b_{t-1} + g / d,  p <- p - lr b_t
        otherwise:     p <- p - lr g / d

    Note eps is added outside the square root (as in PyTorch; Keras adds it inside).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False, **implementation):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize),
                         **implementation)

    _implementation_switches = ("foreach", "capturable", "differentiable")

    def _validate(self, group):
        check_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _initial_state(self, p, group):
        state = {"step": 0, "square_avg": np.zeros_like(p._data)}    # v
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p._data)        # b
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p._data)               # m
        return state

    def _update(self, group):
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        for p, grad in self._parameters_with_gradients(group):
            state = self._state(p, group)
            state["step"] += 1
            square_avg = state["square_avg"]
            square_avg *= alpha
            square_avg += (1.0 - alpha) * grad * grad
            if group["centered"]:
                grad_avg = state["grad_avg"]
                grad_avg += (1.0 - alpha) * (grad - grad_avg)
                denominator = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                denominator = np.sqrt(square_avg)
            denominator += eps
            if momentum > 0:
                buffer = state["momentum_buffer"]
                buffer *= momentum
                buffer += grad / denominator
                p._data -= lr * buffer
            else:
                p._data -= lr * (grad / denominator)
            p._version += 1
