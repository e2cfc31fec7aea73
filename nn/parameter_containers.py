"""``ParameterList`` and ``ParameterDict``: Parameters held in a list or dict and registered on the
module (names "0", "1", ... or the dict keys), so ``parameters()``, optimizers and ``state_dict``
(keys like ``"plist.0"``) see them. A plain Tensor put in one becomes a ``Parameter``, as in
PyTorch."""
from __future__ import annotations

from autograd_lite.tensor import Tensor

from .module import Module, Parameter


def _as_parameter(value, owner, where):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value, requires_grad=value.requires_grad or value._ctx is None)
    raise TypeError(f"{owner}: {where} must be a Parameter or a Tensor, got {type(value).__name__}")


def _describe(param):
    size = "x".join(str(n) for n in param._data.shape)
    return f"Parameter containing: [{param.dtype} of size {size}]"


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (``append``, ``extend``, indexing)."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def _key(self, index):
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"ParameterList indices must be ints, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"ParameterList: index {index} is out of range for {len(self)} "
                             "parameter(s)")
        return str(index % len(self))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(list(self._parameters.values())[index])
        return self._parameters[self._key(index)]

    def __setitem__(self, index, value):
        key = self._key(index)
        self.register_parameter(key, _as_parameter(value, "ParameterList", f"item {key}"))

    def append(self, value):
        key = str(len(self))
        self.register_parameter(key, _as_parameter(value, "ParameterList", f"item {key}"))
        return self

    def extend(self, values):
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        return "\n".join(f"({key}): {_describe(p)}" for key, p in self._parameters.items())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward(): use its parameters in yours")


class ParameterDict(Module):
    """A dict of Parameters registered under their (string) keys, in insertion order."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no parameter {key!r} (keys: "
                           f"{list(self._parameters)})")
        return self._parameters[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ParameterDict keys must be non-empty strings without '.', got {key!r}")
        self.register_parameter(key, _as_parameter(value, "ParameterDict", f"value of {key!r}"))

    def __delitem__(self, key):
        self[key]  # the KeyError naming the keys
        delattr(self, key)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key):
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def items(self):
        return self._parameters.items()

    def values(self):
        return self._parameters.values()

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def update(self, parameters):
        pairs = parameters.items() if hasattr(parameters, "items") else parameters
        for key, value in pairs:
            self[key] = value

    def extra_repr(self):
        return "\n".join(f"({key}): {_describe(p)}" for key, p in self._parameters.items())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward(): use its parameters in yours")
