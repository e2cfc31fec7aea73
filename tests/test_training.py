"""ag.training: fit/evaluate/predict against the plain loop and scikit-learn (EarlyStopping's tests
are in test_early_stopping.py)."""
import numpy as np
import pytest
from sklearn import metrics as skm

import autograd_lite as ag
import nn
import optim
from autograd_lite.data import DataLoader, TensorDataset
from autograd_lite.training import Callback, LambdaCallback, Metric, evaluate, fit, predict
from training_data import blobs, mlp, params_of



# ----------------------------------------------------------------------------- fit and the plain loop
def test_fit_runs_exactly_the_plain_loop():
    x, y = blobs()
    model = mlp()
    fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=3, batch_size=16, verbose=0)  # the shuffles draw from ag's generator after mlp()

    reference = mlp()
    optimizer, loss_fn = optim.SGD(reference.parameters(), lr=0.1), nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    for _ in range(3):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(reference(inputs), targets).backward()
            optimizer.step()
    for ours, theirs in zip(params_of(model), params_of(reference)):
        np.testing.assert_array_equal(ours, theirs)


def test_history_values_and_learning():
    x, y = blobs()
    model = mlp()
    history = fit(model, x[:90], y[:90], loss_fn=nn.CrossEntropyLoss(),
                  optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=8, batch_size=30,
                  validation_data=(x[90:], y[90:]), metrics=["accuracy"], verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in history.history.values()) and history.epoch == list(range(8))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.9
    outputs = predict(model, x[90:])
    assert history.history["val_accuracy"][-1] == skm.accuracy_score(y[90:], outputs.argmax(1))
    expected_loss = nn.CrossEntropyLoss()(ag.tensor(outputs), ag.tensor(y[90:])).item()
    assert history.history["val_loss"][-1] == pytest.approx(expected_loss, rel=1e-5)
    figure = ag.plots.plot_history(history)  # per-epoch values plot as they are
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert len(figure.axes[0].lines) == 2  # training and validation


def test_training_loss_is_the_sample_weighted_mean_of_batch_losses():
    x, y = blobs(n=50)
    model = mlp()
    seen = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    history = fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=1, batch_size=20, callbacks=[record], verbose=0, shuffle=False)
    assert len(seen) == 3  # 20 + 20 + 10
    assert history.history["loss"][0] == pytest.approx((20 * seen[0] + 20 * seen[1] + 10 * seen[2]) / 50)


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = blobs(n=100)
    runs = []
    for kwargs in ({"validation_split": 0.25}, {"validation_data": (x[75:], y[75:])}):
        model = mlp()
        data = (x, y) if "validation_split" in kwargs else (x[:75], y[:75])
        runs.append(fit(model, *data, loss_fn=nn.CrossEntropyLoss(),
                        optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=10,
                        metrics=["accuracy"], verbose=0, **kwargs).history)
    assert runs[0] == runs[1]
    model = mlp()
    with pytest.raises(ValueError, match="leaves an empty"):
        fit(model, x[:3], y[:3], loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
            validation_split=0.1, verbose=0)


def test_fit_accepts_loaders_and_float64_arrays():
    x, y = blobs(n=60)
    model = mlp()
    train = DataLoader(TensorDataset(x[:40], y[:40]), batch_size=8, shuffle=True)
    val = DataLoader(TensorDataset(x[40:], y[40:]), batch_size=8)
    history = fit(model, train, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=2, validation_data=val, metrics=["acc"], verbose=0)
    assert len(history.history["val_acc"]) == 2
    # sklearn's float64 arrays are cast to the model's float32, as Keras casts to its float type
    history = fit(model, x.astype(np.float64), y.astype(np.int32), loss_fn=nn.CrossEntropyLoss(),
                  optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(p.dtype == np.float32 for p in model.parameters())


class ModeRecorder(nn.Module):
    """Records (training, grad enabled) at every forward."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.drop = nn.Dropout(0.5)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, ag.is_grad_enabled(), len(x)))
        return self.fc(self.drop(x))


def test_modes_train_eval_and_no_grad_during_validation():
    x, y = blobs(n=40)
    model = ModeRecorder()
    model.eval()  # the mode on entry is restored at the end
    fit(model, x[:30], y[:30], loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=2, batch_size=10, validation_data=(x[30:], y[30:]), verbose=0)
    assert model.training is False
    train_calls = [c for c in model.calls if c[2] == 10 and c[0]]
    val_calls = [c for c in model.calls if not c[0]]
    assert len(train_calls) == 6 and all(grad for _, grad, _ in train_calls)
    assert len(val_calls) == 2 and all(not grad for _, grad, _ in val_calls)
    model.train()
    predict(model, x)
    evaluate(model, x, y, loss_fn=nn.CrossEntropyLoss())
    assert model.calls[-1][:2] == (False, False) and model.training is True


def test_regularization_penalty_is_trained_and_logged_like_keras():
    x, y = blobs(n=32)

    def regularized():
        ag.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 6, kernel_regularizer=nn.regularizers.l2(0.05)), nn.Tanh(),
                             nn.Linear(6, 3, kernel_regularizer=nn.regularizers.l1(0.01)))

    model = regularized()
    history = fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.2),
                  epochs=1, batch_size=32, shuffle=False, verbose=0)
    reference = regularized()  # the same single step by hand, penalty included
    loss = nn.CrossEntropyLoss()(reference(ag.tensor(x)), ag.tensor(y)) + nn.regularization_loss(reference)
    assert nn.regularization_loss(reference).item() > 0.01
    assert history.history["loss"][0] == pytest.approx(loss.item(), rel=1e-6)
    loss.backward()
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy() - 0.2 * theirs.grad.detach().numpy(), rtol=1e-5, atol=1e-7)
    with_penalty = evaluate(model, x, y, loss_fn=nn.CrossEntropyLoss())["loss"]
    without = evaluate(model, x, y, loss_fn=nn.CrossEntropyLoss(), regularization=False)["loss"]
    assert with_penalty - without == pytest.approx(nn.regularization_loss(model).item(), rel=1e-5)


# ----------------------------------------------------------------------------- metrics
def test_multiclass_metrics_equal_scikit_learn():
    x, y = blobs(n=90)
    model = mlp()
    fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.05),
        epochs=1, verbose=0)
    names = ["accuracy", "precision", "recall", "f1", "auc", "average_precision",
             skm.balanced_accuracy_score]
    logs = evaluate(model, x, y, metrics=names, batch_size=7)
    logits = predict(model, x)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    pred = logits.argmax(1)
    onehot = np.eye(3)[y]
    assert logs["accuracy"] == skm.accuracy_score(y, pred)
    assert logs["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro", zero_division=0))
    assert logs["recall"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert logs["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert logs["auc"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"), rel=1e-6)
    assert logs["average_precision"] == pytest.approx(skm.average_precision_score(onehot, probs), rel=1e-6)
    assert logs["balanced_accuracy_score"] == pytest.approx(skm.balanced_accuracy_score(y, pred))


@pytest.mark.parametrize("head,loss_fn", [((), nn.BCEWithLogitsLoss()), ((nn.Sigmoid(),), nn.BCELoss())])
def test_binary_metrics_read_logits_or_probabilities(head, loss_fn):
    x, y = blobs(n=80, classes=2)
    ag.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 1), *head)
    target = y.astype(np.float32)[:, None]
    history = fit(model, x, target, loss_fn=loss_fn, optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=3, batch_size=16, validation_data=(x, target), verbose=0,
                  metrics=["accuracy", "precision", "recall", "f1", "auc", "average_precision"])
    out = predict(model, x)[:, 0]
    prob = out if head else 1 / (1 + np.exp(-out))
    pred = (prob > 0.5).astype(int)
    h = {k: v[-1] for k, v in history.history.items()}
    assert h["val_accuracy"] == skm.accuracy_score(y, pred) and h["val_accuracy"] > 0.9
    assert h["val_precision"] == pytest.approx(skm.precision_score(y, pred))
    assert h["val_recall"] == pytest.approx(skm.recall_score(y, pred))
    assert h["val_f1"] == pytest.approx(skm.f1_score(y, pred))
    assert h["val_auc"] == pytest.approx(skm.roc_auc_score(y, prob))
    assert h["val_average_precision"] == pytest.approx(skm.average_precision_score(y, prob))


@pytest.mark.parametrize("head,loss_fn", [((), nn.BCEWithLogitsLoss()), ((nn.Sigmoid(),), nn.BCELoss()),
                                          ((), nn.MSELoss())])
def test_labels_of_shape_n_fit_a_single_output_unit_like_keras(head, loss_fn):
    # Keras takes y of shape (N,) for a Dense(1) model; the losses alone refuse (N, 1) against (N,)
    x, y = blobs(n=64, classes=2)
    histories = []
    for target in (y, y[:, None].astype(np.float32)):
        ag.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 1), *head)
        histories.append(fit(model, x, target, loss_fn=loss_fn, epochs=2, batch_size=16, verbose=0,
                             optimizer=optim.SGD(model.parameters(), lr=0.1), validation_data=(x, target)))
    assert histories[0].history == histories[1].history and len(histories[0].history["val_loss"]) == 2
    with pytest.raises(ValueError, match=r"target shape \(4,\) differs from input shape \(4, 1\)"):
        loss_fn(nn.Sequential(nn.Linear(4, 1), *head)(ag.tensor(x[:4])), ag.tensor(y[:4]))


def test_regression_metrics_and_custom_metric_objects():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    ag.manual_seed(0)
    model = nn.Linear(3, 1)
    worst = Metric("max_error", lambda t, o, _: float(np.abs(t - o).max()), direction="down")
    logs = evaluate(model, x, y, loss_fn=nn.MSELoss(), metrics=["mse", "mae", worst])
    out = predict(model, x)
    assert logs["mse"] == pytest.approx(skm.mean_squared_error(y, out), rel=1e-6)
    assert logs["loss"] == pytest.approx(logs["mse"], rel=1e-5)
    assert logs["mae"] == pytest.approx(skm.mean_absolute_error(y, out), rel=1e-6)
    assert logs["max_error"] == pytest.approx(np.abs(y - out).max(), rel=1e-6)


# ----------------------------------------------------------------------------- callbacks, output, errors
def test_callback_hook_order():
    x, y = blobs(n=20)
    model = mlp()
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None): calls.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): calls.append(f"epoch_begin {epoch}")
        def on_train_batch_begin(self, batch, logs=None): calls.append(f"batch_begin {batch}")
        def on_train_batch_end(self, batch, logs=None): calls.append(f"batch_end {batch}")
        def on_epoch_end(self, epoch, logs=None): calls.append(f"epoch_end {epoch} {sorted(logs)}")
        def on_train_end(self, logs=None): calls.append("train_end")

    recorder = Recorder()
    fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=2, batch_size=10, validation_split=0.5, callbacks=[recorder], verbose=0)
    assert recorder.model is model and recorder.params["epochs"] == 2 and recorder.params["steps"] == 1
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0",
                     "epoch_end 0 ['loss', 'val_loss']", "epoch_begin 1", "batch_begin 0",
                     "batch_end 0", "epoch_end 1 ['loss', 'val_loss']", "train_end"]
    with pytest.raises(TypeError, match="unknown hook 'on_batch_end'"):
        LambdaCallback(on_batch_end=print)


def test_verbose_levels(capsys):
    x, y = blobs(n=20)
    model = mlp()
    kwargs = dict(loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=2, batch_size=10, metrics=["accuracy"])
    fit(model, x, y, verbose=0, **kwargs)
    assert capsys.readouterr() == ("", "")
    fit(model, x, y, verbose=2, **kwargs)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("Epoch 2/2: loss: ") and "accuracy: " in out[1]
    fit(model, x, y, verbose=1, **kwargs)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "accuracy:" in err


def test_predict_outputs_and_inputs():
    x, y = blobs(n=25)
    model = mlp()
    with ag.no_grad():
        expected = model(ag.tensor(x)).numpy()
    np.testing.assert_allclose(predict(model, x, batch_size=4), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(predict(model, DataLoader(TensorDataset(x, y), batch_size=6)), expected,
                               rtol=1e-6, atol=1e-7)


def test_argument_errors_name_the_problem():
    x, y = blobs(n=20)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    ce = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"same number of samples.*\(20, 4\) and \(19,\)"):
        fit(model, x, y[:19], loss_fn=ce, optimizer=opt, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be in \(0, 1\)"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, validation_split=0.2, validation_data=(x, y))
    with pytest.raises(ValueError, match="epochs must be"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, epochs=-1)
    with pytest.raises(TypeError, match="Callback instances"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, callbacks=[print])
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, metrics=["acuracy"])
    with pytest.raises(ValueError, match="verbose must be"):
        fit(model, x, y, loss_fn=ce, optimizer=opt, verbose=3)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        fit(model, DataLoader(TensorDataset(x, y)), loss_fn=ce, optimizer=opt, validation_split=0.2)
    with pytest.raises(TypeError, match="pass arrays x and y"):
        fit(model, x, loss_fn=ce, optimizer=opt)
    with pytest.raises(ValueError, match="nothing to compute"):
        evaluate(model, x, y)


def test_a_final_softmax_before_cross_entropy_is_pointed_out():
    # the Keras habit (softmax output layer) trains badly with nn.CrossEntropyLoss, without an error
    x, y = blobs(n=32)
    model = nn.Sequential(mlp(), nn.Softmax(dim=1))
    with pytest.warns(UserWarning, match="outputs are probabilities .* remove the final nn.Softmax"):
        fit(model, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(model.parameters(), lr=0.1),
            epochs=1, verbose=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # logits, or probabilities with NLLLoss on their log: no warning
        plain = mlp()
        fit(plain, x, y, loss_fn=nn.CrossEntropyLoss(), optimizer=optim.SGD(plain.parameters(), lr=0.1),
            epochs=1, verbose=0)
        fit(model, x, y, loss_fn=lambda out, t: nn.functional.nll_loss(out.log(), t),
            optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1, verbose=0)
