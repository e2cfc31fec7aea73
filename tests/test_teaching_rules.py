"""Every op's local derivative rule lives with its class (``Function.rule``): a new op that
forgets its rule fails here."""
import importlib
import pkgutil

import numpy as np
import pytest

import autograd_lite as ag
import nn
from autograd_lite.function import Function
from autograd_lite.teaching import rules


def _import_all(package):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)


def all_functions():
    """Every Function subclass of the package (private bases such as ``_Extremum`` excepted: their
    public subclasses carry the rules)."""
    _import_all(ag.ops)
    _import_all(nn)
    found, todo = [], list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.split(".")[0] in ("autograd_lite", "nn") and not cls.__name__.startswith("_"):
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


FUNCTIONS = all_functions()


def test_the_package_has_functions():
    names = {cls.__name__ for cls in FUNCTIONS}
    assert {"Add", "Mul", "Linear", "Sigmoid", "Conv2d"} <= names


@pytest.mark.parametrize("cls", FUNCTIONS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_function_has_its_rule(cls):
    rule = cls.__dict__.get("rule")
    assert rule, (f"{cls.__module__}.{cls.__name__} has no local derivative rule: set the class "
                  f"attribute rule = \"d/da = ...\" beside forward/backward (see Function's docstring)")
    if isinstance(rule, dict):
        assert set(rule) == {"en", "es"} and all(isinstance(v, str) and v for v in rule.values())
    else:
        assert isinstance(rule, str)


def test_no_rule_table_keyed_by_class_name():
    assert not hasattr(rules, "LOCAL_RULES")


def test_graph_shows_the_class_rule_in_both_languages():
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    out = a.reshape(2, 1).sum()
    english = ag.draw_graph(out, rules=True).source
    spanish = ag.draw_graph(out, rules=True, lang="es").source
    assert "grad reshaped back" in english and "grad devuelto a la forma original" in spanish
    assert "leyenda" in spanish and "legend" in english


def test_custom_function_rule_is_shown():
    class Twice(Function):
        rule = "d/da = 2"

        @staticmethod
        def forward(ctx, a):
            return ag.Tensor(a._data * 2)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    a = ag.tensor(np.ones(2), requires_grad=True)
    assert "d/da = 2" in ag.draw_graph(Twice.apply(a).sum(), rules=True).source
