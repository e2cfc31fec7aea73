"""ag.teaching.check on the course's hand step (examples/backprop_by_hand.py): a deliberate slip
in one hidden delta is reported first, with the expected value and its chain-rule line."""
import os
import sys

import numpy as np
import pytest

import autograd_lite as ag

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand as course  # noqa: E402

# The course's hand computation (4 decimals, as written on the sheet); dL/dnet = -delta.
HAND = {
    "net_h": [-0.4309, 0.1997], "h": [0, 0.1997], "net_o": [-0.4877, -0.152, -0.3459],
    "o": [0.3804, 0.4621, 0.4144],
    "dL/dnet_o": [-0.146, 0.1149, 0.1006],
    "dL/dh": [0.9845, 0.1167],
    "dL/dnet_h": [0, 0.1167],
    "dL/dW2": [[0, -0.0292], [0, 0.0229], [0, 0.0201]],
    "dL/db2": [-0.146, 0.1149, 0.1006],
    "dL/dW1": [[0, 0, 0, 0], [-0.2019, -0.0058, -0.161, -0.1529]],
    "dL/db1": [0, 0.1167],
    "W1'": [[0.15, -0.13, 0.23, -0.45], [-0.2698, -0.4094, -0.1739, 0.3853]],
    "W2'": [[-4.79, -0.987], [0.38, 0.0877], [2.4, -0.382]],
}


def course_loss():
    x = course.named(ag.Tensor(np.array(course.X)), "x")
    y = course.named(ag.Tensor(np.array(course.Y)), "y")
    params = course.make_parameters()
    with ag.retain_grads():  # keeps the intermediate values (net_h, o, ...) to be checked
        return course.forward(x, y, params)["loss"], params


def test_the_hand_step_is_right():
    loss, params = course_loss()
    report = ag.teaching.check(loss, HAND, lr=course.LEARNING_RATE)
    assert bool(report) and report.first_wrong is None
    report.assert_right()
    assert f"All {len(HAND)} numbers are right." in str(report)
    assert all(p.grad is None for p in params)  # check leaves .grad alone
    loss.backward()  # and the graph is still usable
    assert params[0].grad is not None


def test_a_slip_in_a_hidden_delta_is_named_first():
    loss, _ = course_loss()
    slipped = dict(HAND)
    slipped["dL/dnet_h"] = [0, 0.1267]           # the slip
    slipped["dL/dW1"] = [[0, 0, 0, 0], [-0.2192, -0.0063, -0.1748, -0.166]]  # carried on from it
    slipped["dL/db1"] = [0, 0.1267]
    report = ag.teaching.check(loss, slipped, lr=course.LEARNING_RATE)
    assert not report
    assert report.first_wrong.name == "dL/dnet_h"
    np.testing.assert_allclose(report.first_wrong.expected, [0, 0.11669], atol=1e-5)
    text = str(report)
    assert "First wrong number: dL/dnet_h = [0, 0.1267], expected [0, 0.1167]." in text
    assert "dL/dnet_h = dL/dh * relu'(net_h) = [0.9845, 0.1167] * [0, 1] = [0, 0.1167]" in text
    follows = [n.name for n in report.numbers if n.follows]
    assert set(follows) == {"dL/dW1", "dL/db1"}
    # numbers computed before the slip are right, and it is the only one reported as the error
    names = [n.name for n in report.numbers]
    assert names.index("dL/dnet_o") < names.index("dL/dnet_h") < names.index("dL/dW1")
    with pytest.raises(AssertionError, match="First wrong number: dL/dnet_h"):
        report.assert_right()


def test_precision_is_the_students():
    loss, _ = course_loss()
    assert ag.teaching.check(loss, {"o": ["0.38", "0.46", "0.41"]})
    assert not ag.teaching.check(loss, {"o": ["0.381", "0.462", "0.414"]})
    assert ag.teaching.check(loss, {"o": [0.3804, 0.46, 0.4]})  # each number to its own digits


def test_spanish_report_and_errors():
    loss, _ = course_loss()
    report = ag.teaching.check(loss, {"dL/dnet_o": [-0.146, 0.1149, 0.2]}, lang="es")
    assert "Primer número incorrecto: dL/dnet_o" in str(report)
    assert "Viene de la regla de la cadena: dL/dnet_o = dL/do * sigmoid'(net_o)" in str(report)
    with pytest.raises(KeyError, match="unknown quantity 'nett_h'"):
        ag.teaching.check(loss, {"nett_h": [0, 0]})
    with pytest.raises(ValueError, match="needs lr="):
        ag.teaching.check(loss, {"W1'": np.zeros((2, 4)).tolist()})
    with pytest.raises(ValueError, match="has 3 number"):
        ag.teaching.check(loss, {"net_h": [0, 0, 0]})
    x = ag.tensor(np.array(course.X))
    freed = course.forward(x, ag.tensor(np.array(course.Y)), course.make_parameters())["loss"]
    with pytest.raises(ValueError, match="retain_grads"):  # built without it: values were freed
        ag.teaching.check(freed, {"o": [0.38, 0.46, 0.41]})
    assert ag.teaching.check(freed, {"dL/dnet_o": [-0.146, 0.1149, 0.1006]})  # gradients work
