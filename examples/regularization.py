"""How L1/L2 penalties, Dropout and early stopping change the gap between training and validation.

Run from the repository root (after ``pip install -e .``):

    python examples/regularization.py [--train-size 200] [--epochs 150] [--out out]

A deliberately over-sized MLP (64 -> 256 -> 256 -> 10, ReLU) is trained with Adam on only
``--train-size`` of scikit-learn's 8x8 digits and validated on 600 others, so that it overfits: the
training loss goes to zero while the validation loss turns back up. The same network, from the same
initial weights and batch order, is then trained with

* an L2 penalty on every weight matrix (Keras' ``l2(1e-3)``: 1e-3 * sum w^2 added to the loss),
* an L1 penalty (``l1(1e-4)``: 1e-4 * sum |w|), which drives many weights to (nearly) zero,
* Dropout(0.5) after each hidden layer,
* early stopping on the validation loss (patience 10, restoring the best epoch's weights).

A callback records the data loss (cross-entropy only, without the penalty, in eval mode) on both
sets after every epoch, so the curves compare like with like. The script prints a table (epochs
run, final training and validation loss and accuracy, their gaps, the share of near-zero weights)
and writes

    <out>/regularization.png   training vs validation loss per epoch, one panel per setting
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.training import Callback, EarlyStopping, evaluate, fit  # noqa: E402


def data_loss(model, x, y):
    """{"loss": cross-entropy, "accuracy": ...} in eval mode, without the regularization penalty."""
    return evaluate(model, x, y, loss_fn=nn.CrossEntropyLoss(), metrics=["accuracy"],
                    regularization=False)


class DataLoss(Callback):
    """After every epoch: ``data_loss`` on both sets."""

    def __init__(self, train, validation):
        super().__init__()
        self.sets = {"train": train, "val": validation}
        self.curves = {"train": [], "val": []}

    def on_epoch_end(self, epoch, logs=None):
        for name, (x, y) in self.sets.items():
            self.curves[name].append(data_loss(self.model, x, y))


def make_model(hidden, regularizer=None, dropout=0.0):
    layers, width = [], 64
    for _ in range(2):
        layers += [nn.Linear(width, hidden, kernel_regularizer=regularizer), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, 10, kernel_regularizer=regularizer))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=200)
    parser.add_argument("--val-size", type=int, default=600)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--l1", type=float, default=1e-4)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    images, labels = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        (images / 16.0).astype(np.float32), labels, train_size=args.train_size,
        test_size=args.val_size, stratify=labels, random_state=args.seed)

    settings = {
        "none": dict(),
        f"L2 {args.l2:g}": dict(regularizer=nn.regularizers.l2(args.l2)),
        f"L1 {args.l1:g}": dict(regularizer=nn.regularizers.l1(args.l1)),
        f"Dropout {args.dropout:g}": dict(dropout=args.dropout),
        "early stopping": dict(stop=True),
    }
    print(f"{args.train_size} training and {args.val_size} validation digits; MLP 64-{args.hidden}-"
          f"{args.hidden}-10, Adam lr={args.lr}, up to {args.epochs} epochs")
    print(f"{'setting':>15} {'epochs':>6} {'train loss':>10} {'val loss':>9} {'loss gap':>9} "
          f"{'train acc':>9} {'val acc':>8} {'acc gap':>8} {'|w|<1e-3':>9}")
    curves, results = {}, {}
    for name, options in settings.items():
        ag.manual_seed(args.seed)
        model = make_model(args.hidden, options.get("regularizer"), options.get("dropout", 0.0))
        recorder = DataLoss((x_train, y_train), (x_val, y_val))
        callbacks = [recorder]
        if options.get("stop"):
            callbacks.append(EarlyStopping(monitor="val_loss", patience=args.patience,
                                           restore_best_weights=True))
        history = fit(model, x_train, y_train, loss_fn=nn.CrossEntropyLoss(),
                      optimizer=optim.Adam(model.parameters(), lr=args.lr), epochs=args.epochs,
                      batch_size=args.batch_size, validation_data=(x_val, y_val),
                      callbacks=callbacks, verbose=0)
        train, val = data_loss(model, x_train, y_train), data_loss(model, x_val, y_val)
        weights = np.concatenate([p.detach().numpy().ravel() for n, p in model.named_parameters()
                                  if n.endswith("weight")])
        small = float(np.mean(np.abs(weights) < 1e-3))
        results[name] = dict(epochs=len(history.epoch), train_loss=train["loss"], val_loss=val["loss"],
                             train_accuracy=train["accuracy"], val_accuracy=val["accuracy"],
                             small_weights=small)
        curves[name] = {part: [e["loss"] for e in recorder.curves[part]] for part in ("train", "val")}
        print(f"{name:>15} {len(history.epoch):>6} {train['loss']:>10.4f} {val['loss']:>9.4f} "
              f"{val['loss'] - train['loss']:>9.4f} {train['accuracy']:>9.3f} {val['accuracy']:>8.3f} "
              f"{train['accuracy'] - val['accuracy']:>8.3f} {small:>9.1%}")
    print("(early stopping: the weights of its best epoch; the others: after the last epoch)")

    figure = Figure(figsize=(3.3 * len(curves), 3.3), layout="constrained")
    for ax, (name, parts) in zip(figure.subplots(1, len(curves), sharey=True), curves.items()):
        ag.plots.plot_runs({"train": parts["train"], "validation": parts["val"]}, metric="loss",
                           ax=ax, log_scale=True, title=name)
    path = os.path.join(args.out, "regularization.png")
    figure.savefig(path, dpi=120)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
