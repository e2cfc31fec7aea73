"""Binary classification of breast tumours, with ROC and precision-recall curves and their AUC.

Run from the repository root (after ``pip install -e .``):

    python examples/breast_cancer_roc.py [--epochs 60] [--hidden 16] [--out out]

scikit-learn's Wisconsin breast cancer data (569 tumours, 30 features) is split 60/20/20 into
training, validation and test sets, stratified, and standardised with the training statistics. The
positive class is *malignant* (scikit-learn's target 0). An MLP 30 -> hidden (ReLU) -> 1 logit is
trained with ``BCEWithLogitsLoss`` and Adam through ``ag.training.fit``, which logs the validation
ROC AUC and average precision every epoch (scikit-learn's metrics). On the test set it prints the
accuracy, precision, recall, ROC AUC and average precision, next to scikit-learn's
``LogisticRegression`` as a reference, and writes

    <out>/breast_cancer_roc_pr.png   ROC curve (with AUC) and precision-recall curve (with AUC, AP)
    <out>/breast_cancer_curves.png   loss and AUC per epoch, training against validation
"""
from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn import metrics  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.training import fit, predict  # noqa: E402


def scores(y_true, probability):
    predicted = (probability > 0.5).astype(int)
    return {"accuracy": metrics.accuracy_score(y_true, predicted),
            "precision": metrics.precision_score(y_true, predicted),
            "recall": metrics.recall_score(y_true, predicted),
            "ROC AUC": metrics.roc_auc_score(y_true, probability),
            "AP": metrics.average_precision_score(y_true, probability)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    data = load_breast_cancer()
    features, malignant = data.data, (data.target == 0).astype(np.float32)   # positive = malignant
    x_train, x_rest, y_train, y_rest = train_test_split(features, malignant, test_size=0.4,
                                                        stratify=malignant, random_state=args.seed)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest,
                                                    random_state=args.seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_val, x_test = [((x - mean) / std).astype(np.float32) for x in (x_train, x_val, x_test)]
    print(f"{len(x_train)} training, {len(x_val)} validation, {len(x_test)} test tumours; "
          f"{malignant.mean():.0%} malignant")

    ag.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(30, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 1))
    history = fit(model, x_train, y_train[:, None], loss_fn=nn.BCEWithLogitsLoss(),
                  optimizer=optim.Adam(model.parameters(), lr=args.lr), epochs=args.epochs,
                  batch_size=args.batch_size, validation_data=(x_val, y_val[:, None]),
                  metrics=["accuracy", "auc", "average_precision"], verbose=0)
    last = {name: values[-1] for name, values in history.history.items()}
    print(f"after {args.epochs} epochs: loss {last['loss']:.4f}, val_loss {last['val_loss']:.4f}, "
          f"val_auc {last['val_auc']:.4f}, val_average_precision {last['val_average_precision']:.4f}")

    probability = 1.0 / (1.0 + np.exp(-predict(model, x_test)[:, 0]))   # sigmoid of the logit
    reference = LogisticRegression(max_iter=1000).fit(x_train, y_train).predict_proba(x_test)[:, 1]
    print(f"\ntest set ({len(y_test)} tumours, {int(y_test.sum())} malignant):")
    print(f"{'model':>22} " + " ".join(f"{name:>9}" for name in scores(y_test, probability)))
    for name, p in ((f"MLP 30-{args.hidden}-1", probability), ("LogisticRegression", reference)):
        print(f"{name:>22} " + " ".join(f"{value:>9.4f}" for value in scores(y_test, p).values()))

    figure = Figure(figsize=(9.2, 4.2), layout="constrained")
    roc_axis, pr_axis = figure.subplots(1, 2)
    names = ["benign", "malignant"]
    ag.plots.plot_roc(y_test, probability, class_names=names, ax=roc_axis, title="ROC, test set")
    ag.plots.plot_precision_recall(y_test, probability, class_names=names, ax=pr_axis,
                                   title="Precision-recall, test set")
    curves_path = os.path.join(args.out, "breast_cancer_roc_pr.png")
    figure.savefig(curves_path, dpi=120)
    history_path = os.path.join(args.out, "breast_cancer_curves.png")
    ag.plots.plot_history(history, metrics=["loss", "auc"], title="MLP on breast cancer",
                          save=history_path)
    print(f"wrote {curves_path} and {history_path}")
    return {"test": scores(y_test, probability), "history": history.history}


if __name__ == "__main__":
    main()
