"""Keras-named callbacks in ``ag.training.fit`` (TensorBoard, CSVLogger, ModelCheckpoint,
LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, Drift) and the course's metrics/report."""
import csv
import glob
import os
import struct

import numpy as np
import pytest
import torch
from imblearn.metrics import sensitivity_specificity_support
from safetensors.torch import load_file
from sklearn.datasets import load_iris
from sklearn.metrics import f1_score
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.record_writer import masked_crc32c

import autograd_lite as ag
import nn
import optim
from autograd_lite import training


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    order = np.random.default_rng(0).permutation(len(X))
    return X[order].astype(np.float32), y[order]


def make_model():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def train(model, X, y, callbacks, epochs=4, lr=0.1, optimizer=None, **kwargs):
    optimizer = optimizer or optim.SGD(model.parameters(), lr=lr)
    return training.fit(model, X[:120], y[:120], loss_fn=nn.CrossEntropyLoss(), optimizer=optimizer,
                        epochs=epochs, batch_size=32, validation_data=(X[120:], y[120:]),
                        metrics=["accuracy"], callbacks=callbacks, verbose=0, **kwargs)


def read_events(path):
    """The Event protobufs of a TensorBoard event file (TFRecord framing, CRCs checked)."""
    events, data = [], open(path, "rb").read()
    offset = 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[offset + 8:offset + 12])[0] == masked_crc32c(header)
        payload = data[offset + 12:offset + 12 + length]
        assert struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])[0] == \
            masked_crc32c(payload)
        event = Event()
        event.ParseFromString(payload)
        events.append(event)
        offset += 16 + length
    return events


def summaries(log_dir):
    (path,) = glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))
    scalars, histograms = {}, {}
    for event in read_events(path):
        for value in event.summary.value:
            if value.HasField("histo"):
                histograms.setdefault(value.tag, []).append((event.step, value.histo))
            else:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars, histograms


def test_tensorboard_writes_scalars_and_histograms_read_back(iris, tmp_path):
    model = make_model()
    history = train(model, *iris, [training.TensorBoard(tmp_path, histogram_freq=2)], epochs=3)
    scalars, histograms = summaries(tmp_path / "train")
    assert [step for step, _ in scalars["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in scalars["epoch_loss"]], history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in scalars["epoch_accuracy"]], history.history["accuracy"])
    assert [v for _, v in scalars["epoch_learning_rate"]] == pytest.approx([0.1] * 3)
    val_scalars, _ = summaries(tmp_path / "validation")
    np.testing.assert_allclose([v for _, v in val_scalars["epoch_loss"]], history.history["val_loss"],
                               rtol=1e-6)
    assert set(histograms) == {"0.weight", "0.bias", "2.weight", "2.bias", "0.weight/gradient",
                               "0.bias/gradient", "2.weight/gradient", "2.bias/gradient"}
    (step0, first), (step2, last) = histograms["2.weight"]
    assert (step0, step2) == (0, 2)
    weight = model[2].weight.detach().numpy()
    assert last.num == weight.size
    assert last.min == pytest.approx(weight.min()) and last.max == pytest.approx(weight.max())
    assert last.sum == pytest.approx(weight.sum(), abs=1e-5)
    gradient = model[2].weight.grad.numpy()  # the last batch's gradient, written at the last epoch
    _, last_gradient = histograms["2.weight/gradient"][-1]
    assert last_gradient.sum == pytest.approx(gradient.sum(), abs=1e-6)


def test_csv_logger_one_row_per_epoch_and_append(iris, tmp_path):
    path = tmp_path / "log.csv"
    history = train(make_model(), *iris, [training.CSVLogger(path)], epochs=3)
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(row["val_loss"]) for row in rows], history.history["val_loss"])
    train(make_model(), *iris, [training.CSVLogger(path, append=True)], epochs=2)
    lines = open(path).read().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines.count(lines[0]) == 1


def test_model_checkpoint_best_only_writes_safetensors_pytorch_loads(iris, tmp_path):
    model = make_model()
    checkpoint = training.ModelCheckpoint(str(tmp_path / "best-{epoch:02d}-{val_loss:.3f}.safetensors"),
                                          monitor="val_accuracy", save_best_only=True)
    history = train(model, *iris, [checkpoint], epochs=5, lr=0.05)
    accuracy = history.history["val_accuracy"]
    improved = [e for e in range(5) if accuracy[e] > max([-np.inf] + accuracy[:e])]
    files = sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "*.safetensors")))
    assert files == [f"best-{e + 1:02d}-{history.history['val_loss'][e]:.3f}.safetensors"
                     for e in improved]
    assert checkpoint.best == max(accuracy) and checkpoint.best_epoch == improved[-1]

    every = training.ModelCheckpoint(str(tmp_path / "last.safetensors"))
    train(model, *iris, [every], epochs=2)
    weights = load_file(str(tmp_path / "last.safetensors"))  # PyTorch reads our checkpoint
    reference = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    reference.load_state_dict(weights)
    x = iris[0][:5]
    expected = training.predict(model, x)
    np.testing.assert_allclose(reference(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    restored = make_model()
    restored.load_state_dict(ag.load(str(tmp_path / "last.safetensors")))
    np.testing.assert_array_equal(training.predict(restored, x), expected)


def test_learning_rate_scheduler_function_and_optim_scheduler(iris):
    model = make_model()
    schedule = training.LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5 ** epoch)
    history = train(model, *iris, [schedule], epochs=3)
    assert history.history["learning_rate"] == pytest.approx([0.2, 0.1, 0.05])

    model = make_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    step = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = train(model, *iris, [training.LearningRateScheduler(step)], epochs=4, optimizer=optimizer)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    with pytest.raises(ValueError, match="another optimizer"):
        train(make_model(), *iris, [training.LearningRateScheduler(step)], epochs=1)


def test_reduce_lr_on_plateau_follows_keras_counting(iris):
    model = make_model()
    monitored = [1.0, 0.5, 0.6, 0.7, 0.4, 0.45, 0.46, 0.47, 0.48]
    fake = training.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(score=monitored[epoch]))
    plateau = training.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2)
    history = train(model, *iris, [fake, plateau], epochs=len(monitored), lr=0.1)
    # Keras: reduced at the 2nd epoch without improvement (epochs 3 and 6, from 0), then again
    # two epochs later (epoch 8); the rate logged is the one after that epoch's step.
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125])
    assert isinstance(plateau.scheduler, optim.lr_scheduler.ReduceLROnPlateau)


def test_terminate_on_nan_stops_after_the_bad_batch(iris, capsys):
    model = make_model()
    seen = []
    poison = training.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: (seen.append(batch), batch == 1 and
                                                  model[0].weight.data.fill_(float("nan"))))
    terminate = training.TerminateOnNaN()
    history = train(model, *iris, [poison, terminate], epochs=3)
    assert terminate.stopped_batch == 1 and seen == [0, 1] and len(history.history["loss"]) == 1
    assert "Invalid loss" in capsys.readouterr().out


def test_sensitivity_specificity_metrics_and_drift_in_fit(iris):
    model = make_model()
    history = training.fit(
        model, iris[0][:120], iris[1][:120], loss_fn=nn.CrossEntropyLoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=32,
        validation_data=(iris[0][120:], iris[1][120:]), verbose=0,
        metrics=["accuracy", "sensitivity", "specificity"], callbacks=[training.Drift()])
    for name in ("accuracy", "sensitivity", "specificity"):
        np.testing.assert_allclose(history.history[f"drift_{name}"],
                                   np.subtract(history.history[name], history.history[f"val_{name}"]))
    outputs = training.predict(model, iris[0][120:])
    labels = outputs.argmax(1)
    sensitivity, specificity, _ = sensitivity_specificity_support(iris[1][120:], labels, average="macro")
    logs = training.evaluate(model, iris[0][120:], iris[1][120:], metrics=["sensitivity", "specificity"])
    assert logs == pytest.approx({"sensitivity": sensitivity, "specificity": specificity})


def test_classification_report_table_and_drift():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 0, 1, 1, 2, 2, 2, 0])
    table = training.classification_report(y_true, y_pred, target_names=["aa", "oo", "ii"],
                                           output_dict=True)
    # class "aa": TP=3, FN=1, FP=1, TN=5
    assert table["aa"] == pytest.approx({"sensitivity": 0.75, "specificity": 5 / 6, "accuracy": 0.8,
                                         "f1": 0.75, "support": 4})
    assert table["macro avg"]["f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert table["accuracy"] == pytest.approx(0.7)
    report = training.classification_report(y_true, y_pred, y_train_true=y_true, y_train_pred=y_true,
                                            output_dict=True)
    assert report["drift"]["accuracy"] == pytest.approx(0.3)
    assert report["drift"]["0"]["sensitivity"] == pytest.approx(0.25)
    text = training.classification_report(y_true, y_pred, y_train_true=y_true, y_train_pred=y_true)
    assert "drift (train - test)" in text and "macro avg" in text and "specificity" in text
    with pytest.raises(ValueError, match="both"):
        training.classification_report(y_true, y_pred, y_train_true=y_true)
