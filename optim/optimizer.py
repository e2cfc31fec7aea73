"""`Optimizer`: parameter groups, per-parameter state and their (de)serialisation.

``param_groups`` is a list of dicts, each with its ``params`` and its own settings (missing settings
come from ``defaults``), so ``SGD([{"params": body}, {"params": head, "lr": 0.1}], lr=0.01)`` trains
the head ten times faster. ``state[p]`` holds the per-parameter buffers (NumPy arrays) under
PyTorch's names. Subclasses implement ``_update(group)``, which runs under ``no_grad`` and changes
``p._data`` in place (bumping ``p._version``); they take each gradient from
``_parameters_with_gradients(group)`` (maximize and weight decay already applied, the same way for
every optimizer), their buffers from ``_state(p, group)`` (created by their ``_initial_state``), and
validate their settings in ``_validate(group)``.

Row-sparse gradients: after ``zero_grad()`` an embedding table's ``.grad`` is a
``RowSparseGradTensor`` (``autograd_lite/sparse_grad.py``) that holds only the rows the batch used
until something reads it. ``_parameters_with_gradients`` does not make it dense: it writes those
rows into a zero table kept for that parameter (``_zero_table``), hands that table to the update
rule as the gradient, and zeroes the rows again at the next step, so every optimizer makes the
same update as with the dense ``.grad``, bit for bit, in O(rows) extra work instead of a new
(N, D) table per step. That table is optimizer memory the same size as the ``.grad`` PyTorch
keeps with ``zero_grad(set_to_none=False)``; it is allocated once, is not part of
``state_dict()``, and goes with the optimizer. An update rule that can use the rows directly
(SGD without momentum) asks for them with ``rows_ok=True``.
"""
from __future__ import annotations

import copy

import numpy as np

from autograd_lite import kernels
from autograd_lite.function import _GradMode, enable_grad
from autograd_lite.sparse_grad import RowSparseGrad, pending_rows
from autograd_lite.tensor import Tensor

_REQUIRED = object()  # a default that every group must provide


class Optimizer:
    # PyTorch's switches between its own implementations of a class's step (for-loop, foreach,
    # fused kernels; capturable for CUDA graphs) that this class accepts, so PyTorch programs that
    # pass them run: each optimizer here has one implementation, and the same arithmetic whatever
    # they say. differentiable=True (autograd through step()) is refused.
    _implementation_switches = ("foreach", "differentiable")

    def __init__(self, params, defaults, **implementation):
        self._check_implementation(implementation)
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        self._scratch = {}
        self._zero_tables = {}  # p -> [zero table shaped like p, the rows last written into it]
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a single Tensor (wrap it in a list)")
        if callable(getattr(params, "parameters", None)) or callable(params):
            what = "a Module" if hasattr(params, "parameters") else "a method (not its result)"
            raise TypeError(f"params should be an iterable of Tensors or dicts, but got {what}: "
                            "pass model.parameters()")
        if isinstance(params, (set, dict)):
            raise TypeError("params must be an ordered iterable (list, generator), not a "
                            f"{type(params).__name__}: the order must be reproducible")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def _validate(self, group):
        """Check a group's settings; subclasses raise ValueError naming the bad argument."""

    def _check_implementation(self, switches):
        """PyTorch's ``foreach=``, ``fused=``, ``capturable=``, ``differentiable=`` where this
        class's PyTorch twin takes them (``_implementation_switches``); see the class comment."""
        name = type(self).__name__
        for key in switches:
            if key not in self._implementation_switches:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{key}'")
        if switches.get("fused") and switches.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        if switches.get("differentiable"):
            raise NotImplementedError(
                f"{name}(differentiable=True): autograd through optimizer.step() is not supported "
                "by autograd-lite (its updates change .data in place, outside the graph)")

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError("a parameter group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "not a set")
        group["params"] = params = list(params)
        for index, p in enumerate(params):
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                raise TypeError(f"optimizer params[{index}] is a (name, parameter) pair ('{p[0]}'): "
                                "pass model.parameters(), not model.named_parameters()")
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but params[{index}] is a "
                                f"{type(p).__name__}")
            if p._ctx is not None:
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{index}], shape "
                                 f"{p.shape}): it was computed by {p._ctx.name()}")
            if p.dtype.kind != "f":
                raise ValueError(f"params[{index}] has dtype {p.dtype}: only floating-point "
                                 "tensors can be optimized")
        for key, value in self.defaults.items():
            if value is _REQUIRED and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, value)
        self._validate(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group (or twice "
                             "in one)")
        self.param_groups.append(group)
        if any(getattr(type(p), "_uninitialized", False) for p in params):
            self._lazy_parameters = True  # checked by step() until a forward pass materialises them

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:  # the slot behind .grad: no assignment check needed
                    if set_to_none:
                        p._grad = None
                    else:
                        p._grad._data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) re-evaluates
        the model and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if self._lazy_parameters:
            self._check_materialised()
        previous = _GradMode.enabled
        _GradMode.enabled = False
        try:
            for group in self.param_groups:
                self._update(group)
        finally:
            _GradMode.enabled = previous
        return loss

    def _update(self, group):
        raise NotImplementedError

    _lazy_parameters = False

    def _check_materialised(self):
        """Raise if a Lazy layer's parameter (nn.LazyLinear, nn.LazyConv2d) is still uninitialized:
        building the optimizer first is fine (they are materialised in place), stepping before
        any forward pass is not."""
        for g, group in enumerate(self.param_groups):
            for index, p in enumerate(group["params"]):
                if getattr(type(p), "_uninitialized", False):
                    raise RuntimeError(
                        f"optimizer.step(): param_groups[{g}]['params'][{index}] is an "
                        "uninitialized parameter of a Lazy layer (nn.LazyLinear, nn.LazyConv2d): "
                        "run one forward pass (e.g. model(example_batch)) before stepping, so its "
                        "shape is known")
        self._lazy_parameters = False

    # ------------------------------------------------------------------ helpers for subclasses
    _decoupled_weight_decay = False  # True (AdamW): weight decay shrinks p, g is left alone

    def _parameters_with_gradients(self, group, rows_ok=False):
        """Yield (p, g) for every parameter of ``group`` that has a gradient, with g ready for the
        subclass's update rule (the same preparation for every optimizer):

            g <- -g                              (maximize=True: ascend)
            g <- g + weight_decay * p            (coupled weight decay: an L2 penalty), or
            p <- p (1 - lr * weight_decay)       (decoupled weight decay, AdamW; g unchanged)

        g is a dense array, read-only for the update rule. A row-sparse ``.grad`` not yet made
        dense is given as its rows in a zero table (see the module docstring); with ``rows_ok``
        and no weight decay, as a ``RowSparseGrad`` (maximize applied to its values) instead."""
        maximize, weight_decay = group.get("maximize"), group.get("weight_decay", 0)
        for p in group["params"]:
            held = p._grad
            if held is None:
                continue
            sparse = pending_rows(held)
            if sparse is None:
                grad = held._data
            elif rows_ok and not weight_decay:
                values = -sparse.values if maximize else sparse.values
                yield p, RowSparseGrad(sparse.rows, values, sparse.shape)
                continue
            else:
                grad = self._zero_table(p, sparse)
            if maximize:
                grad = -grad
            if weight_decay:
                if self._decoupled_weight_decay:
                    p._data *= 1.0 - group["lr"] * weight_decay
                else:  # (rounded once, as PyTorch's grad.add(p, alpha=weight_decay))
                    grad = kernels.add_scaled(grad, weight_decay, p._data)
            yield p, grad

    def _zero_table(self, p, sparse):
        """p's zero table (made once) with ``sparse``'s rows written in: the dense gradient. The
        rows written at the previous step are zeroed first (O(rows), not O(table))."""
        entry = self._zero_tables.get(p)
        if entry is None or entry[0].shape != sparse.shape or entry[0].dtype != p.dtype:
            entry = self._zero_tables[p] = [np.zeros(sparse.shape, p.dtype), None]
        table, written = entry
        if written is not None:
            table[written] = 0
        entry[1] = sparse.rows
        table[sparse.rows] = sparse.values
        return table

    def _state(self, p, group):
        """``state[p]``, made by ``_initial_state(p, group)`` the first time p is updated."""
        state = self.state.get(p)
        if state is None:
            state = self.state[p] = self._initial_state(p, group)
        return state

    def _initial_state(self, p, group):
        """The per-parameter buffers before the first step (subclasses name theirs)."""
        return {}

    def _buffer(self, p, like):
        """A scratch array shaped like ``like`` reused across steps (never part of the state)."""
        buffer = self._scratch.get(p)
        if buffer is None or buffer.shape != like.shape or buffer.dtype != like.dtype:
            buffer = self._scratch[p] = np.empty_like(like)
        return buffer

    # ------------------------------------------------------------------ serialisation
    def state_dict(self):
        """{'state': {index: {name: value}}, 'param_groups': [{settings..., 'params': [index]}]}:
        parameters are numbered across groups in order, as in PyTorch."""
        index_of, groups = {}, []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = []
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
                entry["params"].append(index_of[id(p)])
            groups.append(entry)
        state = {index_of[id(p)]: values for p, values in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore settings and buffers saved by ``state_dict()`` (copied, and cast to each
        parameter's dtype). The groups must have the same sizes as this optimizer's."""
        state_dict = copy.deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter group(s), this "
                             f"optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict contains a parameter group {i} of size "
                                 f"{len(saved['params'])} that doesn't match the size of this "
                                 f"optimizer's group ({len(group['params'])})")
        param_of = {}
        for saved, group in zip(saved_groups, self.param_groups):
            for index, p in zip(saved["params"], group["params"]):
                param_of[index] = p
        state = {}
        for index, values in state_dict["state"].items():
            p = param_of.get(int(index))
            if p is None:
                continue
            state[p] = {name: _restore_value(name, value, p) for name, value in values.items()}
        self.state = state
        for saved, group in zip(saved_groups, self.param_groups):
            params = group["params"]
            group.clear()
            group.update({k: v for k, v in saved.items() if k != "params"})
            group["params"] = params

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _restore_value(name, value, p):
    if name == "step":
        number = np.asarray(value._data if isinstance(value, Tensor) else value).item()
        return int(number) if float(number).is_integer() else number
    if value is None:
        return None
    array = np.asarray(value._data if isinstance(value, Tensor) else value)
    if array.dtype.kind == "f" and array.shape == p.shape:
        return np.array(array, dtype=p.dtype)  # a copy in the parameter's dtype
    return np.array(array)


def check_nonnegative(group, *names):
    """Raise ValueError naming the first of ``group[name]`` that is not a number >= 0."""
    for name in names:
        value = group[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or \
                not value >= 0:
            raise ValueError(f"Invalid {name} value: {value!r} (must be a number >= 0)")


def check_unit_interval(name, value, closed=False):
    """Raise ValueError unless 0 <= value < 1 (or <= 1 when ``closed``)."""
    ok = 0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0
    if not ok:
        bound = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"Invalid {name} value: {value!r} (must be in {bound})")
