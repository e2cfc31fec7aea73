"""Matplotlib figures for what a course looks at after training.

* ``plot_history``          -- loss and metrics per epoch, training against validation (Keras-style
  history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` or an object with ``.history``);
* ``plot_confusion_matrix`` -- counts (or rates, ``normalize=``) of true against predicted classes;
* ``plot_roc``              -- ROC curves with their AUC, one per class for multi-class scores
  (one-vs-rest); the curve points come from ``sklearn.metrics.roc_curve``;
* ``plot_precision_recall`` -- precision-recall curves with their AUC and average precision
  (``sklearn.metrics.precision_recall_curve``);
* ``plot_runs``             -- several runs (e.g. optimizers) on one axis, for one metric.

Every function returns the ``matplotlib.figure.Figure`` and saves it when given ``save="path.png"``;
``lang="es"`` (or ``ag.teaching.set_language("es")``) gives Spanish titles and axis labels.
Inputs may be Tensors, NumPy arrays or lists. Call ``matplotlib.use("Agg")`` first where there is no
display (scripts, CI).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn import metrics as skmetrics

from .teaching.language import text as _tr
from .tensor import Tensor

DEFAULT = "default"  # title=DEFAULT: the plot's usual title in the chosen language; None: no title


def _array(values, name):
    if isinstance(values, Tensor):
        values = values._data
    array = np.asarray(values)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def _figure(ax, size):
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _finish(figure, save, dpi=120):
    if save is not None:
        figure.savefig(save, dpi=dpi)
    return figure


def _label_epoch_axes(ax, metric, lang=None):
    """Epochs (whole numbers) along x, ``metric`` up y, a light grid and the legend."""
    ax.set_xlabel(_tr("plot.epoch", lang))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()


def _label_rate_axes(ax, xlabel, ylabel, title, legend_loc, y_top=1.01):
    """Both axes are rates in [0, 1] (a little margin so curves on the edges stay visible)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, y_top)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_loc, fontsize=8)
    if title:
        ax.set_title(title)


def _history_dict(history):
    history = getattr(history, "history", history)
    if not hasattr(history, "items"):
        raise TypeError(f"history must be a dict of metric name -> values per epoch (or have "
                        f".history), got {type(history).__name__}")
    return {str(k): [float(v) for v in np.ravel(_array(vals, f"history[{k!r}]"))]
            for k, vals in history.items()}


def plot_history(history, metrics=None, title=None, save=None, figsize=None, lang=None):
    """One panel per metric, the training curve and its ``val_`` counterpart, against the epoch.

    ``metrics`` picks and orders the panels (default: every key without the ``val_`` prefix, loss
    first). Epochs are numbered from 1.
    """
    history = _history_dict(history)
    names = metrics or sorted({k[4:] if k.startswith("val_") else k for k in history},
                              key=lambda k: (k != "loss", k))
    missing = [m for m in names if m not in history and "val_" + m not in history]
    if missing:
        raise KeyError(f"plot_history: no {missing} in the history (it has {sorted(history)})")
    figure = Figure(figsize=figsize or (4.2 * len(names), 3.4), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, label, style in ((name, _tr("plot.train", lang), "-o"),
                                  ("val_" + name, _tr("plot.validation", lang), "--s")):
            if key in history:
                values = history[key]
                ax.plot(range(1, len(values) + 1), values, style, markersize=3, label=label)
        _label_epoch_axes(ax, name, lang)
        ax.set_title(name)
    if title:
        figure.suptitle(title)
    return _finish(figure, save)


def plot_confusion_matrix(y_true, y_pred, labels=None, class_names=None, normalize=None, ax=None,
                          cmap="Blues", title=DEFAULT, save=None, lang=None):
    """Rows are true classes, columns predicted ones; each cell is annotated with its count (or rate
    when ``normalize`` is "true", "pred" or "all", as in ``sklearn.metrics.confusion_matrix``).
    ``y_pred`` holds predicted labels, or (N, C) scores/logits whose argmax is taken."""
    y_true, y_pred = _array(y_true, "y_true").ravel(), _array(y_pred, "y_pred")
    if y_pred.ndim == 2 and y_pred.shape[1] > 1 and y_pred.shape[0] == y_true.size:
        y_pred = y_pred.argmax(axis=1)
    y_pred = y_pred.ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"plot_confusion_matrix: y_true has {y_true.size} labels but y_pred has "
                         f"{y_pred.size}")
    matrix = skmetrics.confusion_matrix(y_true, y_pred, labels=labels, normalize=normalize)
    classes = labels if labels is not None else np.unique(np.concatenate([y_true, y_pred]))
    names = [str(c) for c in (class_names if class_names is not None else classes)]
    if len(names) != matrix.shape[0]:
        raise ValueError(f"plot_confusion_matrix: {len(names)} class_names for {matrix.shape[0]} "
                         "classes")
    figure, ax = _figure(ax, (max(4.0, 1.2 + 0.55 * len(names)), max(3.4, 1.0 + 0.5 * len(names))))
    image = ax.imshow(matrix, cmap=cmap)
    figure.colorbar(image, ax=ax)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        ax.text(col, row, text, ha="center", va="center", fontsize=8,
                color="white" if value > threshold else "black")
    ax.set_xticks(range(len(names)), names, rotation=45 if max(map(len, names)) > 3 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(_tr("plot.predicted", lang))
    ax.set_ylabel(_tr("plot.true", lang))
    title = _tr("plot.confusion", lang) if title == DEFAULT else title
    if title:
        ax.set_title(title)
    return _finish(figure, save)


def _per_class_scores(y_true, y_score, class_names):
    """[(name, binary truth, score)] -- one entry for binary input, one per class otherwise."""
    y_true, y_score = _array(y_true, "y_true").ravel(), _array(y_score, "y_score")
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    if y_score.shape[0] != y_true.shape[0]:
        raise ValueError(f"y_score has {y_score.shape[0]} rows but y_true has {y_true.shape[0]} "
                         "labels")
    if y_score.ndim == 1:
        return [(class_names[1] if class_names else "positive", y_true, y_score)]
    if y_score.ndim != 2:
        raise ValueError(f"y_score must be (n,) or (n, classes), got shape {y_score.shape}")
    classes = y_score.shape[1]
    if class_names is not None and len(class_names) != classes:
        raise ValueError(f"{len(class_names)} class_names for {classes} score columns")
    names = class_names or [str(c) for c in range(classes)]
    return [(str(names[c]), (y_true == c).astype(int), y_score[:, c]) for c in range(classes)]


def plot_roc(y_true, y_score, class_names=None, ax=None, title=DEFAULT, save=None, lang=None):
    """ROC curve(s) with AUC in the legend; multi-class scores (n, classes) give one-vs-rest curves.

    ``y_score`` holds scores for the positive class (binary) or one column per class.
    """
    figure, ax = _figure(ax, (4.6, 4.2))
    for name, truth, score in _per_class_scores(y_true, y_score, class_names):
        fpr, tpr, _ = skmetrics.roc_curve(truth, score)
        ax.plot(fpr, tpr, label=f"{name} (AUC = {skmetrics.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label=_tr("plot.chance", lang))
    title = _tr("plot.roc", lang) if title == DEFAULT else title
    _label_rate_axes(ax, _tr("plot.fpr", lang), _tr("plot.tpr", lang), title, "lower right")
    return _finish(figure, save)


def plot_precision_recall(y_true, y_score, class_names=None, ax=None, title=DEFAULT,
                          save=None, lang=None):
    """Precision-recall curve(s), drawn as steps; the legend gives the area under each curve
    (trapezoids over the curve points, ``sklearn.metrics.auc``) and the average precision (the
    step-wise area, ``average_precision_score``, the less optimistic of the two)."""
    figure, ax = _figure(ax, (4.6, 4.2))
    for name, truth, score in _per_class_scores(y_true, y_score, class_names):
        precision, recall, _ = skmetrics.precision_recall_curve(truth, score)
        area = skmetrics.auc(recall, precision)
        average = skmetrics.average_precision_score(truth, score)
        ax.plot(recall, precision, drawstyle="steps-post",
                label=f"{name} (AUC = {area:.3f}, AP = {average:.3f})")
    title = _tr("plot.pr", lang) if title == DEFAULT else title
    _label_rate_axes(ax, _tr("plot.recall", lang), _tr("plot.precision", lang), title,
                     "lower left", y_top=1.05)
    return _finish(figure, save)


def plot_runs(runs, metric="loss", ax=None, log_scale=False, title=None, save=None, lang=None):
    """Several runs on one axis: ``runs`` maps a label (e.g. "Adam") to a history dict (``metric``
    is looked up in it) or directly to the values per epoch."""
    if not hasattr(runs, "items") or not runs:
        raise TypeError("plot_runs: runs must be a non-empty dict of label -> history or values")
    figure, ax = _figure(ax, (5.4, 3.8))
    for label, run in runs.items():
        history = getattr(run, "history", run)
        if hasattr(history, "items"):
            if metric not in history:
                raise KeyError(f"plot_runs: run {label!r} has no {metric!r} (it has "
                               f"{sorted(history)})")
            history = history[metric]
        values = np.ravel(_array(history, f"run {label!r}")).astype(float)
        ax.plot(range(1, len(values) + 1), values, label=str(label))
    if log_scale:
        ax.set_yscale("log")
    _label_epoch_axes(ax, metric, lang)
    ax.set_title(title or _tr("plot.per_epoch", lang, metric=metric))
    return _finish(figure, save)
