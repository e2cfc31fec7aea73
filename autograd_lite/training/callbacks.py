"""Callbacks for ``fit``, with Keras's hooks and semantics.

``fit`` calls, in order: ``set_model(model)``, ``set_params(params)``, ``on_train_begin(logs)``, then per
epoch ``on_epoch_begin(epoch)``, per batch ``on_train_batch_begin(batch)`` /
``on_train_batch_end(batch, {"loss": ...})``, and ``on_epoch_end(epoch, logs)`` with the epoch's
averages (``loss``, metrics, ``val_*``), finally ``on_train_end(logs)``. A callback stops training by
setting ``self.model.stop_training = True``; ``fit`` checks it after every batch and every epoch
(a stop in the middle of an epoch still ends that epoch with ``on_epoch_end``, on the batches run).
"""
from __future__ import annotations

import warnings

import numpy as np

from .metrics import metric_direction


class Callback:
    """Base class: every hook does nothing. ``self.model`` and ``self.params`` are set by ``fit``;
    ``self.optimizer`` is the optimizer ``fit`` steps (``params["optimizer"]``)."""

    def __init__(self):
        self.model = None
        self.params = {}

    @property
    def optimizer(self):
        return self.params.get("optimizer")

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass

    def on_train_end(self, logs=None): pass

    def on_epoch_begin(self, epoch, logs=None): pass

    def on_epoch_end(self, epoch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None): pass

    def on_train_batch_end(self, batch, logs=None): pass


class History(Callback):
    """What ``fit`` returns: ``history.history`` maps each logged name (``loss``, ``accuracy``,
    ``val_loss``, ...) to its list of per-epoch values; ``history.epoch`` lists the epoch indices.

    Plot it with ``ag.plots`` or directly: ``plt.plot(history.history["val_loss"])``.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, **hooks):
        super().__init__()
        for name, function in hooks.items():
            if name not in self._HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; known: {', '.join(self._HOOKS)}")
            setattr(self, name, function)


def get_weights(model):
    """A copy of the model's state (parameters and buffers) as NumPy arrays, by name."""
    return {name: np.array(getattr(value, "_data", value), copy=True)
            for name, value in model.state_dict().items()}


def set_weights(model, weights):
    """Copy arrays taken by ``get_weights`` back into the model's parameters and buffers."""
    model.load_state_dict(weights)


def monitor_direction(monitor, mode, params, owner="EarlyStopping"):
    """``"down"`` or ``"up"``: the direction in which ``monitor`` improves, from ``mode``
    (``"min"``/``"max"``) or, for ``mode="auto"``, from its name or the ``Metric`` passed to ``fit``
    (see ``EarlyStopping``); ``ValueError`` when it cannot be told."""
    if mode != "auto":
        return "down" if mode == "min" else "up"
    direction = metric_direction(monitor)
    base = monitor[4:] if monitor.startswith("val_") else monitor
    if direction is None and base.endswith(("acc", "accuracy", "auc")):
        direction = "up"
    for metric in params.get("metrics", ()):
        if direction is None and metric.name == base:
            direction = metric.direction
    if direction is None:
        known = ["loss"] + [m.name for m in params.get("metrics", ())]
        raise ValueError(
            f"{owner}(monitor={monitor!r}) cannot tell whether that quantity should "
            f"go up or down. fit logs {', '.join(known)} and, with validation data, their val_ "
            "versions: check the spelling, or pass mode='max' or mode='min' for another quantity")
    return direction


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving (Keras 3 semantics).

    * ``monitor`` (default ``"val_loss"``): a name in the epoch logs.
    * ``mode``: ``"min"``, ``"max"`` or ``"auto"``. ``auto`` takes the direction from the name: losses
      and ``mse``/``mae`` go down; ``accuracy``, ``auc``, ``precision``, ``recall``, ``f1``,
      ``average_precision`` and any name ending in ``acc``/``accuracy``/``auc`` go up; a ``Metric``
      passed to ``fit`` with a ``direction`` is used; otherwise ``ValueError`` asks for a mode.
    * An epoch improves when ``current < best - min_delta`` (min) or ``current > best + min_delta``
      (max); ``best`` starts at +inf (min) or -inf (max).
    * ``wait`` counts epochs since the last improvement (it is incremented each monitored epoch and
      reset to 0 on an improvement that also beats ``baseline``, if one is given). Training stops at
      the end of an epoch without improvement once ``wait >= patience`` (never after epoch 0);
      ``stopped_epoch`` is that epoch's index (0 when training ran to the end).
    * ``start_from_epoch``: epochs before this index are not monitored (warm-up).
    * ``restore_best_weights``: the weights at the end of the best epoch are kept and loaded back at
      the end of training. As in Keras 3 (unlike Keras 2, which restored only when this callback
      stopped training), they are restored whenever training ends, early or not: after
      ``fit`` the model holds the best epoch's weights. ``best_epoch`` is that epoch's index.
    * A ``monitor`` missing from the logs warns (listing the available names) and is skipped.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor, self.mode, self.patience, self.verbose = monitor, mode, patience, verbose
        self.min_delta = abs(min_delta)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best_weights = None
        self.best = None
        self._direction = None

    def _resolve_direction(self):
        return monitor_direction(self.monitor, self.mode, self.params, type(self).__name__)

    def on_train_begin(self, logs=None):  # reset, so an instance can be reused
        self._direction = self._resolve_direction()
        self.best = np.inf if self._direction == "down" else -np.inf
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best_weights = None

    def _is_improvement(self, value, reference):
        if self._direction == "down":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping conditioned on {self.monitor!r}, which is not available. "
                          f"Available: {', '.join(logs) or 'nothing'}", RuntimeWarning, stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = get_weights(self.model), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = get_weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            set_weights(self.model, self.best_weights)
