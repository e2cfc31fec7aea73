"""A Keras-like training kit on top of the plain loop: ``fit``, ``evaluate``, ``predict``,
``History``, callbacks (``EarlyStopping``, ``LambdaCallback``) and metrics (accuracy in NumPy, the
rest from scikit-learn).

* ``loop.py``: ``fit``, ``evaluate``, ``predict``;
* ``callbacks.py``: ``Callback``, ``History``, ``EarlyStopping``, ``LambdaCallback``;
* ``metrics.py``: ``Metric``, ``get_metric`` and the mapping from model outputs to labels/probabilities.
"""
from .callbacks import Callback, History, EarlyStopping, LambdaCallback
from .metrics import Metric, get_metric, predicted_labels, class_probabilities, METRIC_NAMES
from .loop import fit, evaluate, predict

__all__ = ["Callback", "History", "EarlyStopping", "LambdaCallback", "Metric", "get_metric",
           "predicted_labels", "class_probabilities", "METRIC_NAMES", "fit", "evaluate", "predict"]
