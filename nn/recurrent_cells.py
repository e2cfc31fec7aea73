"""One time step as a layer: ``RNNCell``, ``LSTMCell``, ``GRUCell`` (PyTorch's names, parameters
``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, init U(-1/sqrt(hidden), 1/sqrt(hidden))).

input (N, H_in) or unbatched (H_in,); hx (N, H) (LSTMCell: a tuple (h, c)), zeros if omitted.
The formulas are those of ``recurrent_functions``; the loop over time is the caller's.
"""
from __future__ import annotations

import math

import numpy as np

from autograd_lite.arguments import check_device
from autograd_lite.ops import LinearFn
from autograd_lite.tensor import Tensor

from . import functional as F
from . import init
from .layers import _dtype, _positive_int
from .module import Module, Parameter
from .recurrent_functions import gru_step, lstm_step, rnn_step


class RNNCellBase(Module):
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        check_device(device)
        name = type(self).__name__
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        self.bias = bool(bias)
        dtype = _dtype(dtype)
        gate_size = self._gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((gate_size, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((gate_size, self.hidden_size), dtype))
        if self.bias:
            self.bias_ih = Parameter(np.empty(gate_size, dtype))
            self.bias_hh = Parameter(np.empty(gate_size, dtype))
        else:
            self.bias_ih = self.bias_hh = None
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _prepare(self, input, hx, count):
        """(input (N, H_in), [states (N, H)], batched) with zeros for missing states."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            input = F._tensor(input, like=self.weight_ih)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                             f"(shape {input.shape})")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                             f"expected {self.input_size}")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        shape = (input.shape[0], self.hidden_size)
        if hx is None:
            return input, [Tensor._make(np.zeros(shape, input.dtype)) for _ in range(count)], batched
        states = list(hx) if count == 2 else [hx]
        if len(states) != count:
            raise TypeError(f"{name}: hx must be a tuple (h, c)")
        prepared = []
        for state in states:
            state = F._tensor(state, "hx", like=input)
            expected = shape if batched else shape[1:]
            if state.shape != expected:
                raise ValueError(f"{name}: hidden state has shape {tuple(state.shape)}, expected "
                                 f"{expected} (batch {input.shape[0]}, hidden_size "
                                 f"{self.hidden_size})")
            prepared.append(state if batched else state.unsqueeze(0))
        return input, prepared, batched

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


def _unbatch(state, batched):
    return state if batched else state.squeeze(0)


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                             "'relu')")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, hx, 1)
        x_proj = LinearFn.apply(input, self.weight_ih, self.bias_ih)
        if self.bias_hh is not None:
            x_proj = x_proj + self.bias_hh
        return _unbatch(rnn_step(x_proj, h, self.weight_hh, self.nonlinearity), batched)


class LSTMCell(RNNCellBase):
    """Gates i, f, g, o: c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
    Returns (h', c')."""
    _gates = 4

    def forward(self, input, hx=None):
        input, (h, c), batched = self._prepare(input, hx, 2)
        x_proj = LinearFn.apply(input, self.weight_ih, self.bias_ih)
        if self.bias_hh is not None:
            x_proj = x_proj + self.bias_hh
        h, c = lstm_step(x_proj, h, c, self.weight_hh)
        return _unbatch(h, batched), _unbatch(c, batched)


class GRUCell(RNNCellBase):
    """Gates r, z, n: n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)), h' = (1 - z) n + z h."""
    _gates = 3

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, hx, 1)
        x_proj = LinearFn.apply(input, self.weight_ih, self.bias_ih)
        return _unbatch(gru_step(x_proj, h, self.weight_hh, self.bias_hh), batched)
