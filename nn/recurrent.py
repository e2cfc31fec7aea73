"""Recurrent layers as PyTorch defines them: ``RNN``, ``LSTM``, ``GRU`` and their one-step
``RNNCell``, ``LSTMCell``, ``GRUCell``.

Same parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, a
``_reverse`` suffix for the backward direction, ``weight_hr_l0`` with ``proj_size``), same shapes,
gate order (LSTM: i, f, g, o; GRU: r, z, n) and initialisation: every weight and bias drawn from
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)). Each layer and direction is one graph node
(``recurrent_sequence``: ``LSTMSequence``, ``GRUSequence``, ``RNNSequence``); the step formulas are
in ``recurrent_functions``.

Shapes, with D = 2 if bidirectional else 1 and H_out = proj_size or hidden_size:
    input (L, N, H_in), or (N, L, H_in) with batch_first, or unbatched (L, H_in)
    h_0, c_0 (D num_layers, N, H_out / hidden_size), or without N when unbatched; zeros if omitted
    output (L, N, D H_out) (batch_first: (N, L, D H_out)); h_n (D num_layers, N, H_out)
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from autograd_lite.arguments import check_device
from autograd_lite.ops.composite import cat, stack
from autograd_lite.tensor import Tensor

from . import functional as F
from . import init
from .layers import _dtype, _positive_int
from .module import Module, Parameter
from .recurrent_functions import unbind
from .recurrent_sequence import lstm_sequence, lstm_sequence_composite
from .recurrent_sequence_gru_rnn import GRUSequence, RNNSequence

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters, the layer/direction loop and the checks."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        check_device(device)
        name = type(self).__name__
        self.mode = mode
        self.input_size = _positive_int(input_size, "input_size", name)
        self.hidden_size = _positive_int(hidden_size, "hidden_size", name)
        self.num_layers = _positive_int(num_layers, "num_layers", name)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.bidirectional = bool(bidirectional)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        self.dropout = float(dropout)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, "
                          f"so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a non-negative int, got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"proj_size argument is only supported for LSTM, not {name}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than hidden_size "
                             f"({hidden_size})")
        self.proj_size = proj_size
        dtype = _dtype(dtype)
        gate_size = _GATES[mode] * hidden_size
        output_size = proj_size or hidden_size
        directions = 2 if self.bidirectional else 1
        for layer in range(num_layers):
            layer_input = self.input_size if layer == 0 else output_size * directions
            for suffix in ("", "_reverse")[:directions]:
                self._add(f"weight_ih_l{layer}{suffix}", (gate_size, layer_input), dtype)
                self._add(f"weight_hh_l{layer}{suffix}", (gate_size, output_size), dtype)
                if self.bias:
                    self._add(f"bias_ih_l{layer}{suffix}", (gate_size,), dtype)
                    self._add(f"bias_hh_l{layer}{suffix}", (gate_size,), dtype)
                if proj_size:
                    self._add(f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size), dtype)
        self.reset_parameters()

    def _add(self, name, shape, dtype):
        setattr(self, name, Parameter(np.empty(shape, dtype)))

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def _layer_weights(self, layer, suffix):
        get = self.__dict__.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"),
                get(f"weight_hr_l{layer}{suffix}"))

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            input = F._tensor(input, like=self.weight_ih_l0)
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D (unbatched) or 3D, got "
                             f"{input.ndim}D tensor of shape {input.shape}")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)  # (L, 1, H_in)
        elif self.batch_first:
            transposed = input.transpose(0, 1)  # (N, L, H_in) -> (L, N, H_in)
            if transposed._ctx is None and input.name:  # not recorded: draw_graph names it
                transposed.name = f"{input.name}.transpose(0, 1)"
            input = transposed
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]}")
        if input.shape[0] == 0:
            raise ValueError(f"{name}: the input sequence is empty (length 0)")
        states = self._initial_states(hx, input, batched)
        output, final = self._run_layers(input, states)
        if not batched:
            output = output.squeeze(1)
            final = [state.squeeze(1) for state in final]
        elif self.batch_first:
            output = output.transpose(0, 1)
        if self.mode == "LSTM":
            return output, (final[0], final[1])
        return output, final[0]

    def _initial_states(self, hx, input, batched):
        """[h0] or [h0, c0], each (D num_layers, N, size), zeros where not given."""
        name = type(self).__name__
        batch = input.shape[1]
        layers = self.num_layers * (2 if self.bidirectional else 1)
        sizes = [self.proj_size or self.hidden_size]
        if self.mode == "LSTM":
            sizes.append(self.hidden_size)
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        elif hx is not None:
            hx = (hx,)
        if hx is None:
            states = [Tensor._make(np.zeros((layers, batch, size), input.dtype)) for size in sizes]
            for state, label in zip(states, ("h_0", "c_0")):
                state.name = label  # draw_graph shows them by name (inside the module when collapsed)
            return states
        states = []
        for state, size, label in zip(hx, sizes, ("h_0", "c_0")):
            state = F._tensor(state, label, like=input)
            expected = (layers, batch, size) if batched else (layers, size)
            if state.shape != expected:
                raise ValueError(f"{name}: Expected hidden size {expected} for {label}, got "
                                 f"{tuple(state.shape)}")
            states.append(state if batched else state.unsqueeze(1))
        return states

    def _run_layers(self, input, states):
        """All layers and directions over input (L, N, H_in): output (L, N, D H_out), [h_n(, c_n)]."""
        directions = ("", "_reverse") if self.bidirectional else ("",)
        per_state = [unbind(state) for state in states]  # each: D num_layers tensors (N, size)
        for state, steps in zip(states, per_state):
            if state.name is not None and steps[0].name is None:
                for index, step in enumerate(steps):  # h_0[0], h_0[1], ...: one per layer
                    step.name = f"{state.name}[{index}]"
        finals = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                layer_input = F.dropout(layer_input, self.dropout, True)
            outputs = []
            for direction, suffix in enumerate(directions):
                index = layer * len(directions) + direction
                initial = [steps[index] for steps in per_state]
                output, last = self._run_direction(layer_input, initial,
                                                   self._layer_weights(layer, suffix),
                                                   reverse=direction == 1)
                outputs.append(output)
                for final, state in zip(finals, last):
                    final.append(state)
            layer_input = outputs[0] if len(outputs) == 1 else cat(outputs, dim=2)
        return layer_input, [stack(final, 0) for final in finals]

    def _run_direction(self, input, initial, weights, reverse):
        """One layer in one direction: input (L, N, H_in) -> output (L, N, H_out), last states."""
        weight_ih, weight_hh, bias_ih, bias_hh, weight_hr = weights
        if self.mode == "LSTM":
            h0, c0 = initial
            if weight_hr is None:  # one node for the whole sequence
                output, h, c = lstm_sequence(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                                             reverse)
            else:
                output, h, c = lstm_sequence_composite(input, h0, c0, weight_ih, weight_hh, bias_ih,
                                                       bias_hh, reverse, weight_hr)
            return output, (h, c)
        h0, = initial
        if self.mode == "GRU":
            output, h = GRUSequence.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse)
        else:
            output, h = RNNSequence.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse,
                                          self.nonlinearity)
        return output, (h,)

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (``nonlinearity='relu'``:
    relu). Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or "
                             "'relu')")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o (that order in the weights), c_t = f c_{t-1} + i g,
    h_t = o tanh(c_t) (projected by W_hr when proj_size > 0). Returns (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z, n (that order), n = tanh(x W_in^T + b_in + r (h W_hn^T +
    b_hn)), h_t = (1 - z) n + z h_{t-1}. Returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
