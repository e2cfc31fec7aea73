"""Callbacks that record training, with Keras's names and arguments: ``TensorBoard`` (through
tensorboardX), ``CSVLogger`` and ``ModelCheckpoint`` (safetensors files through ``ag.save``)."""
from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..serialization import save
from .callbacks import Callback, monitor_direction


class TensorBoard(Callback):
    """Write the epoch logs and, every ``histogram_freq`` epochs, histograms of every parameter and
    of its gradient as TensorBoard event files (``tensorboard --logdir <log_dir>``).

    As Keras lays them out: ``<log_dir>/train`` holds ``epoch_loss``, ``epoch_<metric>`` and
    ``epoch_learning_rate``; ``<log_dir>/validation`` holds the ``val_*`` values under the same
    ``epoch_*`` tags, so TensorBoard draws training and validation on one chart. Histograms go to
    ``train`` as ``<parameter name>`` (e.g. ``layers.0.weight``) and ``<parameter name>/gradient``
    (the gradient of the epoch's last batch). Unlike Keras (``histogram_freq=0``), histograms are on
    by default: the models trained here are small. Needs ``pip install tensorboardX``.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 1):
        super().__init__()
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        self.log_dir, self.histogram_freq = os.fspath(log_dir), histogram_freq
        self._writers: dict[str, Any] = {}

    def _writer(self, name):
        if name not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as error:  # an optional extra
                raise ImportError("TensorBoard needs tensorboardX: pip install tensorboardX (or the "
                                  "project's [tensorboard] extra)") from error
            self._writers[name] = SummaryWriter(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if name.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{name[4:]}", value, epoch)
            else:
                self._writer("train").add_scalar(f"epoch_{name}", value, epoch)
        if self.optimizer is not None:
            self._writer("train").add_scalar("epoch_learning_rate",
                                             self.optimizer.param_groups[0]["lr"], epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for name, parameter in self.model.named_parameters():
                writer.add_histogram(name, np.asarray(parameter._data, dtype=np.float64), epoch)
                if parameter.grad is not None:
                    writer.add_histogram(f"{name}/gradient",
                                         np.asarray(parameter.grad._data, dtype=np.float64), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


class CSVLogger(Callback):
    """Append one row per epoch to ``filename``: ``epoch`` (from 0, as Keras writes it) and the
    epoch logs in sorted order. ``append=True`` continues an existing file (no second header)."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self._file, self._writer, self._keys = None, None, None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer, self._keys, self._write_header = None, None, not has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys],
                                          delimiter=self.separator)
            if self._write_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{key: logs.get(key, "NA") for key in self._keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class ModelCheckpoint(Callback):
    """Save ``model.state_dict()`` with ``ag.save`` (safetensors, loadable by PyTorch's
    ``safetensors.torch.load_file``) at the end of every epoch, or only when ``monitor`` improved
    (``save_best_only=True``).

    * ``filepath`` may hold ``str.format`` fields: ``{epoch}`` (counted from 1, as Keras names
      files) and any logged value, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"``.
    * ``monitor``/``mode``: as ``EarlyStopping`` (``"auto"`` reads the direction from the name);
      ``initial_value_threshold``: a value the first saved epoch must beat.
    * ``best`` and ``best_epoch`` (from 0) record the best monitored value and its epoch;
      ``last_saved`` is the path written last.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto",
                 initial_value_threshold: float | None = None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.mode = save_best_only, mode
        self.initial_value_threshold = initial_value_threshold
        self.best, self.best_epoch, self.last_saved = None, None, None

    def on_train_begin(self, logs=None):
        self._direction = monitor_direction(self.monitor, self.mode, self.params, "ModelCheckpoint")
        default = math.inf if self._direction == "down" else -math.inf
        self.best = default if self.initial_value_threshold is None else self.initial_value_threshold

    def _path(self, epoch, logs: Mapping[str, float]):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as error:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {error.args[0]!r}, "
                           f"which is not in the epoch logs ({', '.join(logs)})") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint(monitor={self.monitor!r}): no such value in the "
                               f"epoch logs ({', '.join(logs)}); with val_* pass validation data")
            better = current < self.best if self._direction == "down" else current > self.best
            if not better:
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best, self.best_epoch = current, epoch
        save(self.model.state_dict(), path)
        self.last_saved = path
