"""Optimizers and activations compared on the same task, as in the course's report.

Run from the repository root (after ``pip install -e .``):

    python examples/compare_optimizers.py [--epochs 20] [--out out]

The task: scikit-learn's 8x8 digits (1,797 images, 10 classes), split 70/30 into training and
validation, stratified; an MLP 64 -> 64 -> 10 trained for ``--epochs`` epochs with batches of 32,
from the same initial weights and the same batch order for every run (``ag.manual_seed``).

First the activation is fixed (ReLU) and the optimizer varies: SGD, SGD with momentum, Nesterov,
Adagrad, Adadelta, RMSprop, Adam, each with its usual learning rate. Then the optimizer is fixed
(Adam) and the hidden activation varies: Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU. The script
prints a results table (final training loss, final and best validation accuracy, the first epoch
reaching 95% validation accuracy, time) and writes one convergence plot,

    <out>/compare_optimizers.png   training loss per epoch (log scale), optimizers | activations
"""
from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.training import fit  # noqa: E402

OPTIMIZERS = {  # name -> (class, settings)
    "SGD": (optim.SGD, dict(lr=0.05)),
    "SGD momentum": (optim.SGD, dict(lr=0.05, momentum=0.9)),
    "Nesterov": (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "Adagrad": (optim.Adagrad, dict(lr=0.05)),
    "Adadelta": (optim.Adadelta, dict(lr=1.0)),
    "RMSprop": (optim.RMSprop, dict(lr=1e-3)),
    "Adam": (optim.Adam, dict(lr=1e-3)),
}
ACTIVATIONS = {"Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "ReLU": nn.ReLU, "LeakyReLU": nn.LeakyReLU,
               "ELU": nn.ELU, "GELU": nn.GELU}


def run(activation, optimizer_class, settings, data, args):
    x_train, y_train, x_val, y_val = data
    ag.manual_seed(args.seed)  # same initial weights (up to the activation) and batch order
    model = nn.Sequential(nn.Linear(64, args.hidden), activation(), nn.Linear(args.hidden, 10))
    start = time.perf_counter()
    history = fit(model, x_train, y_train, loss_fn=nn.CrossEntropyLoss(),
                  optimizer=optimizer_class(model.parameters(), **settings), epochs=args.epochs,
                  batch_size=args.batch_size, validation_data=(x_val, y_val), metrics=["accuracy"],
                  verbose=0)
    return history.history, time.perf_counter() - start


def table_row(name, history, seconds):
    accuracy = np.asarray(history["val_accuracy"])
    reached = np.flatnonzero(accuracy >= 0.95)
    first = str(reached[0] + 1) if reached.size else "-"
    return (f"{name:>14} {history['loss'][-1]:>10.4f} {accuracy[-1]:>8.3f} {accuracy.max():>8.3f} "
            f"{first:>9} {seconds:>6.1f}s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    images, labels = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split((images / 16.0).astype(np.float32), labels,
                                                      test_size=0.3, stratify=labels,
                                                      random_state=args.seed)
    data = (x_train, y_train, x_val, y_val)
    header = (f"{'':>14} {'train loss':>10} {'val acc':>8} {'best acc':>8} {'95% at':>9} "
              f"{'time':>7}")

    results = {"optimizers": {}, "activations": {}}
    print(f"optimizers (ReLU, {args.epochs} epochs):\n{header}")
    for name, (optimizer_class, settings) in OPTIMIZERS.items():
        history, seconds = run(nn.ReLU, optimizer_class, settings, data, args)
        results["optimizers"][name] = history
        print(table_row(name, history, seconds))
    print(f"\nactivations (Adam lr=1e-3, {args.epochs} epochs):\n{header}")
    for name, activation in ACTIVATIONS.items():
        history, seconds = run(activation, optim.Adam, dict(lr=1e-3), data, args)
        results["activations"][name] = history
        print(table_row(name, history, seconds))

    figure = Figure(figsize=(10.5, 4.0), layout="constrained")
    for ax, (group, runs) in zip(figure.subplots(1, 2), results.items()):
        ag.plots.plot_runs(runs, metric="loss", ax=ax, log_scale=True,
                           title=f"training loss per epoch: {group}")
    path = os.path.join(args.out, "compare_optimizers.png")
    figure.savefig(path, dpi=120)
    print(f"\nwrote {path}")
    return results


if __name__ == "__main__":
    main()
