"""`Module` and `Parameter`: the registry that turns attribute assignment into a tree of layers.

Assigning a ``Parameter`` to a module attribute registers it, assigning a ``Module`` registers a child;
``parameters()``, ``named_parameters()``, ``state_dict()`` walk that tree in registration order, with
the same dotted names PyTorch gives (``"0.weight"``, ``"encoder.fc1.bias"``), so weights move between
the two frameworks by name.

Registered parameters and children are also stored in the instance ``__dict__`` so that
``self.weight`` in a hot ``forward`` is a plain attribute lookup (PyTorch routes it through
``__getattr__``); ``__setattr__``/``__delattr__`` keep both places in step.
"""
from __future__ import annotations

import difflib
import warnings
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from autograd_lite.function import _GradMode
from autograd_lite.grad_mode import _local, switches as _switches
from autograd_lite.arguments import dtype_of_to
from autograd_lite.tensor import Tensor

from .module_hooks import add_hook, call_with_hooks, new_registry


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (``requires_grad=True`` by default)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, np.float32)
        super().__init__(data._data if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _remember_outer(module, keep=16):
    """Record ``module`` among the recently called outermost modules (weakly, at most ``keep``)."""
    outer = _GradMode.outer_modules
    outer[id(module)] = weakref.ref(module)
    while len(outer) > keep:
        del outer[next(iter(outer))]


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters in
    ``__init__``, and write ``forward``. Calling the module runs ``forward``."""

    _hook_counter = 0

    def __init__(self):
        set_ = object.__setattr__
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_forward_hooks", new_registry())         # id -> (hook, with_kwargs, always_call)
        set_(self, "_forward_pre_hooks", new_registry())     # id -> (hook, with_kwargs)
        set_(self, "_backward_hooks", new_registry())        # id -> hook (full backward hooks)
        set_(self, "_backward_pre_hooks", new_registry())    # id -> hook
        set_(self, "_regularizers", OrderedDict())
        set_(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        registries = self.__dict__.get("_parameters")
        if registries is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                     f"Module.__init__() call (call super().__init__() first)")
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module '{name}' "
                                "(nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: the attribute does not exist.
        if name.startswith("__"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}' (did "
                                 f"{type(self).__name__}.__init__ call super().__init__()?)")
        known = list(self._parameters) + list(self._buffers) + list(self._modules)
        close = difflib.get_close_matches(name, known + [k for k in self.__dict__ if not
                                                         k.startswith("_")], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter('{name}'): expected nn.Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state but not a parameter (no optimizer updates):
        moved by ``to()``, saved in ``state_dict()`` unless ``persistent=False``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}'): {type(module).__name__} is not a Module")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"module name must be a non-empty string without '.', got {name!r}")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def register_regularizer(self, param_name, regularizer):
        """Attach a penalty (e.g. ``nn.regularizers.l2(1e-3)``) to the parameter ``param_name``;
        ``nn.regularization_loss(model)`` sums every attached penalty."""
        if param_name not in self._parameters:
            raise KeyError(f"{type(self).__name__} has no parameter '{param_name}' (it has "
                           f"{list(self._parameters)})")
        if regularizer is None:
            self._regularizers.pop(param_name, None)
        else:
            if not callable(regularizer):
                raise TypeError(f"regularizer for '{param_name}' must be callable, got "
                                f"{type(regularizer).__name__}")
            self._regularizers[param_name] = regularizer

    # ------------------------------------------------------------------ running
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args, **kwargs):
        if (self._forward_hooks or self._forward_pre_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return call_with_hooks(self, args, kwargs, self._run_forward)
        return self._run_forward(args, kwargs)

    def _run_forward(self, args, kwargs):
        try:
            mode = _local.switches  # this thread's switches (inlined: this runs for every layer)
        except AttributeError:
            mode = _switches()
        stack = mode.module_stack
        if not stack:  # an outermost call (a model, a loss): draw_graph names parameters from it
            known = mode.outer_modules.get(id(self))
            if known is None or known() is not self:
                _remember_outer(self)
        stack.append(self)
        try:
            return self.forward(*args, **kwargs)
        finally:
            stack.pop()

    # ------------------------------------------------------------------ hooks (see module_hooks)
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before every forward; returning a value replaces the
        positional arguments (a non-tuple is wrapped). With ``with_kwargs``:
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``. Returns a handle whose
        ``remove()`` unregisters it."""
        return add_hook(self._forward_pre_hooks, (hook, bool(with_kwargs)), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs, output)``)
        runs after every forward; returning a value replaces the output. ``always_call`` runs it
        even when forward raised. Returns a handle whose ``remove()`` unregisters it."""
        return add_hook(self._forward_hooks, (hook, bool(with_kwargs), bool(always_call)), prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients with respect to the module's
        outputs are known; returning a tuple replaces grad_output."""
        return add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to the
        module's Tensor inputs are known; returning a tuple replaces grad_input."""
        return add_hook(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook):
        """Deprecated (as in PyTorch): registers ``hook`` as a full backward hook."""
        warnings.warn("Module.register_backward_hook is deprecated; use "
                      "register_full_backward_hook (it behaves as one here)", FutureWarning,
                      stacklevel=2)
        return add_hook(self._backward_hooks, hook)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix=""):
        """(name, module) for this module and every descendant, depth first, each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs in PyTorch's order; a shared parameter appears once."""
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), buffer

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on this one, e.g. for a
        custom initialisation: ``model.apply(init_weights)``. Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param._grad is not None:  # the slot behind .grad: no assignment check needed
                if set_to_none:
                    param._grad = None
                else:
                    param._grad._data[...] = 0

    def to(self, *args, dtype=None, device=None, non_blocking=False):
        """Cast every floating-point parameter and buffer to ``dtype`` (in place, like PyTorch):
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``; ``"cpu"`` is the only device."""
        dtype = dtype_of_to(args, dtype, device)
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dtype}")
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor._data.dtype.kind == "f" and tensor._data.dtype != dtype:
                tensor._data = tensor._data.astype(dtype)
                tensor._version += 1
                if tensor.grad is not None:
                    tensor.grad = Tensor._make(tensor.grad._data.astype(dtype))
        return self

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Refused: autograd-lite computes on the CPU only (the error says what to write)."""
        from autograd_lite.device import CPU_ONLY_HINT
        raise RuntimeError(f"{type(self).__name__}.cuda() was called, but {CPU_ONLY_HINT}")

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def float(self):
        return self.to(np.float32)

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix="", keep_vars=False):
        """Ordered {dotted name: Tensor} of every parameter and buffer, PyTorch's keys and order.
        The tensors share memory with the module (detached unless ``keep_vars``)."""
        out = OrderedDict()
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            head = f"{module_prefix}." if module_prefix else ""
            buffers = [(name, buffer) for name, buffer in module._buffers.items()
                       if name not in module._non_persistent_buffers]
            for name, tensor in list(module._parameters.items()) + buffers:
                if tensor is not None:
                    out[head + name] = tensor if keep_vars else tensor.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors, NumPy arrays, or anything ``np.asarray`` takes, e.g. PyTorch
        tensors) into the parameters and buffers with the same names, casting to their dtype.

        A wrong shape always raises (as in PyTorch). ``strict=True`` also raises when keys are
        missing or unexpected; ``strict=False`` returns them as ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict expects a mapping of names to tensors, got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        mismatched, values = [], {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value._data if isinstance(value, Tensor) else np.asarray(value)
            if array.shape != target.shape:
                mismatched.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{array.shape} from checkpoint, the shape in current model is "
                                  f"{target.shape}")
            else:
                values[key] = array
        problems = list(mismatched)
        if strict:
            if unexpected:
                problems.insert(0, "Unexpected key(s) in state_dict: "
                                   + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                problems.insert(0, "Missing key(s) in state_dict: "
                                   + ", ".join(f'"{k}"' for k in missing) + ".")
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(problems))
        for key, array in values.items():
            target = own[key]
            target._data[...] = array  # casts to the parameter's dtype
            target._version += 1
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ display
    def extra_repr(self):
        """One line of settings shown inside ``repr(module)`` (override in layers)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, child in self._modules.items():
            text = repr(child).replace("\n", "\n  ")
            child_lines.append(f"({name}): {text}")
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape, dtype=None, print_fn=print, lang=None):
        """Print (and return) a Keras-style table: layer, output shape, parameter count, totals.
        ``input_shape`` excludes the batch dimension; ``lang="es"`` for Spanish headings. See
        ``nn.summary.summary``."""
        from .summary import summary
        return summary(self, input_shape, dtype=dtype, print_fn=print_fn, lang=lang)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules))
