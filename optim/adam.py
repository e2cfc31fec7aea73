"""Adam and AdamW: momentum and RMS scaling with bias correction."""
from __future__ import annotations

import math

import numpy as np

from autograd_lite import kernels

from .optimizer import Optimizer, check_nonnegative, check_unit_interval


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization"); with
    ``amsgrad=True`` the AMSGrad variant (Reddi et al. 2018). PyTorch's update rule, step t >= 1:

        g <- g + weight_decay * p          (Adam: L2 penalty added to the gradient)
        m_t = beta1 m_{t-1} + (1 - beta1) g
        v_t = beta2 v_{t-1} + (1 - beta2) g^2
        amsgrad: vmax_t = max(vmax_{t-1}, v_t), and vmax_t replaces v_t below
        p <- p - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    m_0 = v_0 = 0; the two bias corrections undo their start at zero.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, **implementation):
        super().__init__(params, dict(lr=lr, betas=tuple(betas) if isinstance(betas, (tuple, list)) else betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize), **implementation)

    _implementation_switches = ("foreach", "capturable", "differentiable", "fused")

    def _validate(self, group):
        check_nonnegative(group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, tuple) or len(betas) != 2:
            raise ValueError(f"Invalid betas value: {betas!r} (expected a pair (beta1, beta2))")
        check_unit_interval("betas[0] (beta1)", betas[0])
        check_unit_interval("betas[1] (beta2)", betas[1])

    def _initial_state(self, p, group):
        state = {"step": 0, "exp_avg": np.zeros_like(p._data),      # t, m
                 "exp_avg_sq": np.zeros_like(p._data)}              # v
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(p._data)        # vmax
        return state

    def _update(self, group):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        for p, grad in self._parameters_with_gradients(group):   # (AdamW: p already decayed)
            state = self._state(p, group)
            state["step"] += 1
            step = state["step"]
            kernels.adam_update(p._data, grad, state["exp_avg"], state["exp_avg_sq"],
                                state.get("max_exp_avg_sq") if group["amsgrad"] else None,
                                self._buffer(p, p._data), beta1, beta2, eps,
                                lr / (1.0 - beta1 ** step), math.sqrt(1.0 - beta2 ** step))
            p._version += 1


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"): Adam whose
    weight decay shrinks the parameter directly instead of entering the gradient:

        p <- p (1 - lr weight_decay), then the Adam step above with g unchanged.

    Default weight_decay=1e-2, as in PyTorch.
    """
    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, **implementation):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         **implementation)
