"""``fit``, ``evaluate`` and ``predict``: a Keras-like layer over the plain PyTorch-style loop.

The plain loop stays the primary way to train (it is what ``fit`` runs, batch by batch)::

    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets) + nn.regularization_loss(model)
        loss.backward()
        optimizer.step()

``fit`` adds epochs, validation, metrics, callbacks, a tqdm progress bar and a ``History``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from tqdm.auto import tqdm

import nn
from ..data import DataLoader, TensorDataset
from ..function import no_grad
from ..tensor import Tensor
from .callbacks import Callback, History
from .metrics import get_metric


def _model_float_dtype(model):
    for parameter in model.parameters():
        return parameter.dtype
    return np.dtype(np.float32)


def _as_array(values, name, float_dtype):
    """Inputs/targets as arrays: floats in the model's dtype (as Keras casts to its float type),
    integers as int64 (class labels)."""
    array = values._data if isinstance(values, Tensor) else np.asarray(values)
    if array.dtype.kind == "f":
        return array.astype(float_dtype, copy=False)
    if array.dtype.kind in "iub":
        return array.astype(np.int64, copy=False)
    raise TypeError(f"{name}: expected numbers, got an array of dtype {array.dtype}")


def _loader(x, y, batch_size, shuffle, float_dtype, name):
    """A DataLoader over (x, y) arrays, or ``x`` itself when it already yields (inputs, targets)."""
    if y is None:
        if isinstance(x, DataLoader) or (hasattr(x, "__iter__") and hasattr(x, "__len__")
                                         and not isinstance(x, (np.ndarray, Tensor, list, tuple))):
            return x
        raise TypeError(f"{name}: pass arrays x and y, or a DataLoader yielding (inputs, targets) "
                        f"batches with y=None; got x of type {type(x).__name__} and no y")
    x = _as_array(x, f"{name} x", float_dtype)
    y = _as_array(y, f"{name} y", float_dtype)
    if x.ndim == 0 or len(x) != len(y):
        raise ValueError(f"{name}: x and y must have the same number of samples along dimension 0, "
                         f"got shapes {x.shape} and {y.shape}")
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def _target_like(output, target, loss_fn):
    """Keras takes labels of shape (N,) for a model with one output unit, (N, 1): the target gets
    the output's shape here (the losses themselves refuse shapes that would broadcast)."""
    if (target.ndim == output.ndim - 1 and output.ndim >= 2 and output.shape[-1] == 1
            and target.shape == output.shape[:-1]
            and not isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))):
        return target.reshape(output.shape)
    return target


def _warn_if_probabilities(output, loss_fn):
    """Keras models end in a softmax; ``nn.CrossEntropyLoss`` takes logits and applies its own
    log-softmax, so a final ``nn.Softmax`` trains badly without any error: say so, once."""
    data = output._data
    if (isinstance(loss_fn, nn.CrossEntropyLoss) and data.ndim == 2 and data.shape[1] > 1
            and data.min() >= 0 and np.allclose(data.sum(axis=1), 1.0, atol=1e-4)):
        warnings.warn("fit: the model's outputs are probabilities (rows of non-negative numbers "
                      "summing to 1), but nn.CrossEntropyLoss expects logits and applies softmax "
                      "itself: remove the final nn.Softmax (predict then gives logits; "
                      "ag.softmax(out, 1) turns them into probabilities)", stacklevel=3)


def _infer_from_logits(loss_fn):
    """Outputs are logits unless the loss takes probabilities (``nn.BCELoss``)."""
    return not isinstance(loss_fn, nn.BCELoss)


def _eval_outputs(model, batches):
    """Yield ``(model(inputs), batch)`` for batches of inputs or (inputs, targets), in eval mode and
    without a graph; the model's mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for batch in batches:
                yield model(batch[0] if isinstance(batch, (tuple, list)) else batch), batch
    finally:
        model.train(was_training)


def evaluate(model, x, y=None, *, loss_fn=None, metrics=(), batch_size=256, from_logits=None,
             regularization=True):
    """Loss and metrics of ``model`` on (x, y) or on a DataLoader, in eval mode, without a graph.

    Returns a dict such as ``{"loss": 0.31, "accuracy": 0.9}``. The loss is the per-sample average
    over all batches (exact for ``reduction="mean"`` losses) plus the model's regularisation penalty,
    as Keras reports it.
    """
    if loss_fn is None and not metrics:
        raise ValueError("evaluate: nothing to compute; pass loss_fn and/or metrics")
    metric_objects = [get_metric(m) for m in metrics]
    if from_logits is None:
        from_logits = _infer_from_logits(loss_fn)
    loader = _loader(x, y, batch_size, False, _model_float_dtype(model), "evaluate")
    total, count, outputs, targets = 0.0, 0, [], []
    for output, (_, target) in _eval_outputs(model, loader):
        n = len(output)
        if loss_fn is not None:
            total += float(loss_fn(output, _target_like(output, target, loss_fn)).item()) * n
        count += n
        if metric_objects:
            outputs.append(output._data)
            targets.append(target._data)
    if count == 0:
        raise ValueError("evaluate: the data is empty")
    logs = {}
    if loss_fn is not None:
        logs["loss"] = total / count
        if regularization:
            with no_grad():
                logs["loss"] += float(nn.regularization_loss(model).item())
    if metric_objects:
        outputs, targets = np.concatenate(outputs), np.concatenate(targets)
        for metric in metric_objects:
            logs[metric.name] = metric(targets, outputs, from_logits)
    return logs


def predict(model, x, batch_size=256):
    """The model's outputs on ``x`` (an array, a Tensor or a DataLoader yielding inputs or (inputs,
    targets)) as one NumPy array, computed in eval mode without a graph."""
    if isinstance(x, DataLoader):
        batches = x
    else:
        array = _as_array(x, "predict x", _model_float_dtype(model))
        batches = DataLoader(TensorDataset(array), batch_size=batch_size)
    outputs = [output._data for output, _ in _eval_outputs(model, batches)]
    if not outputs:
        raise ValueError("predict: the data is empty")
    return np.concatenate(outputs)


def _split_validation(x, y, validation_split):
    """Keras's rule: the *last* fraction of the samples, taken before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
    n = len(x)
    split_at = int(math.ceil(n * (1.0 - validation_split)))
    if split_at == n or split_at == 0:
        raise ValueError(f"fit: validation_split={validation_split} of {n} samples leaves an empty "
                         "training or validation set")
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def fit(model, x, y=None, *, loss_fn, optimizer, epochs=1, batch_size=32, validation_data=None,
        validation_split=0.0, metrics=(), callbacks=(), shuffle=True, verbose=1, from_logits=None,
        regularization=True) -> History:
    """Train ``model`` for ``epochs`` passes over (x, y) and return a ``History``.

    * ``x, y``: arrays or Tensors (floats are cast to the model's dtype, integer labels to int64), or
      ``x`` a DataLoader yielding ``(inputs, targets)`` and ``y=None``. As in Keras, targets of shape
      (N,) are reshaped to (N, 1) for a model with one output unit (e.g. sigmoid + ``nn.BCELoss``).
    * ``loss_fn(outputs, targets)``: e.g. ``nn.CrossEntropyLoss()``; ``optimizer``: e.g.
      ``optim.Adam(model.parameters())``. The model's regularisation penalty
      (``nn.regularization_loss(model)``, from L1/L2 regularisers) is added to the loss unless
      ``regularization=False``; the logged ``loss`` and ``val_loss`` include it, as in Keras.
    * ``validation_data=(x_val, y_val)`` (or a DataLoader), or ``validation_split``: the last fraction
      of (x, y), taken before shuffling, as Keras does. Validation runs in ``eval()`` mode under
      ``no_grad`` after every epoch; its values are logged with a ``val_`` prefix.
    * ``metrics``: names (``"accuracy"``, ``"precision"``, ``"recall"``, ``"f1"``, ``"sensitivity"``,
      ``"specificity"``, ``"auc"``,
      ``"average_precision"``, ``"mse"``, ``"mae"``), ``Metric``s or functions ``fn(y_true, y_pred)``
      (see ``training.metrics``). Training metrics are computed on the outputs of the epoch's
      batches (in train mode, weights changing along the way), as Keras reports them.
      ``from_logits`` says how to read outputs (default: logits unless the loss is ``nn.BCELoss``).
    * ``callbacks``: ``Callback`` instances such as ``EarlyStopping``.
    * ``verbose``: 0 silent, 1 a tqdm progress bar per epoch, 2 one line per epoch.
    * ``shuffle``: a new order every epoch, reproducible under ``ag.manual_seed``.

    ``history.history`` maps ``loss``, each metric and their ``val_`` versions to per-epoch lists.
    The model is left in the training mode it had on entry.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got {type(callback).__name__}")
    if validation_split and validation_data is not None:
        raise ValueError("fit: pass validation_data or validation_split, not both")
    float_dtype = _model_float_dtype(model)
    if validation_split:
        if y is None:
            raise ValueError("fit: validation_split needs arrays x and y; with a DataLoader pass "
                             "validation_data")
        x, y = _as_array(x, "fit x", float_dtype), _as_array(y, "fit y", float_dtype)
        (x, y), validation_data = _split_validation(x, y, validation_split)
    train_loader = _loader(x, y, batch_size, shuffle, float_dtype, "fit")
    if validation_data is not None and isinstance(validation_data, (tuple, list)):
        if len(validation_data) != 2:
            raise ValueError(f"fit: validation_data must be (x_val, y_val) or a DataLoader, got a "
                             f"sequence of {len(validation_data)}")
        validation_data = _loader(*validation_data, max(batch_size, 256), False, float_dtype,
                                  "fit validation_data")
    metric_objects = [get_metric(m) for m in metrics]
    if from_logits is None:
        from_logits = _infer_from_logits(loss_fn)
    penalty = nn.regularization_loss if regularization else None

    history = History()
    callbacks = [*callbacks, history]  # last, as in Keras: it records what the others logged
    params = {"epochs": epochs, "steps": len(train_loader), "verbose": verbose,
              "metrics": metric_objects, "optimizer": optimizer}
    for callback in callbacks:
        callback.set_model(model)
        callback.set_params(params)
    was_training = model.training
    model.stop_training = False
    for callback in callbacks:
        callback.on_train_begin({})
    for epoch in range(epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch, {})
        model.train()
        total, count, outputs, targets = 0.0, 0, [], []
        bar = tqdm(total=len(train_loader), desc=f"Epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=verbose != 1, leave=True, dynamic_ncols=True)
        for step, (inputs, target) in enumerate(train_loader):
            for callback in callbacks[:-1]:
                callback.on_train_batch_begin(step, {})
            optimizer.zero_grad()
            output = model(inputs)
            if epoch == 0 and step == 0:
                _warn_if_probabilities(output, loss_fn)
            loss = loss_fn(output, _target_like(output, target, loss_fn))
            if penalty is not None:
                loss = loss + penalty(model)
            loss.backward()
            optimizer.step()
            value = float(loss.item())
            n = len(output)
            total, count = total + value * n, count + n
            if metric_objects:
                outputs.append(output._data)
                targets.append(target._data)
            if verbose == 1:
                bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
                bar.update()
            for callback in callbacks[:-1]:
                callback.on_train_batch_end(step, {"loss": value})
            if model.stop_training:  # e.g. TerminateOnNaN
                break
        if count == 0:
            bar.close()
            raise ValueError("fit: the training data yielded no batch")
        logs = {"loss": total / count}
        if metric_objects:
            all_outputs, all_targets = np.concatenate(outputs), np.concatenate(targets)
            for metric in metric_objects:
                logs[metric.name] = metric(all_targets, all_outputs, from_logits)
        if validation_data is not None:
            val_logs = evaluate(model, validation_data, loss_fn=loss_fn, metrics=metric_objects,
                                from_logits=from_logits, regularization=regularization)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
            model.train()
        if verbose == 1:
            bar.set_postfix_str(_format_logs(logs), refresh=True)
        bar.close()
        if verbose == 2:
            print(f"Epoch {epoch + 1}/{epochs}: {_format_logs(logs)}")
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end({})
    model.train(was_training)
    return history


def _format_logs(logs):
    return " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())
