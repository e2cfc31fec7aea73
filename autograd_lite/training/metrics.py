"""Metrics for ``fit`` and ``evaluate``: a name (or a function) turned into ``Metric(y_true, outputs)``.

The model's raw outputs are interpreted by their shape:

* ``(N, C)`` with ``C > 1``: one score per class; the predicted label is the argmax, and the class
  probabilities are ``softmax(outputs)`` when ``from_logits`` (logits or log-probabilities), else the
  outputs themselves;
* ``(N,)`` or ``(N, 1)``: binary; the probability of class 1 is ``sigmoid(outputs)`` when
  ``from_logits``, else the outputs, and the predicted label is ``probability > 0.5`` (i.e. logit > 0).

Accuracy is one line of NumPy; ``sensitivity`` and ``specificity`` are imbalanced-learn's
(``sensitivity_score``, ``specificity_score``); every other metric is scikit-learn's
(``precision_score``, ``recall_score``, ``f1_score``; all of them with ``average="binary"`` for a
single binary output and ``"macro"`` otherwise,
``roc_auc_score`` (one-vs-rest for several classes), ``average_precision_score``,
``mean_squared_error``, ``mean_absolute_error``).
"""
from __future__ import annotations

import numpy as np
from sklearn import metrics as _sk
from sklearn.preprocessing import label_binarize


def _is_binary(outputs):
    return outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)


def _labels(y_true):
    """Targets as 1-D labels (one-hot rows become their argmax)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return y_true.argmax(axis=1)
    return y_true.reshape(len(y_true))


def predicted_labels(outputs, from_logits=True):
    """Class labels predicted from raw model outputs (see the module docstring)."""
    outputs = np.asarray(outputs)
    if _is_binary(outputs):
        return (outputs.reshape(len(outputs)) > (0.0 if from_logits else 0.5)).astype(np.int64)
    return outputs.argmax(axis=1)


def class_probabilities(outputs, from_logits=True):
    """Probability of class 1 (binary, shape (N,)) or of every class (shape (N, C))."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if _is_binary(outputs):
        outputs = outputs.reshape(len(outputs))
        return 1.0 / (1.0 + np.exp(-outputs)) if from_logits else outputs
    if not from_logits:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _accuracy(y_true, outputs, from_logits):
    return float(np.mean(predicted_labels(outputs, from_logits) == _labels(y_true)))


def _averaged(score):
    def metric(y_true, outputs, from_logits):
        average = "binary" if _is_binary(np.asarray(outputs)) else "macro"
        return float(score(_labels(y_true), predicted_labels(outputs, from_logits), average=average,
                           zero_division=0))
    return metric


def _imbalanced(score_name):
    """imbalanced-learn's ``sensitivity_score``/``specificity_score`` (an optional extra, imported
    when the metric is computed), averaged as ``_averaged`` does."""
    def metric(y_true, outputs, from_logits):
        from .report import _imblearn_metrics
        score = getattr(_imblearn_metrics(), score_name)
        average = "binary" if _is_binary(np.asarray(outputs)) else "macro"
        return float(score(_labels(y_true), predicted_labels(outputs, from_logits), average=average))
    return metric


def _roc_auc(y_true, outputs, from_logits):
    probabilities = class_probabilities(outputs, from_logits)
    if probabilities.ndim == 1:
        return float(_sk.roc_auc_score(_labels(y_true), probabilities))
    return float(_sk.roc_auc_score(_labels(y_true), probabilities, multi_class="ovr",
                                   labels=np.arange(probabilities.shape[1])))


def _average_precision(y_true, outputs, from_logits):
    probabilities = class_probabilities(outputs, from_logits)
    labels = _labels(y_true)
    if probabilities.ndim == 2:
        labels = label_binarize(labels, classes=np.arange(probabilities.shape[1]))
    return float(_sk.average_precision_score(labels, probabilities))


def _regression(score):
    def metric(y_true, outputs, from_logits):
        y_true = np.asarray(y_true, dtype=np.float64)
        return float(score(y_true.reshape(len(y_true), -1), np.asarray(outputs).reshape(len(y_true), -1)))
    return metric


class Metric:
    """A named metric ``fn(y_true, outputs, from_logits) -> float``; ``direction`` is ``"up"`` when
    larger is better, ``"down"`` when smaller is, ``None`` when unknown (EarlyStopping's
    ``mode="auto"`` reads it)."""

    def __init__(self, name, fn, direction=None):
        self.name, self.fn, self.direction = name, fn, direction

    def __call__(self, y_true, outputs, from_logits=True):
        return self.fn(y_true, outputs, from_logits)

    def __repr__(self):
        return f"Metric({self.name!r})"


_BUILTIN = {
    "accuracy": (_accuracy, "up"),
    "precision": (_averaged(_sk.precision_score), "up"),
    "recall": (_averaged(_sk.recall_score), "up"),
    "f1": (_averaged(_sk.f1_score), "up"),
    "sensitivity": (_imbalanced("sensitivity_score"), "up"),
    "specificity": (_imbalanced("specificity_score"), "up"),
    "auc": (_roc_auc, "up"),
    "average_precision": (_average_precision, "up"),
    "mse": (_regression(_sk.mean_squared_error), "down"),
    "mae": (_regression(_sk.mean_absolute_error), "down"),
}
_ALIASES = {"acc": "accuracy", "roc_auc": "auc", "pr_auc": "average_precision", "f1_score": "f1",
            "mean_squared_error": "mse", "mean_absolute_error": "mae"}
METRIC_NAMES = tuple(_BUILTIN) + tuple(_ALIASES)


def get_metric(spec) -> Metric:
    """A ``Metric`` from a name in ``METRIC_NAMES``, a ``Metric``, or a function.

    A plain function is called as ``fn(y_true, y_pred)`` with the predicted labels (classification
    metrics such as ``sklearn.metrics.balanced_accuracy_score`` fit as they are); its log name is
    its ``__name__`` and its direction unknown.
    """
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        name = _ALIASES.get(spec, spec)
        if name not in _BUILTIN:
            raise ValueError(f"unknown metric {spec!r}; known names: {', '.join(METRIC_NAMES)} (or "
                             "pass a function fn(y_true, y_pred))")
        fn, direction = _BUILTIN[name]
        return Metric(spec, fn, direction)
    if callable(spec):
        def on_labels(y_true, outputs, from_logits):
            return float(spec(_labels(y_true), predicted_labels(outputs, from_logits)))
        return Metric(getattr(spec, "__name__", type(spec).__name__), on_labels)
    raise TypeError(f"a metric must be a name, a Metric or a function, got {type(spec).__name__}")


def metric_direction(name):
    """``"up"``/``"down"`` for a logged quantity such as ``val_accuracy`` or ``loss``; None if unknown."""
    base = name[4:] if name.startswith("val_") else name
    if base == "loss" or base.endswith("_loss"):
        return "down"
    base = _ALIASES.get(base, base)
    return _BUILTIN[base][1] if base in _BUILTIN else None
