"""Neural-network building blocks, PyTorch's ``torch.nn`` API on autograd-lite.

* ``module``: ``Module`` (parameter registry, state_dict, train/eval, repr) and ``Parameter``
* ``containers``: ``Sequential``, ``ModuleList``, ``ModuleDict``; ``parameter_containers``:
  ``ParameterList``, ``ParameterDict``
* ``layers``: ``Linear``, ``Identity``, ``Flatten``, ``Unflatten``, ``Dropout``, ``Dropout1d``,
  ``Dropout2d``, ``ConstantPad2d``, ``ZeroPad2d``
* ``convolution``: ``Conv1d``, ``Conv2D`` (``Conv2d``), ``ConvTranspose2d``; ``pooling``:
  ``MaxPool2D``/``AvgPool2D`` (``MaxPool2d``/``AvgPool2d``), ``MaxPool1d``, ``AvgPool1d``,
  ``AdaptiveAvgPool2d``, ``AdaptiveMaxPool2d``, ``AdaptiveAvgPool1d``, ``AdaptiveMaxPool1d``;
  ``lazy``: ``LazyLinear``, ``LazyConv2d``, ``UninitializedParameter``
* ``activations``: ``ReLU Sigmoid Tanh LeakyReLU ELU SELU Softplus GELU SiLU Softmax LogSoftmax
  Hardtanh ReLU6 Hardsigmoid Hardswish Mish LogSigmoid Softsign Tanhshrink`` (the functional forms
  of the last eight in ``functional_activations``)
* ``losses``: ``MSELoss L1Loss HuberLoss SmoothL1Loss BCELoss BCEWithLogitsLoss CrossEntropyLoss
  NLLLoss KLDivLoss``; ``distance``: ``CosineSimilarity``
* ``functional`` (``import nn.functional as F``): the functional form of all of the above
  (``functional_conv`` and ``functional_pool`` hold the convolutions' and pooling's)
* ``init``: Xavier/Glorot, Kaiming/He, uniform, normal, zeros, ...
* ``regularizers``: Keras-style ``l1``, ``l2``, ``l1_l2`` and ``regularization_loss(model)``
* ``summary``: the Keras-style ``model.summary(input_shape)`` table
* ``utils``: gradient clipping, ``clip_grad_norm_`` and ``clip_grad_value_``
* ``functions``: the few extra ``Function`` nodes the layers use (ReLU, Softplus, Erf)
* ``normalization``: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm`` (their one-node
  primitives in ``normalization_functions``)
* ``embedding``: ``Embedding`` (lookup table with a row-scatter backward)
* ``module_hooks``: what ``Module.__call__`` runs when forward/backward hooks are registered
* ``recurrent``, ``recurrent_cells``: ``RNN``, ``LSTM``, ``GRU`` and ``RNNCell``, ``LSTMCell``,
  ``GRUCell``; ``recurrent_sequence``, ``recurrent_sequence_gru_rnn``: one node per layer-direction
  (``LSTMSequence``, ``GRUSequence``, ``RNNSequence``); ``recurrent_functions``: the per-step nodes
  (the cells, ``proj_size``, and what double backward differentiates)
"""
from .module import Module, Parameter
from .containers import Sequential, ModuleList
from .layers import Linear, Identity, Flatten, Dropout
# issue 11 item 4: convolutions, pooling, channel dropout, containers and lazy layers
from .convolution import Conv1d, Conv2D, Conv2d, ConvTranspose2d
from .pooling import (MaxPool2D, MaxPool2d, AvgPool2D, AvgPool2d, MaxPool1d, AvgPool1d,
                      AdaptiveAvgPool2d, AdaptiveMaxPool2d, AdaptiveAvgPool1d, AdaptiveMaxPool1d)
from .layers import Unflatten, Dropout1d, Dropout2d, ConstantPad2d, ZeroPad2d
from .containers import ModuleDict
from .parameter_containers import ParameterList, ParameterDict
from .lazy import UninitializedParameter, LazyLinear, LazyConv2d
_LAYERS_MORE = ["Conv1d", "ConvTranspose2d", "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool2d",
                "AdaptiveMaxPool2d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "Unflatten",
                "Dropout1d", "Dropout2d", "ModuleDict", "ParameterList", "ParameterDict",
                "UninitializedParameter", "LazyLinear", "LazyConv2d"]
# end of issue 11 item 4
from .activations import (ReLU, Sigmoid, Tanh, LeakyReLU, ELU, SELU, Softplus, GELU, SiLU, Softmax,
                          LogSoftmax)
from .losses import (MSELoss, L1Loss, HuberLoss, SmoothL1Loss, BCELoss, BCEWithLogitsLoss, NLLLoss,
                     CrossEntropyLoss, KLDivLoss)
# issue 11 (normalisation, embedding): one block
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm
from .embedding import Embedding
# issue 11 (recurrent layers): one block
from .recurrent import RNNBase, RNN, LSTM, GRU
from .recurrent_cells import RNNCellBase, RNNCell, LSTMCell, GRUCell
from . import functional, init, regularizers, utils
from .distance import CosineSimilarity
from .activations import (Hardtanh, ReLU6, Hardsigmoid, Hardswish, Mish, LogSigmoid, Softsign,
                          Tanhshrink)
from .regularizers import regularization_loss

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2D", "Conv2d",
           "MaxPool2D", "MaxPool2d", "AvgPool2D", "AvgPool2d", "Identity", "Flatten", "Dropout", "ReLU",
           "Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "Softplus", "GELU", "SiLU", "Softmax",
           "LogSoftmax", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss",
           "BCEWithLogitsLoss", "NLLLoss", "CrossEntropyLoss", "functional", "init",
           "regularizers", "regularization_loss", "utils",
           # issue 11 (normalisation, embedding)
           "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Embedding"] + _LAYERS_MORE
__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
__all__ += ["KLDivLoss", "CosineSimilarity", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish",
            "LogSigmoid", "Softsign", "Tanhshrink", "ConstantPad2d", "ZeroPad2d"]
