"""scikit-learn estimators around autograd-lite Modules (``from autograd_lite.sklearn import ...``).

* ``estimator.py``: ``NeuralNetClassifier``, ``NeuralNetRegressor`` (``module__*``/``optimizer__*``
  keywords, ``fit/partial_fit/predict/predict_proba/score``), usable in ``Pipeline``,
  ``GridSearchCV``, ``cross_val_score``, imbalanced-learn pipelines and on Dask through joblib;
* ``module.py``: ``MLPModule``, the default network (its sizes are filled from the data).
"""
from .estimator import NeuralNetClassifier, NeuralNetRegressor, ROUTED_PREFIXES, OPTIMIZERS
from .module import MLPModule, ACTIVATIONS

__all__ = ["NeuralNetClassifier", "NeuralNetRegressor", "MLPModule", "ACTIVATIONS", "ROUTED_PREFIXES",
           "OPTIMIZERS"]
