"""Regression with a neural network inside a scikit-learn Pipeline: diabetes progression.

Run from the repository root (after ``pip install -e .``):

    python examples/regression_pipeline.py [--epochs 50] [--quick]

scikit-learn's bundled diabetes data (442 patients, 10 features, a disease-progression score a year
later) is split 80/20. The model is a ``Pipeline``: ``StandardScaler`` on the features, then
``NeuralNetRegressor`` (an ``MLPModule`` trained with ``nn.MSELoss`` and Adam), wrapped in
``TransformedTargetRegressor`` so that the network learns a standardised target and predicts in the
original units. A small ``GridSearchCV`` (5-fold) chooses the hidden layer's size and the weight
decay; ``cross_val_score`` reports the chosen pipeline's R^2 across folds. It prints the search
table and the test R^2, mean absolute error and RMSE next to scikit-learn's ``RidgeCV``.
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from autograd_lite.sklearn import NeuralNetRegressor


def test_scores(model, X_test, y_test):
    prediction = model.predict(X_test)
    return {"r2": r2_score(y_test, prediction), "mae": mean_absolute_error(y_test, prediction),
            "rmse": float(np.sqrt(mean_squared_error(y_test, prediction)))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="few epochs and folds, for the smoke test")
    args = parser.parse_args(argv)
    epochs, folds = (min(args.epochs, 20), 2) if args.quick else (args.epochs, 5)

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=args.seed)
    network = NeuralNetRegressor(optimizer="adam", lr=0.003, max_epochs=epochs, batch_size=32,
                                 random_state=args.seed)
    pipeline = TransformedTargetRegressor(
        regressor=Pipeline([("scale", StandardScaler()), ("net", network)]),
        transformer=StandardScaler())
    grid = {"regressor__net__module__hidden": [(8,), (32,)] if args.quick else [(8,), (32,), (32, 16)],
            "regressor__net__optimizer__weight_decay": [0.0, 0.01]}
    search = GridSearchCV(pipeline, grid, cv=KFold(folds, shuffle=True, random_state=args.seed),
                          scoring="r2").fit(X_train, y_train)

    print(f"{'hidden':>10} {'weight decay':>13} {'R^2 (CV)':>16}")
    for params, mean, std in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"],
                                 search.cv_results_["std_test_score"]):
        print(f"{str(params['regressor__net__module__hidden']):>10} "
              f"{params['regressor__net__optimizer__weight_decay']:>13} {mean:>9.3f} +- {std:.3f}")
    folds_r2 = cross_val_score(search.best_estimator_, X_train, y_train,
                               cv=KFold(folds, shuffle=True, random_state=args.seed + 1))
    print(f"best: {search.best_params_}; R^2 over {folds} other folds: "
          f"{folds_r2.mean():.3f} +- {folds_r2.std():.3f}")

    ours = test_scores(search.best_estimator_, X_test, y_test)
    ridge = test_scores(Pipeline([("scale", StandardScaler()), ("ridge", RidgeCV())]).fit(X_train, y_train),
                        X_test, y_test)
    print(f"\n{'test':<14} {'R^2':>7} {'MAE':>8} {'RMSE':>8}")
    for name, scores in (("neural net", ours), ("RidgeCV", ridge)):
        print(f"{name:<14} {scores['r2']:>7.3f} {scores['mae']:>8.2f} {scores['rmse']:>8.2f}")
    return {"search": search, "test": ours, "ridge": ridge}


if __name__ == "__main__":
    main()
