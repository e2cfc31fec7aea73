"""Smoke tests: every example's main() with tiny settings, in-process, writing into tmp_path."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from autograd_lite.data import write_idx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
OURS = ["quickstart", "digits_mlp", "mnist_cnn", "breast_cancer_roc", "compare_optimizers",
        "regularization", "custom_op_gradcheck", "hyperparameter_search", "regression_pipeline",
        "sequence_classification"]


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nonempty(path):
    return os.path.isfile(path) and os.path.getsize(path) > 1000


@pytest.mark.parametrize("name", OURS)
def test_docstring_says_how_to_run(name):
    doc = load(name).__doc__
    assert f"python examples/{name}.py" in doc or f"pytest -q examples/{name}.py" in doc


def test_quickstart(tmp_path):
    result = load("quickstart").main(["--epochs", "3", "--out", str(tmp_path)])
    assert len(result["history"]["val_accuracy"]) == 3 and 0.0 <= result["test_accuracy"] <= 1.0
    svg = (tmp_path / "quickstart_backprop.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "fc1.weight" in svg and "grad" in svg
    assert "const1" not in svg and "before training" in svg  # the batch is named x, drawn untrained
    assert nonempty(tmp_path / "quickstart_curves.png")


def test_digits_mlp(tmp_path, capsys):
    result = load("digits_mlp").main(["--hidden", "8", "16,8", "--epochs", "2", "--out", str(tmp_path)])
    assert set(result["runs"]) == {"64-8-10", "64-16-8-10"}
    assert all(len(h["val_accuracy"]) == 2 for h in result["runs"].values())
    assert "precision" in capsys.readouterr().out  # the per-class report
    assert nonempty(tmp_path / "digits_val_accuracy.png") and nonempty(tmp_path / "digits_confusion.png")


def test_mnist_cnn_on_small_idx_files_against_torch(tmp_path):
    example = load("mnist_cnn")
    images, labels = example.synthetic_digits(96, seed=1)
    data = tmp_path / "mnist"
    data.mkdir()
    write_idx(data / "t10k-images-idx3-ubyte.gz", images)
    write_idx(data / "t10k-labels-idx1-ubyte", labels)  # raw works as well as gzip
    result = example.main(["--data-dir", str(data), "--train-size", "64", "--test-size", "32",
                           "--epochs", "2", "--batch-size", "32", "--compare-torch",
                           "--out", str(tmp_path)])
    assert len(result["history"]["loss"]) == 2 and np.isfinite(result["history"]["loss"]).all()
    # same initial weights, batches and optimizer: the two frameworks follow the same trajectory
    assert abs(result["accuracy"] - result["torch_accuracy"]) <= 1 / 32
    assert result["seconds"] > 0 and result["torch_seconds"] > 0
    assert nonempty(tmp_path / "mnist_cnn_curves.png")


def test_mnist_cnn_without_data_says_where_to_get_it(tmp_path, capsys):
    example = load("mnist_cnn")
    with pytest.raises(SystemExit, match="(?s)ossci-datasets.*--synthetic"):
        example.main(["--data-dir", str(tmp_path), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="pass --data-dir"):
        example.main(["--out", str(tmp_path)])
    result = example.main(["--synthetic", "--train-size", "32", "--test-size", "16", "--epochs", "1",
                           "--out", str(tmp_path)])
    assert "SYNTHETIC DATA" in capsys.readouterr().out and 0 <= result["accuracy"] <= 1


def test_breast_cancer_roc(tmp_path):
    result = load("breast_cancer_roc").main(["--epochs", "5", "--out", str(tmp_path)])
    assert result["test"]["ROC AUC"] > 0.9
    assert len(result["history"]["val_auc"]) == 5
    assert nonempty(tmp_path / "breast_cancer_roc_pr.png") and nonempty(tmp_path / "breast_cancer_curves.png")


def test_compare_optimizers(tmp_path):
    example = load("compare_optimizers")
    result = example.main(["--epochs", "1", "--hidden", "8", "--out", str(tmp_path)])
    assert list(result["optimizers"]) == list(example.OPTIMIZERS)
    assert list(result["activations"]) == list(example.ACTIVATIONS)
    assert {"SGD", "SGD momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam"} <= set(
        result["optimizers"])
    assert nonempty(tmp_path / "compare_optimizers.png")


def test_regularization(tmp_path):
    result = load("regularization").main(["--epochs", "3", "--train-size", "60", "--val-size", "60",
                                          "--hidden", "16", "--patience", "0", "--out", str(tmp_path)])
    assert len(result) == 5 and all(r["epochs"] <= 3 for r in result.values())
    assert nonempty(tmp_path / "regularization.png")


def test_custom_op_gradcheck_suite_runs_under_pytest_and_as_a_script():
    assert load("custom_op_gradcheck").main() == 19
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          os.path.join(EXAMPLES, "custom_op_gradcheck.py")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "19 passed" in run.stdout


def test_hyperparameter_search(tmp_path, capsys):
    result = load("hyperparameter_search").main(["--quick", "--out", str(tmp_path)])
    assert set(result["results"]) == {"grid", "random", "bayesian (optuna)"}
    for mean, std, count in result["results"].values():
        assert 0.8 < mean <= 1.0 and std >= 0.0 and count >= 3
    assert result["report"]["macro avg"]["sensitivity"] > 0.8
    assert os.listdir(os.path.join(result["log_dir"], "train"))  # the TensorBoard event file
    out = capsys.readouterr().out
    assert "drift (train - test)" in out and "specificity" in out and "bayesian (optuna)" in out
    assert os.path.getsize(result["onnx"]) > 0 and "ONNX Runtime agrees with the network on 100%" in out


def test_hyperparameter_search_reads_a_phoneme_like_csv(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(120, 5))
    labels = (features[:, 0] + 0.3 * rng.normal(size=120) > 0.6).astype(int)  # ~30 % minority
    path = tmp_path / "phoneme.csv"
    np.savetxt(path, np.column_stack([features, labels]), delimiter=",", comments="",
               header="V1,V2,V3,V4,V5,Class", fmt=["%.5f"] * 5 + ["%d"])
    result = load("hyperparameter_search").main(["--quick", "--csv", str(path), "--out", str(tmp_path)])
    assert set(result["report"]) >= {"0", "1", "macro avg"}


def test_regression_pipeline():
    result = load("regression_pipeline").main(["--quick"])
    assert len(result["search"].cv_results_["params"]) == 4
    assert result["test"]["r2"] > 0.1 and result["test"]["rmse"] > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sequence_classification(cell, capsys):
    result = load("sequence_classification").main(
        ["--cell", cell, "--epochs", "2", "--length", "8", "--train-size", "400", "--test-size",
         "200", "--lr", "0.03"])
    history = result["history"]
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    assert result["test_accuracy"] > result["chance"] + 0.1  # it learned something in two epochs
    assert f"{cell.upper()} test accuracy" in capsys.readouterr().out
