"""The course's classification table and its train-minus-test "drift", from imbalanced-learn's and
scikit-learn's metrics (nothing recomputed by hand).

For each class c, one-vs-rest, with TP/FN/FP/TN counted for "c" against "not c":

* sensitivity (recall) = TP / (TP + FN) and specificity = TN / (TN + FP):
  ``imblearn.metrics.sensitivity_specificity_support``;
* accuracy = (TP + TN) / N: from ``sklearn.metrics.multilabel_confusion_matrix``;
* F1 = 2 TP / (2 TP + FP + FN): ``sklearn.metrics.f1_score``;

the ``macro avg`` row is the unweighted mean over the classes, and ``accuracy`` (overall) is
``sklearn.metrics.accuracy_score``. Drift is the training value minus the test value: a large
positive drift is the course's sign of overfitting. imbalanced-learn is an optional extra
(``pip install imbalanced-learn``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as _sk

from .callbacks import Callback

COLUMNS = ("sensitivity", "specificity", "accuracy", "f1")


def _imblearn_metrics():
    try:
        from imblearn import metrics
    except ImportError as error:  # an optional extra
        raise ImportError("sensitivity and specificity come from imbalanced-learn: pip install "
                          "imbalanced-learn (or the project's [imbalanced] extra)") from error
    return metrics


def class_table(y_true, y_pred, labels: Sequence | None = None,
                target_names: Sequence[str] | None = None) -> dict[str, Any]:
    """``{class name: {sensitivity, specificity, accuracy, f1, support}, ..., "macro avg": {...},
    "accuracy": overall accuracy}`` for label arrays ``y_true`` and ``y_pred``."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    names = [str(label) for label in labels] if target_names is None else list(target_names)
    if len(names) != len(labels):
        raise ValueError(f"class_table: {len(names)} target_names for {len(labels)} labels")
    sensitivity, specificity, support = _imblearn_metrics().sensitivity_specificity_support(
        y_true, y_pred, labels=labels, average=None, warn_for=())
    matrices = _sk.multilabel_confusion_matrix(y_true, y_pred, labels=labels)  # (C, 2, 2)
    accuracy = (matrices[:, 0, 0] + matrices[:, 1, 1]) / len(y_true)
    f1 = _sk.f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    table: dict[str, Any] = {}
    for i, name in enumerate(names):
        table[name] = {"sensitivity": float(sensitivity[i]), "specificity": float(specificity[i]),
                       "accuracy": float(accuracy[i]), "f1": float(f1[i]), "support": int(support[i])}
    table["macro avg"] = {column: float(np.mean([table[name][column] for name in names]))
                          for column in COLUMNS}
    table["macro avg"]["support"] = int(np.sum(support))
    table["accuracy"] = float(_sk.accuracy_score(y_true, y_pred))
    return table


def drift_table(train: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    """Training value minus test value, for every row and column of two ``class_table`` results."""
    rows = {name: {column: train[name][column] - test[name][column] for column in COLUMNS}
            for name in test if name != "accuracy"}
    rows["accuracy"] = train["accuracy"] - test["accuracy"]
    return rows


def _format(table, title, digits, with_support):
    columns = COLUMNS + (("support",) if with_support else ())
    width = max(12, *(len(name) for name in table))
    lines = [title, f"{'':>{width}} " + " ".join(f"{column:>11}" for column in columns)]
    for name, row in table.items():
        if name == "accuracy":
            continue
        cells = [f"{row[column]:>11.{digits}f}" for column in COLUMNS]
        if with_support:
            cells.append(f"{row['support']:>11d}")
        lines.append(f"{name:>{width}} " + " ".join(cells))
    lines.append(f"{'accuracy':>{width}} {table['accuracy']:>11.{digits}f}")
    return "\n".join(lines)


def classification_report(y_true, y_pred, *, y_train_true=None, y_train_pred=None,
                          labels: Sequence | None = None, target_names: Sequence[str] | None = None,
                          digits: int = 3, output_dict: bool = False):
    """The course's table for a test set: per-class and macro sensitivity, specificity, accuracy and
    F1 (see the module docstring), as text or, with ``output_dict=True``, as a dict.

    With the training set's labels and predictions (``y_train_true``, ``y_train_pred``) it adds the
    drift table (train minus test, same rows and columns); the dict is then
    ``{"test": ..., "train": ..., "drift": ...}``.
    """
    test = class_table(y_true, y_pred, labels, target_names)
    if (y_train_true is None) != (y_train_pred is None):
        raise ValueError("classification_report: pass both y_train_true and y_train_pred, or neither")
    if y_train_true is None:
        return test if output_dict else _format(test, "test", digits, True)
    if labels is None:
        labels = np.unique(np.concatenate([np.ravel(y) for y in
                                           (y_true, y_pred, y_train_true, y_train_pred)]))
        test = class_table(y_true, y_pred, labels, target_names)
    train = class_table(y_train_true, y_train_pred, labels, target_names)
    drift = drift_table(train, test)
    if output_dict:
        return {"test": test, "train": train, "drift": drift}
    return "\n\n".join([_format(test, "test", digits, True), _format(train, "train", digits, True),
                        _format(drift, "drift (train - test)", digits, False)])


class Drift(Callback):
    """Log ``drift_<name> = <name> - val_<name>`` at the end of every epoch for the given logged
    quantities (default: every one that has a ``val_`` twin), e.g. ``drift_accuracy``. Needs
    validation data in ``fit``."""

    def __init__(self, names: Sequence[str] | None = None):
        super().__init__()
        self.names = None if names is None else list(names)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        names = self.names or [name for name in list(logs)
                               if not name.startswith(("val_", "drift_")) and f"val_{name}" in logs]
        for name in names:
            if name not in logs or f"val_{name}" not in logs:
                raise KeyError(f"Drift: needs {name!r} and 'val_{name}' in the epoch logs, which "
                               f"hold {', '.join(logs)}; pass validation data and that metric to fit")
            logs[f"drift_{name}"] = logs[name] - logs[f"val_{name}"]
