"""BackwardStepper: backward one node at a time, the chain rule with numbers, frames and a GIF."""
import re

import numpy as np
import pytest
import torch
from PIL import Image

import autograd_lite as ag
import nn


def mlp_loss(seed=0):
    """A small MLP whose input x feeds two ops (a shared use) and whose bias broadcasts."""
    rng = np.random.default_rng(seed)
    x = ag.Tensor(rng.normal(size=(3, 4)), requires_grad=True, name="x")
    w1 = ag.Tensor(rng.normal(size=(5, 4)), requires_grad=True, name="w1")
    b1 = ag.Tensor(rng.normal(size=(5,)), requires_grad=True, name="b1")
    w2 = ag.Tensor(rng.normal(size=(5, 2)), requires_grad=True, name="w2")
    hidden = (ag.linear(x, w1, b1).tanh() @ w2).sigmoid()
    loss = (hidden ** 2).mean() + (x * x).sum() * 0.01
    return [x, w1, b1, w2], hidden, loss


def test_stepper_gradients_equal_backward_and_pytorch():
    leaves, _, loss = mlp_loss()
    steps = ag.BackwardStepper(loss).run()
    stepped = [t.grad.detach().numpy().copy() for t in leaves]
    reference_leaves, _, reference = mlp_loss()
    reference.backward()
    for mine, theirs in zip(stepped, reference_leaves):
        np.testing.assert_allclose(mine, theirs.grad.detach().numpy(), rtol=1e-12, atol=1e-14)
    tx, tw1, tb1, tw2 = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in leaves]
    hidden = (torch.nn.functional.linear(tx, tw1, tb1).tanh() @ tw2).sigmoid()
    ((hidden ** 2).mean() + (tx * tx).sum() * 0.01).backward()
    for mine, theirs in zip(stepped, (tx, tw1, tb1, tw2)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert [s.index for s in steps] == list(range(1, len(steps) + 1))
    assert len(steps) == steps[0].stepper.total  # every node visited once


def test_stepper_runs_tensor_hooks_as_backward_does():
    """Hooks on a shared leaf (x feeds two ops: its hook sees the summed gradient once) and on an
    intermediate tensor change the stepped gradients exactly as they change backward()'s."""
    def run(step):
        leaves, hidden, loss = mlp_loss()
        seen = []
        leaves[0].register_hook(lambda g: seen.append(g.detach().numpy().copy()) or g * 3.0)
        hidden.register_hook(lambda g: g * -2.0)
        if step:
            ag.BackwardStepper(loss).run()
        else:
            loss.backward()
        return [t.grad.detach().numpy() for t in leaves], seen
    stepped, seen_stepped = run(step=True)
    expected, seen_expected = run(step=False)
    for mine, theirs in zip(stepped, expected):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-14)
    assert len(seen_stepped) == len(seen_expected) == 1
    np.testing.assert_allclose(seen_stepped[0], seen_expected[0], rtol=1e-12)
    leaves, _, loss = mlp_loss()
    loss.backward()
    assert not np.allclose(stepped[0], leaves[0].grad.detach().numpy())  # the hooks did change something


def test_intermediate_grads_are_kept_like_retain_grads():
    _, hidden, loss = mlp_loss()
    ag.BackwardStepper(loss).run()
    ag.retain_grads(True)
    try:
        _, reference_hidden, reference = mlp_loss()
        reference.backward()
    finally:
        ag.retain_grads(False)
    np.testing.assert_allclose(hidden.grad.detach().numpy(), reference_hidden.grad.detach().numpy(), rtol=1e-12)
    _, hidden, loss = mlp_loss()
    ag.BackwardStepper(loss, retain_grads=False).run()
    assert hidden.grad is None


def test_each_step_has_chain_rule_lines_and_a_highlighted_graph():
    leaves, _, loss = mlp_loss()
    stepper = ag.BackwardStepper(loss)
    first = next(iter(stepper))
    assert first.op.title == "Add" and len(first.lines) == 2  # the root: mean(...) + 0.01 * sum
    for step in stepper:
        needed = sum(1 for n, v in zip(step.op.ctx.needs_input_grad, step.op.ctx.inputs) if n)
        assert len(step.lines) == needed == len(step.input_grads)
        graph = step.graph()
        current = next(line for line in graph.body if line.lstrip().startswith(step.op.key + " "))
        assert "#E74C3C" in current and "penwidth=3.5" in current  # highlighted op
        assert f"step {step.index} of {stepper.total}" in graph.source
    sigmoid = next(s for s in stepper.steps if s.op.title == "Sigmoid")
    assert re.match(r"dL/d\w+ = dL/d\w+ \* sigmoid'\(\w+\) = \[\[", sigmoid.lines[0])
    linear = next(s for s in stepper.steps if s.op.title == "Linear")
    assert [line.split(" ")[0] for line in linear.lines] == ["dL/dx", "dL/dw1", "dL/db1"]
    assert linear.lines[0].startswith("dL/dx += dL/dlinear1 @ w1 = ")
    assert linear.lines[1].startswith("dL/dw1 = (dL/dlinear1)ᵀ @ x = ")
    assert "summed over the batch" in linear.lines[2]
    # x feeds Linear and the x * x product: its contributions add up
    shared = [line for s in stepper.steps for line in s.lines if line.startswith("dL/dx +=")]
    assert len(shared) == 3 and "(use 1 of 3" in shared[0] and "(use 3 of 3" in shared[2]


def test_graph_shows_only_the_gradients_known_so_far():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = x * 3.0
    y.name = "y"
    loss = (y * x).sum()
    stepper = ag.BackwardStepper(loss, show_values=False)
    initial = stepper.initial_graph().source
    assert initial.count("no grad yet") == 3 and "dL/dL = 1" in initial
    steps = stepper.run()
    middle = steps[1].graph()  # after Mul(y, x): x has one of its two contributions
    x_node = next(line for line in middle.body if "<B>x</B>" in line)
    assert "partial" in x_node and "[3, 6]" in x_node  # dL/dx via y*x is y = [3, 6]
    last = steps[-1].graph()
    x_node = next(line for line in last.body if "<B>x</B>" in line)
    assert "partial" not in x_node and "[6, 12]" in x_node  # 2 * 3 * x
    np.testing.assert_allclose(x.grad.detach().numpy(), [6.0, 12.0])
    assert str(steps[-1]).startswith(f"step {len(steps)} of")


def test_frames_and_gif(tmp_path):
    x = ag.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    loss = (x.tanh() * 2.0).sum()
    stepper = ag.BackwardStepper(loss, direction="TB")
    paths = stepper.write_frames(tmp_path / "frames", format="png")
    assert len(paths) == len(stepper.steps) + 1
    assert [p.rsplit("/", 1)[-1] for p in paths[:2]] == ["step_000.png", "step_001.png"]
    for path in paths:
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    svgs = stepper.write_frames(tmp_path / "svg", format="svg")
    assert "<svg" in open(svgs[-1]).read()
    gif = stepper.write_gif(tmp_path / "backward.gif", seconds_per_frame=0.5)
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == len(paths)
    with pytest.raises(ValueError, match="format must be"):
        stepper.write_frames(tmp_path, format="bmp")


def test_stepping_through_an_nn_model_highlights_the_module_when_collapsed():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = model(ag.randn(2, 3)).sum()
    stepper = ag.BackwardStepper(loss, model=model, collapse_modules=True)
    steps = stepper.run()
    assert [s.op.title for s in steps] == ["Sum", "Linear", "ReLU", "Linear"]
    graph = steps[1].graph()
    module_lines = [line for line in graph.body if re.match(r"\s*mod\d+ \[", line)]
    assert sum("#E74C3C" in line for line in module_lines) == 1
    assert "<B>2</B>" in next(line for line in module_lines if "#E74C3C" in line)
    assert model[0].weight.grad is not None


def test_bad_outputs_are_refused_clearly():
    leaf = ag.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="is a leaf"):
        ag.BackwardStepper(leaf, gradient=np.ones(2))
    with pytest.raises(TypeError, match="must be a Tensor"):
        ag.BackwardStepper(np.ones(2))
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        ag.BackwardStepper(leaf * 2.0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.BackwardStepper(ag.Tensor(np.ones(2)).sum())


def test_the_numbers_of_each_elementwise_line_multiply_out():
    from autograd_lite.teaching.rules import _elementwise_factor

    a = ag.Tensor(np.array([0.7, -1.2, 2.0]), requires_grad=True, name="a")
    b = ag.Tensor(np.array([1.5, 0.5, -0.25]), requires_grad=True, name="b")
    terms = [a.sigmoid(), a.tanh(), a.exp(), b.abs().log(), ag.relu(a), a.abs(), a * b, a / b,
             b ** 3, a.sin(), a.cos(), a - b, a + b, a.exp() ** b]
    loss = ag.stack(terms).sum()
    seen = set()
    for step in ag.BackwardStepper(loss).run():
        for position, name, grad in step.input_grads:
            factor = _elementwise_factor(step.op.title, step.op.ctx, position)
            if factor is None:
                continue
            seen.add(step.op.title)
            symbol, values = factor
            expected = step.upstream[0] * (1.0 if values is None else values)
            if symbol == "(-1)":
                expected = -expected
            np.testing.assert_allclose(grad, expected, rtol=1e-12, err_msg=step.lines[0])
    assert seen >= {"Sigmoid", "Tanh", "Exp", "Log", "ReLU", "Abs", "Mul", "Div", "Pow", "Sin",
                    "Cos", "Sub", "Add"}
