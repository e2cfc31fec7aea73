"""Callbacks that steer training, with Keras's names: ``LearningRateScheduler``, ``ReduceLROnPlateau``
(PyTorch's ``optim.lr_scheduler.ReduceLROnPlateau`` driven by the epoch logs) and ``TerminateOnNaN``.
The optimizer they act on is the one ``fit`` steps (``callback.optimizer``)."""
from __future__ import annotations

import math
from collections.abc import Callable

from optim import lr_scheduler
from .callbacks import Callback, monitor_direction


def _learning_rates(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch.

    ``schedule`` is either Keras's function ``schedule(epoch, lr) -> new lr`` (``epoch`` from 0,
    ``lr`` the current rate of the first parameter group; the new rate goes to every group), or one
    of ``optim.lr_scheduler``'s schedulers built on the same optimizer (``StepLR``, ``CosineAnnealingLR``,
    ...), which is stepped at the end of every epoch, as in a PyTorch loop. The rate used in each
    epoch is logged as ``learning_rate``.
    """

    def __init__(self, schedule: Callable[[int, float], float] | lr_scheduler.LRScheduler,
                 verbose: int = 0):
        super().__init__()
        if isinstance(schedule, lr_scheduler.ReduceLROnPlateau):
            raise TypeError("LearningRateScheduler: a ReduceLROnPlateau scheduler needs a monitored "
                            "value; use the callback ReduceLROnPlateau(monitor=...)")
        if not callable(schedule) and not isinstance(schedule, lr_scheduler.LRScheduler):
            raise TypeError(f"LearningRateScheduler: schedule must be a function (epoch, lr) -> lr "
                            f"or an optim.lr_scheduler scheduler, got {type(schedule).__name__}")
        self.schedule, self.verbose = schedule, verbose

    def _check_optimizer(self):
        if self.optimizer is None:
            raise RuntimeError("LearningRateScheduler: no optimizer; use it in ag.training.fit")
        if isinstance(self.schedule, lr_scheduler.LRScheduler) and \
                self.schedule.optimizer is not self.optimizer:
            raise ValueError("LearningRateScheduler: the scheduler was built on another optimizer "
                             "than the one fit steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._check_optimizer()
        if isinstance(self.schedule, lr_scheduler.LRScheduler):
            return
        rate = float(self.schedule(epoch, _learning_rates(self.optimizer)[0]))
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, ...) returned {rate!r}; "
                             "a learning rate is a finite number >= 0")
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rates(self.optimizer)[0]
        if isinstance(self.schedule, lr_scheduler.LRScheduler):
            self.schedule.step()


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience``
    epochs (Keras's arguments and counting), by stepping PyTorch's
    ``optim.lr_scheduler.ReduceLROnPlateau`` with the monitored value after every epoch.

    An improvement is a change by more than ``min_delta`` (absolute) in the direction given by
    ``mode`` (``"auto"`` reads it from the name, as ``EarlyStopping``). Keras reduces at the
    ``patience``-th epoch without improvement, PyTorch after ``patience`` such epochs, so the
    scheduler gets ``patience - 1`` (0 when ``patience`` is 0). ``cooldown`` epochs follow a
    reduction; the rate never goes below ``min_lr``. The scheduler is ``self.scheduler``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, abs(min_delta), cooldown, min_lr
        self.scheduler = None

    def on_train_begin(self, logs=None):
        if self.optimizer is None:
            raise RuntimeError("ReduceLROnPlateau: no optimizer; use it in ag.training.fit")
        direction = monitor_direction(self.monitor, self.mode, self.params, "ReduceLROnPlateau")
        self.scheduler = lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min" if direction == "down" else "max", factor=self.factor,
            patience=max(self.patience - 1, 0), threshold=self.min_delta, threshold_mode="abs",
            cooldown=self.cooldown, min_lr=self.min_lr)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        current = logs.get(self.monitor)
        if current is None:
            raise KeyError(f"ReduceLROnPlateau(monitor={self.monitor!r}): no such value in the "
                           f"epoch logs ({', '.join(logs)}); with val_* pass validation data")
        before = _learning_rates(self.optimizer)[0]
        self.scheduler.step(current)
        after = _learning_rates(self.optimizer)[0]
        if self.verbose and after < before:
            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {after}.")
        logs["learning_rate"] = after


class TerminateOnNaN(Callback):
    """Stop training right after a batch whose loss is NaN or infinite (``fit`` stops at once; the
    interrupted epoch still ends with ``on_epoch_end``). ``stopped_batch`` records where."""

    def __init__(self):
        super().__init__()
        self.stopped_batch = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.stopped_batch = batch
            self.model.stop_training = True
