"""The course's hand-computed backpropagation step, reproduced by the framework and drawn.

A 4-2-3 network: hidden layer with ReLU, output layer with a sigmoid, loss
L = 0.5 * sum((y - o)^2), one step of SGD with learning rate 0.1, all in float64:

    net_h = W1 x + b1,   h = relu(net_h),   net_o = W2 h + b2,   o = sigmoid(net_o)

The course writes the error signals as delta_o = (y - o) * sigmoid'(net_o) and
delta_h = relu'(net_h) * (W2^T delta_o): these are the negated gradients -dL/dnet_o and -dL/dnet_h
(the course updates W += lr * delta x^T, which is W -= lr * dL/dW), so the script prints
delta = -grad and checks the sign against the course's numbers.

Run from the repository root (after ``pip install -e .``):

    python examples/backprop_by_hand.py [--out-dir out/] [--no-frames]

It prints the forward values, the chain rule of every backward step with its numbers, the deltas
and the sum of squared errors before and after the SGD step, and writes to --out-dir:
backprop_before.{svg,png} (forward values, no gradients yet), backprop_after.{svg,png} (with every
gradient), backward_walk.html (the interactive walk: one self-contained page, arrow keys step through
backward), backward_chain_rule.tex (the chain rule in LaTeX), steps/step_000.png ... (one frame per
backward step, the current op highlighted) and backward.gif.
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402

X = [-1.73, -0.05, -1.38, -1.31]
Y = [1.0, 0.0, 0.0]
W1 = [[0.15, -0.13, 0.23, -0.45], [-0.29, -0.41, -0.19, 0.37]]
B1 = [-0.45, -0.10]
W2 = [[-4.79, -0.99], [0.38, 0.09], [2.40, -0.38]]
B2 = [-0.29, -0.17, -0.27]
LEARNING_RATE = 0.1


def named(tensor, name):
    tensor.name = name
    return tensor


def make_parameters():
    """W1, b1, W2, b2 as float64 Parameters named as in the course."""
    return [named(nn.Parameter(np.array(value, dtype=np.float64)), name)
            for name, value in (("W1", W1), ("b1", B1), ("W2", W2), ("b2", B2))]


def forward(x, y, params):
    """The network and its loss; every intermediate named so the graph and the steps read well."""
    w1, b1, w2, b2 = params
    net_h = named(ag.linear(x, w1, b1), "net_h")
    h = named(net_h.relu(), "h")
    net_o = named(ag.linear(h, w2, b2), "net_o")
    o = named(net_o.sigmoid(), "o")
    error = named(y - o, "y_minus_o")
    squared = named(error ** 2, "squared_error")
    sse = named(squared.sum(), "sse")
    loss = named(0.5 * sse, "L")
    return {"net_h": net_h, "h": h, "net_o": net_o, "o": o, "sse": sse, "loss": loss}


def run(out_dir=None, frames=True, verbose=True):
    """Do the worked example; return its numbers (float64 arrays and floats).

    With ``out_dir`` the graphs (and, with ``frames``, the step frames and GIF) are written there.
    """
    say = print if verbose else (lambda *args, **kwargs: None)
    x = named(ag.Tensor(np.array(X, dtype=np.float64)), "x")
    y = named(ag.Tensor(np.array(Y, dtype=np.float64)), "y")
    params = make_parameters()
    with ag.retain_grads():  # keep every intermediate value for the drawings (PyTorch frees them)
        values = forward(x, y, params)
    net_h, o, net_o, loss = values["net_h"], values["o"], values["net_o"], values["loss"]
    sse_before = float(values["sse"].item())
    np.set_printoptions(precision=8, suppress=True)
    say("forward")
    say("  net_h =", net_h.detach().numpy())
    say("  h     =", values["h"].detach().numpy() + 0.0)
    say("  net_o =", net_o.detach().numpy())
    say("  o     =", o.detach().numpy())
    say(f"  sum of squared errors = {sse_before!r}   (loss L = 0.5 * that = {loss.item():.8f})")

    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        before = ag.draw_graph(loss, rules=True, title="forward pass: values, no gradients yet")
        for suffix in ("svg", "png"):
            before.write(os.path.join(out_dir, f"backprop_before.{suffix}"))

    say("\nbackward, one node at a time (the stepper runs the same algorithm as loss.backward())")
    stepper = ag.BackwardStepper(loss)
    for step in stepper:
        say("  " + str(step).replace("\n", "\n    "))
    delta_o = -net_o.grad.detach().numpy() + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
    delta_h = -net_h.grad.detach().numpy() + 0.0
    say("\ncourse notation: delta = -dL/dnet")
    say("  delta_o =", delta_o)
    say("  delta_h =", delta_h)

    if out_dir:
        after = ag.draw_graph(loss, rules=True, title="after backward: every gradient dL/d(tensor)")
        for suffix in ("svg", "png"):
            after.write(os.path.join(out_dir, f"backprop_after.{suffix}"))
        stepper.to_html(os.path.join(out_dir, "backward_walk.html"))
        stepper.to_latex(os.path.join(out_dir, "backward_chain_rule.tex"))
        if frames:
            paths = stepper.write_frames(os.path.join(out_dir, "steps"), format="png")
            stepper.write_gif(os.path.join(out_dir, "backward.gif"), png_files=paths)
            say(f"\nwrote {len(paths)} frames to {os.path.join(out_dir, 'steps')} and backward.gif")

    optimizer = optim.SGD(params, lr=LEARNING_RATE)
    optimizer.step()
    with ag.no_grad():
        sse_after = float(forward(x, y, params)["sse"].item())
    say(f"\nafter one SGD step (lr={LEARNING_RATE}): sum of squared errors = {sse_after!r}")
    return {"net_h": net_h.detach().numpy().copy(), "o": o.detach().numpy().copy(), "sse_before": sse_before,
            "sse_after": sse_after, "delta_o": delta_o, "delta_h": delta_h,
            "grads": {p.name: p.grad.detach().numpy().copy() for p in params}, "steps": stepper.steps}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default="out", help="where graphs and frames go (default: out/)")
    parser.add_argument("--no-frames", action="store_true", help="skip the step frames and the GIF")
    args = parser.parse_args(argv)
    run(args.out_dir, frames=not args.no_frames)


if __name__ == "__main__":
    main()
