"""What the reader sees of an op: a friendly name, its arguments, its local derivative rule, and the
chain rule with numbers.

Friendly names are the ``Function`` class name without a ``Fn``/``Function`` suffix. Two composites
that the engine records as a ``Mul`` are recognised from the recorded numbers (never guessed):
``relu(x) = x * (x > 0)`` is a ``Mul`` whose other operand is a constant boolean mask equal to
``x > 0``, and ``abs(x) = x * sign(x)`` one whose other operand equals ``sign(x)``.

The chain rule of one backward step, for an input ``a`` of an op with output ``y``, reads
``dL/da = dL/dy * (dy/da)`` elementwise, or with a matrix product for ``Linear``/``MatMul``; the
numbers shown on the right of the last ``=`` are the gradient the engine actually computed.
The local rule of an op is its class's ``rule`` attribute (written beside its forward and backward;
see ``Function``), a str or a dict by language; ``derivative_rule`` is accepted as an older name.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..function import InputRef
from ..tensor import Tensor
from .labels import format_number, inline_array
from .language import text

# Composites recorded as another op (recognised above) have no class of their own to hold a rule.
_RECOGNISED_RULES = {"ReLU": "d/da = 1 if a > 0 else 0", "Abs": "d/da = sign(a)"}
_RENAMED = {"CrossEntropyIndices": "CrossEntropy"}

_SIGNATURES = {}


def friendly_name(ctx) -> str:
    name = ctx.name()
    if name in _RENAMED:
        return _RENAMED[name]
    for suffix in ("Function", "Fn"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def argument_names(ctx) -> list[str]:
    """Names of forward's parameters after ``ctx`` (``*tensors`` repeated for every extra one)."""
    cls = type(ctx)
    names = _SIGNATURES.get(cls)
    if names is None:
        try:
            params = list(inspect.signature(cls.forward).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        names = _SIGNATURES[cls] = [(p.name, p.kind == p.VAR_POSITIONAL) for p in params]
    out = []
    for position in range(len(node_inputs(ctx))):
        if position < len(names):
            out.append(names[position][0])
        elif names and names[-1][1]:
            out.append(names[-1][0])
        else:
            out.append(f"arg{position}")
    return out


def recognise(ctx):
    """(title, note, index of an input to hide) for the op recorded as ``ctx``: every op is
    recorded as itself (ReLU, Abs, Maximum, ... are primitives), so nothing is guessed from values."""
    return friendly_name(ctx), None, None


def short_value(value, limit: int = 28) -> str:
    """A compact text for a non-tensor argument: numbers, shapes, axes, slices."""
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        text = ":".join(parts[:2]) + (f":{parts[2]}" if value.step is not None else "")
    elif isinstance(value, (float, np.floating)):
        text = format_number(value)
    elif isinstance(value, np.ndarray):
        text = f"array{tuple(value.shape)}" if value.size > 6 else inline_array(value)
    elif isinstance(value, tuple):
        items = ", ".join(short_value(v, limit) for v in value)
        text = f"({items},)" if len(value) == 1 else f"({items})"
    elif isinstance(value, type):
        text = value.__name__
    elif isinstance(value, np.dtype):
        text = value.name
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def argument_details(ctx, hidden=None) -> list[str]:
    """``name=value`` for each plain (non-tensor) forward argument that says something."""
    details = []
    for position, (name, value) in enumerate(zip(argument_names(ctx), node_inputs(ctx))):
        if position == hidden or isinstance(value, Tensor) or value is None or value is False:
            continue
        details.append(f"{name}={short_value(value)}")
    return details


def _power_text(base, exponent):
    """``n·a^(n-1)`` with the number n filled in: 2·a, 3·a^2, 0.5·a^-0.5."""
    n = float(exponent)
    if n == 1:
        return "1"
    power = n - 1
    if power == 1:
        return f"{short_value(exponent)}·{base}"
    return f"{short_value(exponent)}·{base}^{short_value(int(power) if power.is_integer() else power)}"


def local_rule(ctx, title):
    """The op's local derivatives (a str, or a dict by language); with a plain-number operand the
    number is filled in."""
    if title in _RECOGNISED_RULES and title != friendly_name(ctx):
        return _RECOGNISED_RULES[title]
    custom = getattr(type(ctx), "rule", None) or getattr(type(ctx), "derivative_rule", None)
    inputs = node_inputs(ctx)
    if title in ("Mul", "Div", "Pow", "Add", "Sub") and len(inputs) == 2:
        a, b = inputs
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            c = short_value(b if isinstance(a, Tensor) else a)
            if title == "Pow":
                if isinstance(a, Tensor):
                    return f"d/da = {_power_text('a', b)}"
                return f"d/db = {c}^b·ln {c}"
            rule = {("Mul", 0): f"d/da = {c}", ("Mul", 1): f"d/db = {c}",
                    ("Div", 0): f"d/da = 1/{c}", ("Div", 1): f"d/db = -{c}/b²",
                    ("Add", 0): "d/da = 1", ("Add", 1): "d/db = 1",
                    ("Sub", 0): "d/da = 1", ("Sub", 1): "d/db = -1"}
            return rule[(title, 0 if isinstance(a, Tensor) else 1)]
    return custom


# ----------------------------------------------------------------------------- chain rule lines
def _value(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _elementwise_factor(title, ctx, position):
    """(symbol, factor array) with dL/d(input) = dL/dy * factor, or None when not elementwise."""
    inputs = node_inputs(ctx)
    if title in ("Sigmoid", "Tanh", "Exp"):
        out = ctx.outputs[0]()
        out = _value(out) if out is not None else None
        if out is None:
            return None
        factor = {"Sigmoid": lambda: out * (1 - out), "Tanh": lambda: 1 - out * out,
                  "Exp": lambda: out}[title]()
        return {"Sigmoid": "sigmoid'({a})", "Tanh": "tanh'({a})", "Exp": "exp({a})"}[title], factor
    if title in ("ReLU", "Abs"):  # x is the input that needs the gradient (the other is a mask)
        x = _value(inputs[position])
        return ("relu'({x})", (x > 0).astype(x.dtype)) if title == "ReLU" else ("sign({x})", np.sign(x))
    a = _value(inputs[0])
    if title == "Log":
        return "1/{a}", 1 / a
    if title == "Sin":
        return "cos({a})", np.cos(a)
    if title == "Cos":
        return "-sin({a})", -np.sin(a)
    if title == "Clone":
        return "1", None
    if len(inputs) < 2:
        return None
    b = _value(inputs[1])
    if title == "Mul":
        return ("{b}", b) if position == 0 else ("{a}", a)
    if title == "Div":
        return ("1/{b}", 1 / b) if position == 0 else ("(-{a}/{b}²)", -a / b ** 2)
    if title == "Pow":
        if position == 0:
            exponent = inputs[1]
            symbol = "{b}·{a}^({b}-1)" if isinstance(exponent, Tensor) else _power_text("{a}", exponent)
            return symbol, b * a ** (b - 1)
        return "{a}^{b}·ln({a})", a ** b * np.log(np.where(a > 0, a, 1))
    if title in ("Add", "Sub"):
        return ("1", None) if title == "Add" or position == 0 else ("(-1)", None)
    return None


def chain_rule_line(ctx, title, position, names, upstream, result, loss_name="L",
                    precision=4, lang=None) -> str:
    """One line ``dL/da = dL/dy * local = [numbers] * [numbers] = [numbers]`` for input ``position``.

    ``names`` are the display names of ctx's inputs (None for non-tensors) and of its first output
    (``names[-1]``); ``upstream`` is dL/dy and ``result`` the engine's dL/da for this op.
    """
    def num(x):
        return inline_array(x, precision=precision)

    def operand(i):
        value = node_inputs(ctx)[i]
        return names[i] if isinstance(value, Tensor) else short_value(value)

    out_name = names[-1]
    lhs = f"d{loss_name}/d{names[position]}"
    dy = f"d{loss_name}/d{out_name}"
    total = num(result)
    summed = np.shape(result) != np.shape(upstream)
    reduce_note = text("summed", lang) if summed else ""
    element = _elementwise_factor(title, ctx, position)
    if element is not None:
        symbol, factor = element
        symbol = symbol.format(a=operand(0), b=operand(1) if len(node_inputs(ctx)) > 1 else "",
                               x=operand(position))
        if symbol == "1":
            return f"{lhs} = {dy}{reduce_note} = {total}"
        if symbol == "(-1)":
            return f"{lhs} = -{dy}{reduce_note} = -{num(upstream)} = {total}"
        factor_text = num(factor)
        return (f"{lhs} = {dy} * {symbol}{reduce_note} = {num(upstream)} * {factor_text} "
                f"= {total}")
    if title == "Linear":
        x, weight = _value(node_inputs(ctx)[0]), _value(node_inputs(ctx)[1])
        sym_x, sym_w = operand(0), operand(1)
        if position == 0:
            return f"{lhs} = {dy} @ {sym_w} = {num(upstream)} @ {num(weight)} = {total}"
        if position == 1:
            if x.ndim == 1:
                return (f"{lhs} = outer({dy}, {sym_x}) = outer({num(upstream)}, {num(x)}) "
                        f"= {total}")
            return f"{lhs} = ({dy})ᵀ @ {sym_x} = {num(upstream)}ᵀ @ {num(x)} = {total}"
        if np.ndim(upstream) == 1:
            return f"{lhs} = {dy} = {total}"
        return f"{lhs} = {dy} {text('summed_batch', lang)} = {total}"
    if title == "MatMul":
        a, b = _value(node_inputs(ctx)[0]), _value(node_inputs(ctx)[1])
        if position == 0:
            return (f"{lhs} = {dy} @ {operand(1)}ᵀ = {num(upstream)} @ {num(np.swapaxes(b, -1, -2))} "
                    f"= {total}")
        return (f"{lhs} = {operand(0)}ᵀ @ {dy} = {num(np.swapaxes(a, -1, -2))} @ {num(upstream)} "
                f"= {total}")
    if title == "Sum":
        return f"{lhs} = {dy} {text('broadcast_to', lang)} {tuple(np.shape(result))} = {total}"
    return f"{lhs} = {title}.backward({dy}) = {title}.backward({num(upstream)}) = {total}"


def node_inputs(ctx):
    """The arguments of ``ctx``'s forward, with each tensor the node no longer holds (an
    ``InputRef``) resolved to the tensor while it is alive, or to a stand-in of its shape filled
    with NaN once it was freed (zeros for integer and bool tensors, which have no NaN; graphs built
    under ``ag.retain_grads()`` keep every tensor)."""
    return tuple(_resolve(v) for v in ctx.inputs)


def _resolve(value):
    if value.__class__ is not InputRef:
        return value
    tensor = value.ref()
    if tensor is None:
        fill = np.nan if value.dtype.kind in "fc" else 0
        tensor = Tensor._make(np.full(value.shape, fill, value.dtype))
        tensor._ctx, tensor._out_index = value._ctx, value._out_index
    return tensor
