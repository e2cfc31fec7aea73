"""``check``: compare a student's hand-computed numbers with the engine, and point at the first
wrong one.

    report = ag.teaching.check(loss, {"net_h": [-0.4309, 0.1997], "dL/dnet_h": [0, 0.1167],
                                      "W1'": [[...]]}, lr=0.1)
    print(report)          # right ones, the first wrong one with the expected value and its chain rule
    report.assert_right()  # in a course's pytest suite: fails with the same text

Names are those the graph shows (``draw_graph``): a tensor's name for its value (``net_h``, ``o``),
``dL/d<name>`` for a gradient (``L`` being the output's name), and ``<name>'`` for a parameter after
one SGD step ``W - lr * dL/dW`` (needs ``lr=``). Each number is compared to the precision the student
gave: ``0.1167`` is right when the engine's value is within half a unit of the last digit (0.00005);
give numbers as strings (``"0.10"``) to keep trailing zeros. Quantities are taken in the order they
are computed (forward values, then gradients in the order backward produces them, then updated
weights), so the first wrong one is the slip: later wrong numbers that depend on it are reported as
following from it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .labels import inline_array
from .language import check_language, text
from .stepper import BackwardStepper


@dataclass
class CheckedNumber:
    name: str
    given: np.ndarray
    expected: np.ndarray
    tolerance: float
    right: bool
    line: str            # how the engine computes it (the chain-rule line for a gradient)
    follows: bool = False  # wrong, and it depends on an earlier wrong number
    places: int = 4        # decimals the student wrote (the expected value is shown with as many)


def _decimals(value) -> int:
    text_value = value if isinstance(value, str) else repr(float(value))
    text_value = text_value.strip().lower()
    if "e" in text_value:
        mantissa, exponent = text_value.split("e")
        places = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return max(places - int(exponent), 0)
    return len(text_value.split(".")[1]) if "." in text_value else 0


def _as_numbers(value):
    """(float array, tolerance array, decimals) of a student's answer: each number to the precision
    it was written with (an integer such as 0 is taken as exact)."""
    objects = np.asarray(value, dtype=object)
    array = objects.astype(np.float64)
    places = np.vectorize(_decimals, otypes=[int])(objects) if objects.size else np.zeros(0, int)
    tolerance = np.where(places > 0, 0.5 * 10.0 ** -places.astype(float), 1e-9)
    return array, tolerance, int(places.max()) if places.size else 0


class CheckReport:
    """The outcome of ``check``: ``numbers`` (``CheckedNumber`` in computation order), ``first_wrong``
    (or None), ``str(report)`` the report, ``bool(report)`` True when everything is right."""

    def __init__(self, numbers, lang):
        self.numbers, self.lang = numbers, lang
        self.first_wrong = next((n for n in numbers if not n.right), None)

    def __bool__(self):
        return self.first_wrong is None

    def assert_right(self):
        """Raise ``AssertionError`` with the report unless every number is right (for pytest)."""
        if not self:
            raise AssertionError(str(self))

    def __str__(self):
        lang = self.lang
        lines = [text("check.header", lang, count=len(self.numbers))]
        for number in self.numbers:
            if number.right:
                status = text("check.right", lang)
            elif number is self.first_wrong:
                status = text("check.wrong", lang)
            else:
                status = text("check.wrong", lang) + (f" ({text('check.follows', lang)})"
                                                      if number.follows else "")
            lines.append(f"  {status:>11}  {number.name} = {inline_array(number.given, 12, 6)}")
        if self.first_wrong is None:
            lines.append(text("check.all_right", lang, count=len(self.numbers)))
        else:
            wrong = self.first_wrong
            lines.append(text("check.first_wrong", lang, name=wrong.name,
                              given=inline_array(wrong.given, 12, 6),
                              expected=inline_array(wrong.expected, 12, wrong.places)))
            lines.append(text("check.chain", lang, line=wrong.line))
        return "\n".join(lines)

    __repr__ = __str__


def check(output, answers, *, lr=None, model=None, names=None, lang=None) -> CheckReport:
    """Compare ``answers`` ({name: number or nested list}) with the graph of ``output`` (a scalar
    loss whose backward has not necessarily run; leaves' ``.grad`` are left as they were).
    See the module docstring for names, precision and order."""
    lang = check_language(lang)
    if not isinstance(answers, dict) or not answers:
        raise TypeError("check: answers must be a non-empty dict {name: number or list of numbers}")
    stepper = BackwardStepper(output, model=model, names=names, retain_graph=True, lang=lang)
    items = stepper.items
    saved = {id(t.tensor): t.tensor.grad for t in items.tensors.values()}
    try:
        steps = stepper.run()
        grads = dict(steps[-1]._snapshot) if steps else {}
    finally:
        for item in items.tensors.values():
            item.tensor.grad = saved[id(item.tensor)]
    by_name = {item.name: item for item in items.tensors.values()}
    loss = stepper.loss_name
    order = {item.key: n for n, item in enumerate(items.tensors.values())}
    grad_lines, grad_order = {}, {}
    for step in steps:
        for line in step.lines:
            target = line.split(" ", 1)[0]
            grad_lines.setdefault(target, []).append(line)
            grad_order.setdefault(target, step.index)
    producers = {}
    for op in items.ops:
        for out in op.outputs:
            producers[out.key] = op
    ancestors = _ancestors(items)

    numbers = []
    for name, value in answers.items():
        given, tolerance, places = _as_numbers(value)
        kind, base = _parse(name, loss)
        item = by_name.get(base)
        if item is None:
            raise KeyError(text("check.unknown", lang, name=name, known=", ".join(sorted(by_name))))
        if kind == "value":
            if item.freed:
                raise ValueError(text("check.freed", lang, name=base))
            expected = item.tensor._data
            op = producers.get(item.key)
            line = (f"{base} = {op.title}({', '.join(i.name for _, i, _ in op.inputs)})"
                    if op is not None else f"{base}")
            rank = (0, order[item.key])
        elif kind == "grad":
            entry = grads.get(id(item.tensor))
            expected = entry[0] if entry is not None else np.zeros(item.tensor.shape)
            line = " ; ".join(grad_lines.get(f"d{loss}/d{base}", [f"d{loss}/d{base} = 0"]))
            rank = (1, grad_order.get(f"d{loss}/d{base}", 0))
        else:
            if lr is None:
                raise ValueError(f"check: {name!r} (a weight after an SGD step) needs lr=")
            entry = grads.get(id(item.tensor))
            grad = entry[0] if entry is not None else np.zeros(item.tensor.shape)
            expected = item.tensor._data - lr * grad
            line = (f"{base}' = {base} - lr·d{loss}/d{base} = {inline_array(item.tensor._data)} - "
                    f"{lr}·{inline_array(grad)} = {inline_array(expected)}")
            rank = (2, order[item.key])
        expected = np.asarray(expected, dtype=np.float64)
        if given.size != expected.size:
            raise ValueError(f"check: {name!r} has {given.size} number(s), the engine's has "
                             f"{expected.size} (shape {expected.shape})")
        given, tolerance = given.reshape(expected.shape), np.broadcast_to(tolerance, expected.shape)
        right = bool(np.all(np.abs(given - expected) <= tolerance + 1e-12))
        numbers.append((rank, CheckedNumber(name, given, expected, tolerance, right, line,
                                            places=max(places, 1)), kind, item))
    numbers.sort(key=lambda entry: entry[0])
    first = next(((kind, item) for _, n, kind, item in numbers if not n.right), None)
    if first is not None:
        for _, number, kind, item in numbers:
            if not number.right and (kind, item) != first:
                number.follows = _depends(kind, item, *first, ancestors)
    return CheckReport([n for _, n, _, _ in numbers], lang)


def _parse(name, loss):
    name = name.strip()
    if name.endswith("'"):
        return "updated", name[:-1]
    prefix = f"d{loss}/d"
    if name.startswith(prefix):
        return "grad", name[len(prefix):]
    return "value", name


def _ancestors(items):
    """{tensor key: keys of every tensor it was computed from}."""
    result = {}
    for item in items.tensors.values():
        result.setdefault(item.key, set())
    for op in items.ops:  # producers before consumers
        sources = set()
        for _, item, _ in op.inputs:
            sources |= {item.key} | result.get(item.key, set())
        for out in op.outputs:
            result[out.key] = result.get(out.key, set()) | sources
    return result


def _depends(kind, item, first_kind, first_item, ancestors):
    """Does the engine compute (kind, item) from (first_kind, first_item)?"""
    if first_kind == "value":  # a value feeds every later value and every gradient downstream
        return first_item.key in ancestors[item.key] or kind != "value"
    if first_kind == "grad":  # dL/dB feeds dL/dA for every A that B was computed from
        if kind == "value":
            return False
        return item.key in ancestors[first_item.key] or (kind == "updated" and item is first_item)
    return False
