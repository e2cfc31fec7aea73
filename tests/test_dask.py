"""The same GridSearchCV on Dask's distributed scheduler (worker processes, through joblib's "dask"
backend) gives what it gives in this process: the same scores, the same best parameters."""
import os
import time

import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import optim
from autograd_lite.sklearn import NeuralNetClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def client():
    # Worker processes import this checkout of the project, whatever is installed.
    path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env={"PYTHONPATH": path}) as cluster, Client(cluster) as client:
        yield client


def _search():
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(X))[:150]
    pipe = Pipeline([("scale", StandardScaler()),
                     ("net", NeuralNetClassifier(max_epochs=3, random_state=0))])
    grid = GridSearchCV(pipe, {"net__module__hidden": [(4,), (12,)],
                               "net__optimizer": [optim.SGD, optim.Adam]},
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    return grid, X[rows], y[rows]


def test_grid_search_on_dask_worker_processes_equals_the_local_run(client):
    grid, X, y = _search()
    start = time.perf_counter()
    local = grid.fit(X, y)
    print(f"local search: {time.perf_counter() - start:.1f} s")
    local_scores, local_best = local.cv_results_["mean_test_score"], local.best_params_

    grid, X, y = _search()
    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        start = time.perf_counter()
        grid.fit(X, y)
    print(f"search on 2 dask worker processes: {time.perf_counter() - start:.1f} s")
    workers = {task["worker"] for task in stream.data}
    assert workers <= set(client.scheduler_info()["workers"]) and len(stream.data) >= 4
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids  # two worker processes, not this one

    np.testing.assert_array_equal(grid.cv_results_["mean_test_score"], local_scores)
    np.testing.assert_array_equal(grid.cv_results_["std_test_score"], local.cv_results_["std_test_score"])
    assert grid.best_params_ == local_best
    assert len(set(local_scores)) > 1  # the grid's settings do differ
