"""Quickstart: the course's Iris MLP (4 inputs, 2 hidden neurons, 3 classes), trained PyTorch-style.

Run from the repository root (after ``pip install -e .``):

    python examples/quickstart.py [--epochs 60] [--lr 0.05] [--batch-size 8] [--out out]

The Iris data comes from scikit-learn (150 flowers, 4 measurements, 3 species); 30% of it is held
out, stratified. The loop is the plain PyTorch one: ``zero_grad``, forward, loss, ``backward``,
``step``. It prints the model, the loss and accuracy on the training and held-out sets after every
epoch and the final test accuracy, and writes

    <out>/quickstart_backprop.svg   the backprop graph of the untrained model's loss on 3 training
                                    flowers, one of each species: every op, value and gradient,
                                    parameters named by their layer (fc1.weight)
    <out>/quickstart_curves.png     loss and accuracy per epoch, training against held-out
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.data import DataLoader, TensorDataset  # noqa: E402


class IrisMLP(nn.Module):
    """4 -> 2 (sigmoid) -> 3 logits; the softmax lives in the cross-entropy loss."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 2)
        self.act = nn.Sigmoid()
        self.fc2 = nn.Linear(2, 3)

    def forward(self, x):       # x (B, 4)
        return self.fc2(self.act(self.fc1(x)))   # (B, 3)


def loss_and_accuracy(model, loss_fn, x, y):
    """Whole-set loss and accuracy, in eval mode and without recording a graph."""
    model.eval()
    with ag.no_grad():
        logits = model(x)
        loss = loss_fn(logits, y).item()
    model.train()
    return loss, float((logits.argmax(dim=1).numpy() == y.numpy()).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    ag.manual_seed(args.seed)

    features, labels = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.3, stratify=labels, random_state=args.seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)    # standardise with training statistics
    x_train, x_test = [ag.tensor((x - mean) / std, dtype="float32") for x in (x_train, x_test)]
    y_train, y_test = ag.tensor(y_train), ag.tensor(y_test)

    model = IrisMLP()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    # The backprop graph at a teachable moment: before training (gradients are large), on 3 flowers,
    # one of each species, so every value and gradient fits in its node. retain_grads keeps the
    # intermediate values and gradients (PyTorch frees them) for the drawing.
    flowers = np.array([int(np.flatnonzero(y_train.numpy() == c)[0]) for c in range(3)])
    batch = x_train[flowers]
    with ag.retain_grads():
        loss = loss_fn(model(batch), y_train[flowers])
        loss.backward()
    graph = ag.draw_graph(loss, model=model, names={"x": batch}, cluster_modules=True,
                          title="Iris MLP 4-2-3 before training: cross-entropy of 3 flowers, "
                                "one per species")
    optimizer.zero_grad()

    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for epoch in range(args.epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        for prefix, (x, y) in (("", (x_train, y_train)), ("val_", (x_test, y_test))):
            loss_value, accuracy = loss_and_accuracy(model, loss_fn, x, y)
            history[prefix + "loss"].append(loss_value)
            history[prefix + "accuracy"].append(accuracy)
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {history['loss'][-1]:.4f}  "
              f"accuracy {history['accuracy'][-1]:.3f}  held-out loss {history['val_loss'][-1]:.4f}  "
              f"held-out accuracy {history['val_accuracy'][-1]:.3f}")
    _, test_accuracy = loss_and_accuracy(model, loss_fn, x_test, y_test)
    print(f"test accuracy: {test_accuracy:.3f} ({round(test_accuracy * len(y_test))}/{len(y_test)} "
          "flowers)")

    graph_path = graph.write(os.path.join(args.out, "quickstart_backprop.svg"))
    curves_path = os.path.join(args.out, "quickstart_curves.png")
    ag.plots.plot_history(history, title="Iris MLP 4-2-3", save=curves_path)
    print(f"wrote {graph_path} and {curves_path}")
    return {"test_accuracy": test_accuracy, "history": history}


if __name__ == "__main__":
    main()
