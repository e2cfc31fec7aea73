"""Lazy layers: ``LazyLinear`` and ``LazyConv2d`` infer ``in_features``/``in_channels`` from the
first input they see, as PyTorch's do.

Before that first call their weight and bias are ``UninitializedParameter`` placeholders (no shape;
asking for one raises). The first ``forward`` materialises them *in place*: the same Parameter
objects get their shape, PyTorch's default initialisation, and become plain ``Parameter``s, and the
layer becomes a ``Linear``/``Conv2d`` (as PyTorch's ``cls_to_become``). So an optimizer built before
the first call holds the right objects and trains them, exactly as in PyTorch.

What we do when that goes wrong (the clearest behaviour we could pick): ``optimizer.step()`` raises
a ``RuntimeError`` if one of its parameters is still uninitialized, i.e. no forward pass has run
yet; building the optimizer before materialisation is allowed (it works, see above).
"""
from __future__ import annotations

import numpy as np

from autograd_lite.arguments import check_device
from autograd_lite.tensor import Tensor

from .convolution import Conv2D
from .layers import Linear, _dtype, _positive_int
from .module import Parameter


class UninitializedParameter(Parameter):
    """A Parameter whose shape is not known yet (see ``nn.lazy``). ``materialize(shape)`` gives it
    storage of that shape (uninitialised values) and turns it into a plain ``Parameter``."""

    _uninitialized = True  # read by optim.Optimizer.step (a class attribute: gone once materialised)

    def __init__(self, requires_grad=True, dtype=None):
        super().__init__(np.empty(0, _dtype(dtype)), requires_grad)

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter (the weight or "
                           "bias of a Lazy layer): run one forward pass, e.g. model(example_batch), "
                           "to materialise it first")

    def materialize(self, shape, dtype=None):
        self._data = np.empty(tuple(shape), self._data.dtype if dtype is None else dtype)
        self._version += 1
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"


def is_lazy(param):
    """True for a parameter that is still an ``UninitializedParameter``."""
    return getattr(type(param), "_uninitialized", False)


class LazyLinear(Linear):
    """``Linear`` whose ``in_features`` is ``input.shape[-1]`` of the first call (0 until then)."""

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Linear.__init__(self, 1, out_features, bias, device=device, dtype=dtype)
        self.in_features = 0
        self.weight = UninitializedParameter(dtype=self.weight.dtype)
        self.bias = UninitializedParameter(dtype=self.weight.dtype) if bias else None

    def forward(self, input):
        if is_lazy(self.weight):
            shape = input.shape if isinstance(input, Tensor) else np.shape(input)
            if len(shape) < 1:
                raise ValueError(f"LazyLinear: input of shape {tuple(shape)} has no feature "
                                 "dimension to infer in_features from")
            self.in_features = _positive_int(shape[-1], "in_features (input.shape[-1])",
                                             "LazyLinear")
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
            self.__class__ = Linear
        return Linear.forward(self, input)


class LazyConv2d(Conv2D):
    """``Conv2d`` whose ``in_channels`` is ``input.shape[-3]`` of the first call (0 until then)."""

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device)
        Conv2D.__init__(self, groups, out_channels, kernel_size, stride, padding, dilation, groups,
                        bias, padding_mode, dtype=dtype)
        self.in_channels = 0
        dtype = self.weight.dtype
        self.weight = UninitializedParameter(dtype=dtype)
        self.bias = UninitializedParameter(dtype=dtype) if bias else None

    def forward(self, input):
        if is_lazy(self.weight):
            shape = input.shape if isinstance(input, Tensor) else np.shape(input)
            if len(shape) not in (3, 4):
                raise ValueError(f"LazyConv2d: expected input of shape (N, C, H, W) or (C, H, W), "
                                 f"got shape {tuple(shape)}")
            channels = _positive_int(shape[-3], "in_channels (input.shape[-3])", "LazyConv2d")
            if channels % self.groups:
                raise ValueError(f"LazyConv2d: the input's {channels} channels are not divisible "
                                 f"by groups={self.groups}")
            self.in_channels = channels
            self.weight.materialize((self.out_channels, channels // self.groups)
                                    + self.kernel_size)
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()
            self.__class__ = Conv2D
        return Conv2D.forward(self, input)
