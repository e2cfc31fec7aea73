"""A Keras-like training kit on top of the plain loop: ``fit``, ``evaluate``, ``predict``,
``History``, callbacks (``EarlyStopping``, ``LambdaCallback``) and metrics (accuracy in NumPy, the
rest from scikit-learn).

* ``loop.py``: ``fit``, ``evaluate``, ``predict``;
* ``callbacks.py``: ``Callback``, ``History``, ``EarlyStopping``, ``LambdaCallback``;
* ``recording.py``: ``TensorBoard`` (tensorboardX), ``CSVLogger``, ``ModelCheckpoint`` (safetensors);
* ``schedules.py``: ``LearningRateScheduler``, ``ReduceLROnPlateau``, ``TerminateOnNaN``;
* ``metrics.py``: ``Metric``, ``get_metric`` and the mapping from model outputs to labels/probabilities;
* ``report.py``: the course's per-class table (sensitivity, specificity, accuracy, F1) and drift.
"""
from .callbacks import Callback, History, EarlyStopping, LambdaCallback
from .metrics import Metric, get_metric, predicted_labels, class_probabilities, METRIC_NAMES
from .loop import fit, evaluate, predict
from .recording import TensorBoard, CSVLogger, ModelCheckpoint
from .schedules import LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN
from .report import classification_report, class_table, drift_table, Drift

__all__ = ["Callback", "History", "EarlyStopping", "LambdaCallback", "Metric", "get_metric",
           "predicted_labels", "class_probabilities", "METRIC_NAMES", "fit", "evaluate", "predict",
           "TensorBoard", "CSVLogger", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "TerminateOnNaN", "classification_report", "class_table", "drift_table", "Drift"]
