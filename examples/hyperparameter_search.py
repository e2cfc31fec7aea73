"""Grid search, random search and Bayesian optimisation of an MLP, with SMOTE and stratified 5-fold
cross-validation, in one process or on a Dask cluster.

Run from the repository root (after ``pip install -e ".[dask,imbalanced,optuna,tensorboard]"``):

    python examples/hyperparameter_search.py [--csv phoneme.csv] [--dask | --scheduler tcp://host:8786]
                                             [--epochs 20] [--out out] [--quick]

The data: the course's Phoneme CSV when ``--csv`` is given (read by ``ag.data.load_csv``: numeric
feature columns, the class in the last column, an optional header row), else scikit-learn's breast cancer data with the malignant class
thinned to 29 % of the samples, Phoneme's imbalance. 20 % is held out (stratified) as a test set.

The model is imbalanced-learn's ``Pipeline``: ``StandardScaler`` -> ``SMOTE`` (oversampling the
minority class inside each training fold only) -> ``NeuralNetClassifier`` (an ``MLPModule``). Three
searches over the hidden layer's size, the optimizer and the learning rate, each scored by balanced
accuracy with ``StratifiedKFold(5)``:

* ``GridSearchCV``: every combination;
* ``RandomizedSearchCV``: a sample of combinations, the learning rate drawn log-uniformly;
* ``OptunaSearchCV`` (Optuna's TPE sampler, from ``optuna-integration``): Bayesian optimisation.

``--dask`` starts a ``LocalCluster`` of worker processes; ``--scheduler tcp://host:8786`` connects to
a running cluster (``dask scheduler`` on one machine, ``dask worker tcp://host:8786`` on each of the
others, each with this project installed). The grid and random searches then fit their candidates
on the workers through joblib's ``dask`` backend; Optuna's trials depend on the previous ones and run
one after another here. It prints each method's best mean +- std cross-validation score, its best
parameters and its time, then refits the overall best pipeline with a TensorBoard callback
(``tensorboard --logdir <out>/tensorboard``) and prints the course's test table: per-class and macro
sensitivity, specificity, accuracy and F1, and their drift (train minus test). Last, it writes the best
network as ONNX (``<out>/best_model.onnx``) and checks it with ONNX Runtime.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
import warnings

import joblib
import numpy as np
import optuna
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from optuna.distributions import CategoricalDistribution, FloatDistribution
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

import autograd_lite as ag
from autograd_lite.data import load_csv
from autograd_lite.sklearn import NeuralNetClassifier
from autograd_lite.training import TensorBoard, classification_report

with warnings.catch_warnings():  # optuna-integration imports a module optuna has deprecated
    warnings.simplefilter("ignore", FutureWarning)
    from optuna_integration import OptunaSearchCV


def load_data(csv_path, seed):
    """(X, y, class names): the Phoneme CSV, or breast cancer with Phoneme's 29 % minority class."""
    if csv_path:
        features, targets, classes = load_csv(csv_path)  # the class in the last column
        return features.astype(np.float64), targets, [str(label) for label in classes]
    X, y = load_breast_cancer(return_X_y=True)  # 0 = malignant (212), 1 = benign (357)
    malignant = np.flatnonzero(y == 0)
    keep_malignant = np.random.default_rng(seed).choice(malignant, size=146, replace=False)
    rows = np.sort(np.concatenate([keep_malignant, np.flatnonzero(y == 1)]))  # 146 / 503 = 29 %
    return X[rows], y[rows], ["malignant", "benign"]


def search_spaces(quick):
    hidden = [8, 32] if quick else [8, 32, 64]
    optimizers = ["sgd", "adam"]
    rates = [0.1] if quick else [0.001, 0.01, 0.1]
    grid = {"net__module__hidden": hidden, "net__optimizer": optimizers, "net__lr": rates}
    random = {"net__module__hidden": hidden, "net__optimizer": optimizers,
              "net__lr": loguniform(1e-3, 3e-1)}
    bayes = {"net__module__hidden": CategoricalDistribution(hidden),
             "net__optimizer": CategoricalDistribution(optimizers),
             "net__lr": FloatDistribution(1e-3, 3e-1, log=True)}
    return grid, random, bayes


def cluster(args):
    """A Dask client (and its LocalCluster) for --dask/--scheduler, else nothing."""
    if not (args.dask or args.scheduler):
        return contextlib.nullcontext(None)
    from dask.distributed import Client, LocalCluster
    stack = contextlib.ExitStack()
    if args.scheduler:
        client = stack.enter_context(Client(args.scheduler))
    else:
        local = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                 dashboard_address=None))
        client = stack.enter_context(Client(local))
    print(f"Dask: {len(client.scheduler_info()['workers'])} workers at {client.scheduler.address}")

    @contextlib.contextmanager
    def session():
        with stack:
            yield client
    return session()


def run_searches(pipeline, X, y, args):
    grid_space, random_space, bayes_space = search_spaces(args.quick)
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    candidates = 3 if args.quick else 8
    with warnings.catch_warnings():  # "OptunaSearchCV is experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        bayes = OptunaSearchCV(pipeline, bayes_space, cv=folds, n_trials=candidates,
                               scoring="balanced_accuracy", random_state=args.seed)
    searches = {
        "grid": GridSearchCV(pipeline, grid_space, cv=folds, scoring="balanced_accuracy"),
        "random": RandomizedSearchCV(pipeline, random_space, n_iter=candidates, cv=folds,
                                     scoring="balanced_accuracy", random_state=args.seed),
        "bayesian (optuna)": bayes,
    }
    results = {}
    with cluster(args) as client:
        for name, search in searches.items():
            start = time.perf_counter()
            backend = "dask" if client is not None and name != "bayesian (optuna)" else None
            with joblib.parallel_backend(backend) if backend else contextlib.nullcontext():
                search.fit(X, y)
            results[name] = (search, time.perf_counter() - start)
    return results


def best_mean_std(search):
    if isinstance(search, OptunaSearchCV):
        trial = search.study_.best_trial
        return trial.user_attrs["mean_test_score"], trial.user_attrs["std_test_score"], len(search.trials_)
    index = search.best_index_
    return (search.cv_results_["mean_test_score"][index], search.cv_results_["std_test_score"][index],
            len(search.cv_results_["params"]))


def export_network(pipeline, X_test, path):
    """Write the best pipeline's network as ONNX (it takes standardised features: the scaler stays
    in scikit-learn) and check that ONNX Runtime gives the same class probabilities."""
    import onnxruntime
    net = pipeline.named_steps["net"]
    scaled = pipeline.named_steps["scale"].transform(X_test).astype(np.float32)
    ag.onnx.export(net.module_, ag.tensor(scaled[:2]), path, input_names=["features"],
                   output_names=["logits"], dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits, = session.run(None, {"features": scaled})
    agree = float((logits.argmax(axis=1) == net.predict(scaled)).mean())
    print(f"ONNX model written to {path}; ONNX Runtime agrees with the network on {agree:.0%} of the "
          "test predictions")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="the Phoneme CSV (features..., class); default: breast cancer")
    parser.add_argument("--dask", action="store_true", help="run the searches on a local Dask cluster")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://host:8786")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    parser.add_argument("--quick", action="store_true", help="tiny searches, for the smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.folds = min(args.epochs, 3), min(args.folds, 2)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    X, y, class_names = load_data(args.csv, args.seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                        random_state=args.seed)
    print(f"{len(X_train)} training and {len(X_test)} test samples, {X.shape[1]} features, classes "
          + ", ".join(f"{name}: {np.mean(y == label):.0%}"
                      for name, label in zip(class_names, np.unique(y))))
    pipeline = Pipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=args.seed)),
                         ("net", NeuralNetClassifier(max_epochs=args.epochs, batch_size=32,
                                                     random_state=args.seed))])
    results = run_searches(pipeline, X_train, y_train, args)

    print(f"\n{'method':<18} {'candidates':>10} {'balanced accuracy':>20} {'time':>8}  best parameters")
    for name, (search, seconds) in results.items():
        mean, std, count = best_mean_std(search)
        params = ", ".join(f"{key.split('__', 1)[1]}={value:.4g}" if isinstance(value, float)
                           else f"{key.split('__', 1)[1]}={value}"
                           for key, value in sorted(search.best_params_.items()))
        print(f"{name:<18} {count:>10} {mean:>12.3f} +- {std:.3f} {seconds:>7.1f}s  {params}")

    best_name = max(results, key=lambda name: best_mean_std(results[name][0])[0])
    best = clone(results[best_name][0].best_estimator_)
    log_dir = os.path.join(args.out, "tensorboard")
    best.set_params(net__callbacks=[TensorBoard(log_dir)]).fit(X_train, y_train)
    report = classification_report(y_test, best.predict(X_test), y_train_true=y_train,
                                   y_train_pred=best.predict(X_train), target_names=class_names)
    print(f"\nbest: {best_name}; refitted on all training data, TensorBoard log in {log_dir}\n")
    print(report)
    onnx_path = export_network(best, X_test, os.path.join(args.out, "best_model.onnx"))
    return {"results": {name: best_mean_std(search) for name, (search, _) in results.items()},
            "best": best_name, "model": best, "log_dir": log_dir, "onnx": onnx_path,
            "report": classification_report(y_test, best.predict(X_test), output_dict=True)}


if __name__ == "__main__":
    main()
