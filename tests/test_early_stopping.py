"""EarlyStopping's Keras semantics: monitor, min_delta, patience, mode, baseline,
restore_best_weights, stopped_epoch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nn
import optim
from autograd_lite.training import EarlyStopping, Metric, evaluate, fit
from training_data import blobs, mlp


def drive(values, monitor="val_loss", **kwargs):
    """Run EarlyStopping on a sequence of monitored values, as fit would. The model's weight is set
    to the epoch index before each epoch ends, so the restored weights tell which epoch they are."""
    model = nn.Linear(1, 1, bias=False)
    stopper = EarlyStopping(monitor=monitor, **kwargs)
    stopper.set_model(model)
    stopper.set_params({})
    model.stop_training = False
    stopper.on_train_begin({})
    epochs = 0
    for epoch, value in enumerate(values):
        model.weight.detach().numpy()[...] = epoch
        stopper.on_epoch_end(epoch, {monitor: value})
        epochs += 1
        if model.stop_training:
            break
    stopper.on_train_end({})
    return stopper, epochs, int(model.weight.item())


def test_patience_counts_epochs_without_improvement():
    stopper, epochs, _ = drive([1.0, 0.9, 0.95], patience=0)
    assert (epochs, stopper.stopped_epoch) == (3, 2)
    stopper, epochs, _ = drive([1.0, 0.9, 0.95, 0.96, 0.5, 0.4], patience=2)
    assert (epochs, stopper.stopped_epoch, stopper.wait) == (4, 3, 2)
    stopper, epochs, _ = drive([1.0, 0.9, 0.95, 0.85, 0.86, 0.84, 0.83], patience=2)
    assert (epochs, stopper.stopped_epoch, stopper.best) == (7, 0, 0.83)  # ran to the end
    stopper, epochs, _ = drive([1.0, 1.0], patience=0)  # equal is not an improvement
    assert stopper.stopped_epoch == 1
    stopper, epochs, _ = drive([5.0], patience=0)  # never stops after epoch 0
    assert (epochs, stopper.stopped_epoch) == (1, 0)


def test_min_delta_is_the_smallest_change_that_counts():
    # mode min: improvement means value < best - min_delta
    stopper, epochs, _ = drive([1.0, 0.95, 0.85], min_delta=0.1, patience=0)
    assert stopper.stopped_epoch == 1 and stopper.best == 1.0
    stopper, epochs, _ = drive([1.0, 0.85, 0.7], min_delta=0.1, patience=0)
    assert stopper.stopped_epoch == 0 and stopper.best == 0.7
    # mode max: improvement means value > best + min_delta; a negative min_delta counts as positive
    stopper, epochs, _ = drive([0.5, 0.55, 0.7], monitor="val_accuracy", min_delta=-0.1, patience=0)
    assert stopper.stopped_epoch == 1
    stopper, epochs, _ = drive([0.5, 0.61, 0.72, 0.7], monitor="val_accuracy", min_delta=0.1, patience=0)
    assert stopper.stopped_epoch == 3 and stopper.best == 0.72


def test_mode_auto_reads_the_name():
    for monitor in ("loss", "val_loss", "val_mse", "mae", "reconstruction_loss"):
        assert drive([1.0, 2.0], monitor=monitor)[0].stopped_epoch == 1
    for monitor in ("accuracy", "val_acc", "val_accuracy", "auc", "val_auc", "val_f1", "precision",
                    "val_recall", "val_average_precision", "val_balanced_accuracy"):
        assert drive([1.0, 2.0], monitor=monitor)[0].stopped_epoch == 0, monitor
        assert drive([2.0, 1.0], monitor=monitor)[0].stopped_epoch == 1, monitor
    assert drive([2.0, 1.0], monitor="val_accuracy", mode="min")[0].stopped_epoch == 0
    assert drive([1.0, 2.0], monitor="val_loss", mode="max")[0].stopped_epoch == 0
    with pytest.raises(ValueError, match="pass mode='max' or mode='min'"):
        drive([1.0], monitor="val_widgets")
    stopper = EarlyStopping(monitor="val_los")  # a typo names what fit logs
    stopper.set_params({"metrics": [Metric("accuracy", lambda *a: 0.0, direction="up")]})
    with pytest.raises(ValueError, match="fit logs loss, accuracy and, with validation data, their "
                                         "val_ versions: check the spelling"):
        stopper.on_train_begin({})
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="lowest")


def test_mode_auto_reads_a_metric_direction_given_to_fit():
    stopper = EarlyStopping(monitor="val_score")
    stopper.set_params({"metrics": [Metric("score", lambda *a: 0.0, direction="up")]})
    stopper.set_model(nn.Linear(1, 1))
    stopper.on_train_begin({})
    assert stopper.best == -np.inf


def test_restore_best_weights_when_stopped_and_when_not():
    stopper, epochs, weight = drive([1.0, 0.5, 0.7, 0.8, 0.2], patience=2, restore_best_weights=True)
    assert (stopper.stopped_epoch, stopper.best_epoch, weight) == (3, 1, 1)
    # Keras 3: restored at the end of training even when it ran to the end
    stopper, epochs, weight = drive([1.0, 0.5, 0.7], patience=5, restore_best_weights=True)
    assert (stopper.stopped_epoch, stopper.best_epoch, weight, epochs) == (0, 1, 1, 3)
    stopper, epochs, weight = drive([1.0, 0.5, 0.7, 0.8], patience=2)
    assert weight == 3 and stopper.best_weights is None  # without it: the last weights stay


def test_baseline_and_start_from_epoch():
    # never beating the baseline: stops after `patience` epochs, restores the best of them
    stopper, epochs, weight = drive([0.9, 0.8, 0.85, 0.7], baseline=0.5, patience=2,
                                    restore_best_weights=True)
    assert (stopper.stopped_epoch, weight) == (2, 1)
    stopper, epochs, _ = drive([0.9, 0.4, 0.45, 0.3], baseline=0.5, patience=1)
    assert stopper.stopped_epoch == 2
    # epochs before start_from_epoch are not monitored: the worsening epoch 1 does not count
    stopper, epochs, _ = drive([1.0, 2.0, 0.5, 0.6], patience=0, start_from_epoch=2)
    assert (stopper.stopped_epoch, stopper.best) == (3, 0.5)


def test_missing_monitor_warns_with_the_available_names():
    stopper = EarlyStopping(monitor="val_loss")
    stopper.set_model(nn.Linear(1, 1))
    stopper.on_train_begin({})
    with pytest.warns(RuntimeWarning, match="'val_loss'.*Available: loss, accuracy"):
        stopper.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.35, 0.5, 0.9]), min_size=1, max_size=12),
       patience=st.integers(0, 4), min_delta=st.sampled_from([0.0, 0.04, 0.1]))
def test_stop_epoch_matches_the_documented_rule(values, patience, min_delta):
    """Training stops at the first epoch e > 0 that does not improve and comes at least
    ``patience`` epochs after the last improving one."""
    stopper, epochs, _ = drive(values, patience=patience, min_delta=min_delta)
    best, last_improvement, expected = np.inf, None, 0
    for epoch, value in enumerate(values):
        if value < best - min_delta:
            best, last_improvement = value, epoch
        elif epoch > 0 and epoch - last_improvement >= patience:
            expected = epoch
            break
    assert stopper.stopped_epoch == expected
    assert epochs == (expected + 1 if expected else len(values))


def test_early_stopping_inside_fit_restores_the_best_epoch():
    x, y = blobs(n=60, seed=3)
    x_val, y_val = x[40:], (y[40:] + 1) % 3  # validation labels that disagree: val_loss rises
    model = mlp()
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = fit(model, x[:40], y[:40], loss_fn=nn.CrossEntropyLoss(),
                  optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=30, batch_size=10,
                  validation_data=(x_val, y_val), callbacks=[stopper], verbose=0)
    val_losses = history.history["val_loss"]
    assert 0 < stopper.stopped_epoch < 29 and len(val_losses) == stopper.stopped_epoch + 1
    assert stopper.best_epoch == int(np.argmin(val_losses))
    restored = evaluate(model, x_val, y_val, loss_fn=nn.CrossEntropyLoss())["loss"]
    assert restored == pytest.approx(min(val_losses), rel=1e-6)
