"""Safety nets: the version counter that catches in-place changes to saved tensors, detect_anomaly
(which op, created where, produced the first NaN/Inf, forward or backward), and error messages for
bad input that name shapes, dtypes and arguments."""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag


# ----------------------------------------------------------------------------- version counter
def test_modifying_a_saved_constant_in_place_makes_backward_raise_naming_the_op():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.add_(1.0)
    with pytest.raises(RuntimeError, match=r"gradient of Mul \(shape \(2,\), dtype float32\) was "
                                           r"modified by an in-place operation.*version 1, expected "
                                           r"version 0"):
        y.backward()


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    w = ag.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (ag.tensor([[3.0, 4.0]]) @ w.T).tanh().sum()
    with ag.no_grad():
        w.sub_(w * 0.1)
    with pytest.raises(RuntimeError, match="gradient of MatMul.*in-place"):
        loss.backward()


def test_modifying_a_saved_output_is_caught():
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    with ag.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="gradient of Exp.*in-place"):
        y.sum().backward()


def test_views_share_the_version_counter_even_when_the_saved_output_was_dropped():
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output
    loss = y.sum()
    with ag.no_grad():
        alias = y[:]  # a view of y's memory
    del y
    alias.mul_(2.0)
    with pytest.raises(RuntimeError, match="gradient of Exp.*in-place"):
        loss.backward()


def test_in_place_changes_after_backward_or_to_unsaved_tensors_are_fine():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    c = ag.tensor([3.0, 4.0])
    y = (x + c).sum()  # Add saves nothing
    c.mul_(2.0)
    y.backward()
    with ag.no_grad():
        x.sub_(x.grad)
    (x * c).sum().backward()
    assert np.allclose(x.grad.detach().numpy(), [1.0 + 6.0, 1.0 + 8.0])


def test_version_counter_counts_every_in_place_method():
    t = ag.zeros(3)
    for step in (lambda: t.add_(1), lambda: t.mul_(2), lambda: t.zero_(), lambda: t.fill_(1.0),
                 lambda: t.clamp_(0, 1), lambda: t.copy_(ag.ones(3)), lambda: t.__setitem__(0, 2.0),
                 lambda: t.uniform_(), lambda: t.normal_()):
        before = t._version
        step()
        assert t._version == before + 1


# ----------------------------------------------------------------------------- detect_anomaly
def test_detect_anomaly_names_the_forward_op_and_where_it_was_called():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(FloatingPointError) as info:
        with ag.detect_anomaly():
            shifted = x - 1.0
            shifted.log()  # log(0) = -inf: the first non-finite value
    message = str(info.value)
    assert "forward op Log produced 0 NaN and 1 Inf value(s)" in message
    assert "test_safety.py" in message and "shifted.log()" in message


def test_detect_anomaly_names_the_backward_op_and_its_creation_site():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    with pytest.raises(FloatingPointError) as info:
        with ag.detect_anomaly():
            root = x.sqrt()  # finite forward, infinite gradient at 0
            root.sum().backward()
    message = str(info.value)
    assert "backward of Pow returned 0 NaN and 1 Inf value(s) in the gradient of its input 0" in message
    assert "test_safety.py" in message and "root = x.sqrt()" in message


def test_without_detect_anomaly_nan_propagates_silently():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.detach().numpy()[0])
    with ag.detect_anomaly():  # an op whose input already holds Inf is not the culprit
        y = (x * np.inf) * 2.0
    assert not np.isfinite(y.detach().numpy()).any()  # 0 * inf = NaN, 4 * inf = inf: no error


def test_anomaly_mode_in_forward_reports_the_first_op_only():
    x = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(FloatingPointError, match="forward op Div"):
        with ag.detect_anomaly():
            (x / 0.0).exp()


# ----------------------------------------------------------------------------- bad input
BAD_INPUT = [
    ("matmul mismatch", lambda: ag.zeros(2, 3) @ ag.zeros(4, 5), ValueError,
     r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 .*!= 4"),
    ("matmul batch dims", lambda: ag.zeros(2, 2, 3) @ ag.zeros(3, 3, 1), ValueError,
     r"batch dims \(2,\) and \(3,\) cannot be broadcast"),
    ("matmul vector", lambda: ag.zeros(3) @ ag.zeros(4), ValueError, r"shapes \(3,\) and \(4,\)"),
    ("matmul 0-d", lambda: ag.tensor(1.0) @ ag.zeros(2), ValueError, "at least 1 dim"),
    ("broadcasting", lambda: ag.zeros(2, 3) + ag.zeros(4), ValueError,
     r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    ("broadcasting mul", lambda: ag.zeros(2) * ag.zeros(3), ValueError, r"mul: shapes \(2,\) and \(3,\)"),
    ("reshape", lambda: ag.zeros(2, 3).reshape(4), ValueError,
     r"cannot view a tensor of shape \(2, 3\) \(6 elements\) as shape \(4,\)"),
    ("expand", lambda: ag.zeros(2, 3).expand(4, 3), ValueError,
     r"shape \(2, 3\) cannot be expanded to \(4, 3\)"),
    ("permute", lambda: ag.zeros(2, 3).permute(0, 0), ValueError, r"not a permutation"),
    ("cat", lambda: ag.cat([ag.zeros(2, 3), ag.zeros(2, 4)], 0), ValueError,
     r"cat along dim 0: shapes \[\(2, 3\), \(2, 4\)\]"),
    ("cat 0-d", lambda: ag.cat([ag.tensor(1.0), ag.tensor(2.0)]), ValueError,
     "position 0 is 0-d and cannot be concatenated"),
    ("stack", lambda: ag.stack([ag.zeros(2), ag.zeros(3)]), ValueError, r"same shape, got \[\(2,\), \(3,\)\]"),
    ("dim", lambda: ag.zeros(2, 3).sum(2), IndexError,
     r"dim 2 is out of range for a tensor with 2 dimension\(s\)"),
    ("softmax dim", lambda: ag.zeros(2, 3).softmax(5), Exception, "5"),
    ("linear", lambda: ag.linear(ag.zeros(2, 3), ag.zeros(4, 5)), ValueError,
     r"input of shape \(2, 3\) has 3 features but the weight of shape \(4, 5\) expects 5"),
    ("requires_grad int", lambda: ag.tensor([1, 2], requires_grad=True), RuntimeError,
     r"only floating-point tensors can require gradients, got dtype int64"),
    ("backward no grad", lambda: ag.zeros(2).sum().backward(), RuntimeError, "does not require grad"),
    ("backward non-scalar", lambda: (ag.zeros(2, requires_grad=True) * 2).backward(), RuntimeError,
     r"scalar outputs, but the output has shape \(2,\)"),
    ("where condition", lambda: ag.where(ag.zeros(2), ag.zeros(2), 1.0), TypeError,
     "condition must be a bool tensor"),
    ("index", lambda: ag.zeros(2, 3)[0, 7], IndexError, r"into a tensor of shape \(2, 3\)"),
    ("operand type", lambda: ag.zeros(2) + "a", TypeError, "unsupported operand type str"),
    ("dtype name", lambda: ag.zeros(2, dtype="complex64"), TypeError, "unsupported dtype complex64"),
    ("in-place shape", lambda: ag.zeros(2).copy_(ag.zeros(3)), ValueError, r"copy_: operand shape"),
    ("in-place dtype", lambda: ag.tensor([1, 2]).add_(0.5), TypeError,
     r"add_: the result for operand dtype\(s\) \['float64'\] cannot be stored in place in a tensor "
     "of dtype int64"),
    ("max dims", lambda: ag.zeros(2, 3).max((0, 1)), TypeError, "dim must be an int"),
    ("item", lambda: ag.zeros(2).item(), ValueError, r"shape \(2,\)"),
]


@pytest.mark.parametrize("name,make,error,pattern", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_raises_a_clear_error(name, make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_ops_that_make_inf_or_nan_do_not_warn_as_in_pytorch():
    """NumPy's RuntimeWarnings (divide by zero, invalid value, overflow) raised inside the ops are
    filtered: PyTorch is silent too, and detect_anomaly is the way to find where a NaN came from. A
    user's own NumPy code keeps its warnings. In a fresh interpreter: pytest installs its own
    warning filters around every test, in front of the package's."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = (
        "import numpy as np, autograd_lite as ag\n"
        "x = ag.tensor([1.0, 0.0, -1.0, 1000.0], requires_grad=True)\n"
        "y = ((1.0 / x).log() + x.exp() + x ** -1.0 + ag.tensor(0.0) / ag.tensor(0.0)).sum()\n"
        "y.backward()\n"
        "assert not np.isfinite(y.item()) and not np.isfinite(x.grad.detach().numpy()).all()\n"
        "print('ops done', flush=True)\n"
        "np.float64(1.0) / np.float64(0.0)\n")
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ops done" in result.stdout
    assert result.stderr.count("RuntimeWarning") == 1      # NumPy's own division, not the ops'
    assert "scalar divide" in result.stderr
