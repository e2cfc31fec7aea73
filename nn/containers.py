"""Containers: ``Sequential`` (runs its layers in order) and ``ModuleList`` (a list whose modules
are registered, named "0", "1", ... as in PyTorch)."""
from __future__ import annotations

from collections import OrderedDict

from .module import Module


def _check_index(index, length, owner):
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} module(s)")
    return index % length


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: children named "0", "1", ... in order."""

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def _renumber(self, modules):
        """Replace the children by ``modules``, named "0", "1", ... again."""
        for key in list(self._modules):
            delattr(self, key)
        return self.extend(modules)


class Sequential(_ModuleSequence):
    """``Sequential(layer1, layer2, ...)`` or ``Sequential(OrderedDict(name=layer, ...))``:
    forward feeds each layer's output to the next. A ``Conv2d, ReLU, MaxPool2d`` run without hooks
    computes its three outputs in one launch at 2 threads or more (``_pooling_to_chain``); each
    layer still runs and records its node, with the same results."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(args):
                self.add_module(str(index), module)

    def forward(self, input):
        conv_class = _CHAIN[0] if _CHAIN else _chain_classes()[0]
        skip = 0
        for index, module in enumerate(self._modules.values()):
            if skip:  # a ReLU or pooling that ran in the chain below
                skip -= 1
                continue
            if module.__class__ is conv_class:
                after = list(self._modules.values())[index + 1:index + 3]
                pooling = _pooling_to_chain(module, *after, input) if len(after) == 2 else None
                if pooling is not None:  # Conv2d -> ReLU -> MaxPool2d: one launch (see below)
                    with kernels.chained_conv_relu_pool(*pooling):
                        input = after[1](after[0](module(input)))
                    skip = 2
                    continue
            input = module(input)
        return input

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_check_index(index, len(self), "Sequential")]

    def __setitem__(self, index, module):
        key = list(self._modules)[_check_index(index, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, index):
        key = list(self._modules)[_check_index(index, len(self), "Sequential")]
        delattr(self, key)

    def insert(self, index, module):
        """Put ``module`` before position ``index``; the modules are renumbered "0", "1", ... (as in
        PyTorch, a Sequential built from an OrderedDict loses its names here)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: {type(module).__name__} is not a Module")
        if not -len(self) <= index <= len(self):
            raise IndexError(f"Sequential.insert: index {index} is out of range for {len(self)} "
                             "module(s)")
        modules = list(self._modules.values())
        modules.insert(index, module)
        return self._renumber(modules)


class ModuleList(_ModuleSequence):
    """A list of Modules registered as children (so their parameters are found)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(_check_index(index, len(self), "ModuleList"))]

    def __setitem__(self, index, module):
        self.add_module(str(_check_index(index, len(self), "ModuleList")), module)

    def __delitem__(self, index):
        modules = list(self._modules.values())
        del modules[_check_index(index, len(self), "ModuleList")]
        self._renumber(modules)

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your own forward")


class ModuleDict(Module):
    """A dict of Modules registered as children under their keys (so ``state_dict`` names are
    ``"<key>.weight"``), in insertion order; ``ModuleDict({"conv": ..., "pool": ...})``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: {list(self._modules)})")
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        self[key]  # the KeyError naming the keys
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def clear(self):
        for key in list(self._modules):
            delattr(self, key)

    def update(self, modules):
        """Add (or replace) modules from a mapping or an iterable of (key, module) pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for index, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"ModuleDict.update: element {index} should be a (key, module) "
                                f"pair, got {type(pair).__name__}")
            self[pair[0]] = pair[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): index it in your own forward")


# ----------------------------------------------------------------------------- chaining
_CHAIN = []  # [Conv2D, ReLU, MaxPool2D], once (nn imports this module before theirs)


def _chain_classes():
    if not _CHAIN:
        from .activations import ReLU
        from .convolution import Conv2D
        from .pooling import MaxPool2D
        _CHAIN.extend((Conv2D, ReLU, MaxPool2D))
    return _CHAIN


def _pooling_to_chain(conv, relu, pool, input):
    """(kernel, stride, padding) of ``pool`` when the three layers may run as one launch
    (``kernels.chained_conv_relu_pool``: one hand-over to the workers instead of three, the batch
    cut into chunks of images that go through all three); else None. Only exactly these classes
    (a subclass may do anything in forward), without hooks (a pre-hook could change the
    convolution's output in place before the ReLU reads it), and only the one-launch cases: one
    group, no dilation, a 4-D input, pooling without dilation, ceil_mode or indices. The layers
    still run one by one (each records its node, as always); the chain only computes their
    outputs earlier, and anything it computed that they do not ask for is dropped."""
    _, relu_class, pool_class = _chain_classes()
    if (relu.__class__ is not relu_class or pool.__class__ is not pool_class
            or input.__class__ is not Tensor or input.ndim != 4 or input.dtype.kind != "f"
            or conv.groups != 1 or tuple(conv.dilation) != (1, 1)
            or pool.return_indices or pool.ceil_mode or pool.dilation not in (1, (1, 1))
            or any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks
                   or m._backward_pre_hooks for m in (conv, relu, pool))):
        return None
    pair = [value if isinstance(value, tuple) else (value, value)
            for value in (pool.kernel_size, pool.stride, pool.padding)]
    return pair if all(len(p) == 2 and all(isinstance(v, int) for v in p) for p in pair) else None


from autograd_lite import kernels  # noqa: E402
from autograd_lite.tensor import Tensor  # noqa: E402
