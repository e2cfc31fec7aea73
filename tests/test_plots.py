"""ag.plots: training curves, confusion matrix, ROC / precision-recall with AUC, runs compared."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn import metrics  # noqa: E402

import autograd_lite as ag  # noqa: E402
from autograd_lite import plots  # noqa: E402

HISTORY = {"loss": [1.0, 0.6, 0.4, 0.3], "val_loss": [1.1, 0.7, 0.55, 0.5],
           "accuracy": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.45, 0.65, 0.72, 0.74]}


def scores(seed=0, classes=3, n=120):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(size=(n, classes)) + 2.0 * np.eye(classes)[y]
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, probabilities


def test_history_has_a_panel_per_metric_with_train_and_validation(tmp_path):
    class History:  # Keras-style object with .history
        history = HISTORY

    figure = plots.plot_history(History(), save=tmp_path / "history.png")
    assert isinstance(figure, Figure)
    loss_ax, accuracy_ax = figure.axes
    assert loss_ax.get_title() == "loss" and accuracy_ax.get_title() == "accuracy"
    train, validation = loss_ax.get_lines()
    np.testing.assert_allclose(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(train.get_ydata(), HISTORY["loss"])
    np.testing.assert_allclose(validation.get_ydata(), HISTORY["val_loss"])
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train", "validation"]
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    only = plots.plot_history({"loss": ag.tensor([3.0, 2.0])}, metrics=["loss"])
    assert len(only.axes) == 1 and len(only.axes[0].get_lines()) == 1
    with pytest.raises(KeyError, match="no \\['f1'\\]"):
        plots.plot_history(HISTORY, metrics=["f1"])
    with pytest.raises(TypeError, match="history must be a dict"):
        plots.plot_history([1, 2, 3])


def test_confusion_matrix_cells_are_sklearns_counts(tmp_path):
    y, probabilities = scores()
    predicted = probabilities.argmax(1)
    figure = plots.plot_confusion_matrix(ag.tensor(y), predicted, class_names=["a", "b", "c"],
                                         save=tmp_path / "cm.png")
    ax = figure.axes[0]
    expected = metrics.confusion_matrix(y, predicted)
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    texts = [t.get_text() for t in ax.texts]
    assert texts == [str(v) for v in expected.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    normalised = plots.plot_confusion_matrix(y, predicted, normalize="true").axes[0]
    np.testing.assert_allclose(normalised.images[0].get_array().sum(1), 1.0)
    assert (tmp_path / "cm.png").exists()
    with pytest.raises(ValueError, match="y_true has 120 labels but y_pred has 3"):
        plots.plot_confusion_matrix(y, [0, 1, 2])
    from_scores = plots.plot_confusion_matrix(y, ag.tensor(probabilities)).axes[0]  # (N, C) scores
    np.testing.assert_array_equal(from_scores.images[0].get_array(), expected)


def test_roc_curves_and_auc_come_from_sklearn():
    y, probabilities = scores()
    figure = plots.plot_roc(y, ag.tensor(probabilities), class_names=["a", "b", "c"])
    ax = figure.axes[0]
    curves = ax.get_lines()[:-1]  # the last line is the chance diagonal
    assert len(curves) == 3
    for c, line in enumerate(curves):
        fpr, tpr, _ = metrics.roc_curve(y == c, probabilities[:, c])
        np.testing.assert_allclose(line.get_xdata(), fpr)
        np.testing.assert_allclose(line.get_ydata(), tpr)
        auc = metrics.roc_auc_score(y == c, probabilities[:, c])
        assert f"AUC = {auc:.3f}" in ax.get_legend().get_texts()[c].get_text()
    binary = plots.plot_roc(y == 0, probabilities[:, 0]).axes[0]
    assert len(binary.get_lines()) == 2
    with pytest.raises(ValueError, match="y_score has 3 rows but y_true has 120"):
        plots.plot_roc(y, probabilities[:3])


def test_precision_recall_curves_with_auc_and_average_precision(tmp_path):
    y, probabilities = scores(seed=1, classes=2)
    ax = plots.plot_precision_recall(y, probabilities[:, 1], save=tmp_path / "pr.svg").axes[0]
    precision, recall, _ = metrics.precision_recall_curve(y, probabilities[:, 1])
    line, = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), recall)
    np.testing.assert_allclose(line.get_ydata(), precision)
    label = ax.get_legend().get_texts()[0].get_text()
    assert f"AUC = {metrics.auc(recall, precision):.3f}" in label
    assert f"AP = {metrics.average_precision_score(y, probabilities[:, 1]):.3f}" in label
    assert "<svg" in (tmp_path / "pr.svg").read_text()


def test_runs_share_one_axis():
    runs = {"SGD": {"loss": [1.0, 0.8, 0.7]}, "Adam": {"loss": [1.0, 0.5, 0.3]},
            "RMSprop": np.array([1.0, 0.6, 0.4])}
    figure = plots.plot_runs(runs, metric="loss", log_scale=True)
    ax, = figure.axes
    assert [line.get_label() for line in ax.get_lines()] == ["SGD", "Adam", "RMSprop"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [1.0, 0.5, 0.3])
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss"
    with pytest.raises(KeyError, match="run 'SGD' has no 'accuracy'"):
        plots.plot_runs(runs, metric="accuracy")
    with pytest.raises(TypeError, match="non-empty dict"):
        plots.plot_runs({})


def test_plots_draw_on_a_given_axis():
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2)
    y, probabilities = scores()
    assert plots.plot_roc(y, probabilities, ax=left) is figure
    assert plots.plot_confusion_matrix(y, probabilities.argmax(1), ax=right) is figure
    assert len(left.get_lines()) == 4 and len(right.images) == 1
    plt.close(figure)


def test_history_from_a_real_fit_and_its_predictions():
    import nn
    import optim
    from sklearn.datasets import load_iris

    from autograd_lite import training

    ag.manual_seed(0)
    x, y = load_iris(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    history = training.fit(model, x, y, loss_fn=nn.CrossEntropyLoss(),
                           optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=3,
                           batch_size=32, validation_split=0.2, metrics=["accuracy"], verbose=0)
    figure = plots.plot_history(history)
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    np.testing.assert_allclose(figure.axes[0].get_lines()[1].get_ydata(),
                               history.history["val_loss"])
    with ag.no_grad():
        probabilities = model(ag.tensor(x.astype(np.float32))).softmax(-1).numpy()
    roc = plots.plot_roc(y, probabilities, class_names=["setosa", "versicolor", "virginica"])
    assert "setosa (AUC = " in roc.axes[0].get_legend().get_texts()[0].get_text()
