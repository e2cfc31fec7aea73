"""The 8x8 digits (the course's "MNIST 8x8"): a few hidden-layer configurations side by side.

Run from the repository root (after ``pip install -e .``):

    python examples/digits_mlp.py [--hidden 32 64 64,32 128,64] [--epochs 30] [--out out]

scikit-learn's digits (1,797 images of 8x8 pixels, values 0-16) are split 60/20/20 into training,
validation and test sets, stratified. Each configuration is an MLP 64 -> hidden layers (ReLU) -> 10,
trained Keras-style with ``ag.training.fit`` (Adam, cross-entropy, validation after every epoch).
It prints one row per configuration (parameters, accuracies, time), then for the configuration with
the best validation accuracy the per-class precision, recall and F1 on the test set
(``sklearn.metrics.classification_report``), and writes

    <out>/digits_val_accuracy.png     validation accuracy per epoch, one curve per configuration
    <out>/digits_confusion.png        the best configuration's confusion matrix on the test set
"""
from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.metrics import classification_report  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.training import evaluate, fit, predict  # noqa: E402


def hidden_sizes(text):
    """'64,32' -> (64, 32)."""
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden layers must be comma-separated ints, got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"hidden layer sizes must be positive, got {text!r}")
    return sizes


def make_mlp(hidden):
    layers, width = [], 64
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=hidden_sizes, nargs="+",
                        default=[(32,), (64,), (64, 32), (128, 64)],
                        help="one configuration per argument, e.g. 64 or 64,32")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    images, labels = load_digits(return_X_y=True)
    images = (images / 16.0).astype(np.float32)          # (1797, 64) in [0, 1]
    x_train, x_rest, y_train, y_rest = train_test_split(images, labels, test_size=0.4,
                                                        stratify=labels, random_state=args.seed)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest,
                                                    random_state=args.seed)
    print(f"digits: {len(x_train)} training, {len(x_val)} validation, {len(x_test)} test images")

    runs, results = {}, []
    print(f"{'hidden layers':>15} {'params':>7} {'train acc':>9} {'val acc':>8} {'test acc':>8} "
          f"{'time':>6}")
    for hidden in args.hidden:
        ag.manual_seed(args.seed)
        model = make_mlp(hidden)
        start = time.perf_counter()
        history = fit(model, x_train, y_train, loss_fn=nn.CrossEntropyLoss(),
                      optimizer=optim.Adam(model.parameters(), lr=args.lr), epochs=args.epochs,
                      batch_size=args.batch_size, validation_data=(x_val, y_val),
                      metrics=["accuracy"], verbose=0)
        seconds = time.perf_counter() - start
        test = evaluate(model, x_test, y_test, metrics=["accuracy"])
        name = "-".join(str(s) for s in (64, *hidden, 10))
        runs[name] = history
        results.append((history.history["val_accuracy"][-1], name, model))
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{','.join(map(str, hidden)):>15} {parameters:>7} {history.history['accuracy'][-1]:>9.3f} "
              f"{history.history['val_accuracy'][-1]:>8.3f} {test['accuracy']:>8.3f} {seconds:>5.1f}s")

    best_val, best_name, best = max(results, key=lambda r: r[0])
    predicted = predict(best, x_test).argmax(axis=1)
    print(f"\nbest on validation: {best_name} (val accuracy {best_val:.3f}); on the test set:")
    print(classification_report(y_test, predicted, digits=3, zero_division=0))
    curves = os.path.join(args.out, "digits_val_accuracy.png")
    confusion = os.path.join(args.out, "digits_confusion.png")
    ag.plots.plot_runs(runs, metric="val_accuracy", title="digits 8x8: validation accuracy", save=curves)
    ag.plots.plot_confusion_matrix(y_test, predicted, title=f"{best_name} on the test set", save=confusion)
    print(f"wrote {curves} and {confusion}")
    return {"best": best_name, "test_accuracy": float(np.mean(predicted == y_test)),
            "runs": {name: h.history for name, h in runs.items()}}


if __name__ == "__main__":
    main()
