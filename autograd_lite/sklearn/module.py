"""``MLPModule``: the default network of ``NeuralNetClassifier``/``NeuralNetRegressor``.

A multilayer perceptron ``input_dim -> hidden[0] -> ... -> hidden[-1] -> output_dim`` with the chosen
activation after each hidden layer and optional dropout; the last layer is linear (logits for a
classifier, values for a regressor). ``input_dim`` and ``output_dim`` may be left ``None``: the
estimators fill them from the data at ``fit``.
"""
from __future__ import annotations

from collections.abc import Sequence

import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "logistic": nn.Sigmoid,
               "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU,
               "leaky_relu": nn.LeakyReLU, "softplus": nn.Softplus}


class MLPModule(nn.Module):
    """``MLPModule(input_dim, hidden=(100,), output_dim=1, activation="relu", dropout=0.0)``.

    * ``hidden``: an int (one hidden layer) or a sequence of ints (one per hidden layer; ``()`` gives
      a linear model);
    * ``activation``: a name in ``ACTIVATIONS`` (``"relu"``, ``"tanh"``, ``"logistic"``, ...) or a
      Module class such as ``nn.LeakyReLU``;
    * ``dropout``: the probability of ``nn.Dropout`` after each hidden activation (0: none).
    """

    def __init__(self, input_dim: int, hidden: int | Sequence[int] = (100,), output_dim: int = 1,
                 activation: str | type = "relu", dropout: float = 0.0):
        super().__init__()
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        for size in (input_dim, output_dim, *hidden):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"MLPModule: input_dim, every hidden size and output_dim must be "
                                 f"positive ints, got input_dim={input_dim!r}, hidden={hidden!r}, "
                                 f"output_dim={output_dim!r}")
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"MLPModule: unknown activation {activation!r}; known: "
                                 f"{', '.join(ACTIVATIONS)} (or pass a Module class)")
            activation = ACTIVATIONS[activation]
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLPModule: dropout must be in [0, 1), got {dropout!r}")
        layers, width = [], input_dim
        for size in hidden:
            layers += [nn.Linear(width, size), activation()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, output_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):  # (N, input_dim) -> (N, output_dim)
        return self.layers(x)
