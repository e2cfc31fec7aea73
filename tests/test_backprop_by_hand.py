"""The course's hand-computed backprop step (examples/backprop_by_hand.py) reproduced by the framework."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "examples", "backprop_by_hand.py")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("backprop_by_hand", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def numbers(example):
    return example.run(out_dir=None, verbose=False)


def test_forward_values_match_the_course(numbers):
    np.testing.assert_allclose(numbers["net_h"], [-0.4309, 0.1997], atol=1e-12)
    np.testing.assert_allclose(numbers["o"], [0.38043483, 0.46206628, 0.41438041], atol=5e-9)
    assert numbers["sse_before"] == pytest.approx(0.7690773719494183, rel=1e-14)


def test_deltas_and_the_step_match_the_course(numbers):
    np.testing.assert_allclose(numbers["delta_o"], [0.14603409, -0.11485167, -0.1005574], atol=5e-9)
    np.testing.assert_allclose(numbers["delta_h"], [0.0, -0.11669859], atol=5e-9)
    assert numbers["sse_after"] == pytest.approx(0.7395348839038576, rel=1e-14)


def test_gradients_match_pytorch(example, numbers):
    x = torch.tensor(example.X, dtype=torch.float64)
    y = torch.tensor(example.Y, dtype=torch.float64)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for v in (example.W1, example.B1, example.W2, example.B2)]
    w1, b1, w2, b2 = params
    o = torch.sigmoid(w2 @ torch.relu(w1 @ x + b1) + b2)
    (0.5 * ((y - o) ** 2).sum()).backward()
    for name, param in zip(("W1", "b1", "W2", "b2"), params):
        np.testing.assert_allclose(numbers["grads"][name], param.grad.numpy(), rtol=1e-12, atol=1e-15)
    with torch.no_grad():
        for param in params:
            param -= 0.1 * param.grad
        o = torch.sigmoid(w2 @ torch.relu(w1 @ x + b1) + b2)
    assert numbers["sse_after"] == pytest.approx(((y - o) ** 2).sum().item(), rel=1e-14)


def test_chain_rule_lines_read_like_the_course(numbers):
    lines = [line for step in numbers["steps"] for line in step.lines]
    assert ("dL/dnet_o = dL/do * sigmoid'(net_o) = [-0.6196, 0.4621, 0.4144] * "
            "[0.2357, 0.2486, 0.2427] = [-0.146, 0.1149, 0.1006]") in lines
    assert "dL/dnet_h = dL/dh * relu'(net_h) = [0.9845, 0.1167] * [0, 1] = [0, 0.1167]" in lines
    assert "dL/db2 = dL/dnet_o = [-0.146, 0.1149, 0.1006]" in lines
    assert any(line.startswith("dL/dW1 = outer(dL/dnet_h, x) = ") for line in lines)
    assert [step.op.title for step in numbers["steps"]] == ["Mul", "Sum", "Pow", "Sub", "Sigmoid",
                                                           "Linear", "ReLU", "Linear"]


def test_graphs_before_and_after_and_the_frames(example, tmp_path):
    example.run(out_dir=str(tmp_path), frames=True, verbose=False)
    before = (tmp_path / "backprop_before.svg").read_text()
    after = (tmp_path / "backprop_after.svg").read_text()
    for name in ("net_h", "net_o", "W1", "b2", "L"):
        assert f">{name}<" in before and f">{name}<" in after
    assert "no grad yet" in before and "grad:" not in before
    assert "grad:" in after and "no grad yet" not in after and "0.1167" in after
    assert (tmp_path / "backprop_after.png").read_bytes()[:4] == b"\x89PNG"
    frames = sorted(os.listdir(tmp_path / "steps"))
    assert frames == [f"step_{i:03d}.png" for i in range(9)]  # before backward + 8 steps
    assert (tmp_path / "backward.gif").read_bytes()[:6] == b"GIF89a"


def test_script_prints_the_numbers(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get(
        "PYTHONPATH")])), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, SCRIPT, "--out-dir", str(tmp_path), "--no-frames"],
                            capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in ("net_h = [-0.4309  0.1997]", "o     = [0.38043483 0.46206628 0.41438041]",
                 "delta_o = [ 0.14603409 -0.11485167 -0.1005574 ]",
                 "delta_h = [ 0.         -0.11669859]", "0.7395348839038576",
                 "dL/dnet_o = dL/do * sigmoid'(net_o)"):
        assert text in out
    assert os.path.exists(tmp_path / "backprop_before.svg")
    assert not os.path.exists(tmp_path / "steps")
