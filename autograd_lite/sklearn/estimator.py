"""``NeuralNetClassifier`` and ``NeuralNetRegressor``: a Module trained by ``ag.training.fit``, seen by
scikit-learn as an ordinary estimator.

Every hyperparameter is an ``__init__`` keyword, so ``get_params``/``set_params``/``clone``,
``Pipeline``, ``GridSearchCV`` and joblib/Dask (which pickle the estimator) work unchanged:

* ``module``: a Module class or a factory returning a Module (default ``MLPModule``). It is called at
  ``fit`` with the ``module__*`` keywords (``module__hidden=(64, 32)`` becomes ``hidden=(64, 32)``);
  when it takes ``input_dim``/``output_dim`` and they are not given, they come from the data
  (number of features; number of classes, or of regression targets).
* ``criterion``: a loss class (default ``nn.CrossEntropyLoss`` for the classifier, whose module must
  output one logit per class, and ``nn.MSELoss`` for the regressor), built with ``criterion__*``.
* ``optimizer``: an optimizer class (default ``optim.SGD``) or its name in ``optim``, any case
  (``"adam"``, ``"SGD"``: searches whose values must be strings, such as Optuna's, use names),
  built as ``optimizer(module.parameters(), lr=lr, **optimizer__*)``, e.g. ``optimizer__momentum=0.9``.
* ``max_epochs``, ``batch_size``, ``callbacks`` (``ag.training`` callbacks such as ``EarlyStopping``,
  used as given, so their state can be read after ``fit``; a search clones the estimator and so
  works on copies), ``verbose`` (as ``fit``'s: 0, 1 or 2).
* ``train_split``: ``None`` (train on everything) or a fraction held out (stratified for the
  classifier) as validation data, so callbacks can monitor ``val_loss``.
* ``random_state``: ``None`` draws from the framework's generator (``ag.manual_seed``); an int (or a
  ``RandomState``) makes initialisation, shuffling, dropout and the split reproducible without
  touching the framework's generator (see ``ag.random.use_generator``).
* ``device``: ``"cpu"``; autograd-lite has no other device.

Fitted attributes end with ``_``: ``module_``, ``criterion_``, ``optimizer_``, ``history_`` (the
``History.history`` dict), ``n_features_in_``, ``classes_`` (classifier).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import nn
import optim
from .. import random as _random
from ..training import fit as _train, predict as _outputs
from ..training.callbacks import Callback
from ..training.metrics import class_probabilities
from .module import MLPModule

ROUTED_PREFIXES = ("module__", "optimizer__", "criterion__")
OPTIMIZERS = {name.lower(): getattr(optim, name) for name in
              ("SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta")}


def optimizer_class(optimizer: type | str, owner: str = "optimizer") -> type:
    """An optimizer class from a class or a name in ``OPTIMIZERS`` (any case)."""
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"{owner}: unknown optimizer {optimizer!r}; known names: "
                             f"{', '.join(OPTIMIZERS)} (or pass an optimizer class)")
        return OPTIMIZERS[optimizer.lower()]
    return optimizer


class _NeuralNet(BaseEstimator):
    """What the classifier and the regressor share (see the module docstring)."""

    _default_criterion: type = nn.MSELoss

    def __init__(self, module: Callable[..., nn.Module] = MLPModule, *, criterion: type | None = None,
                 optimizer: type | str = optim.SGD, lr: float = 0.01, max_epochs: int = 10,
                 batch_size: int = 32, train_split: float | None = None,
                 callbacks: Sequence[Callback] | None = None, random_state: Any = None,
                 verbose: int = 0, device: str = "cpu", **routed_params: Any):
        self.module = module
        self.criterion = criterion
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.train_split = train_split
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        for name, value in routed_params.items():  # checked at fit, as scikit-learn wants
            setattr(self, name, value)

    # --- parameters: the __init__ keywords plus the routed module__/optimizer__/criterion__ ones
    def _extra_param_names(self) -> list[str]:
        """The keywords given beyond the named ones (``module__hidden``, ...), kept as attributes."""
        named = set(self._get_param_names())
        return [name for name in vars(self)
                if not name.startswith("_") and not name.endswith("_") and name not in named]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update({name: getattr(self, name) for name in self._extra_param_names()})
        return params

    def set_params(self, **params: Any) -> _NeuralNet:
        extra = set(self._extra_param_names())
        for name in [name for name in params if name.startswith(ROUTED_PREFIXES) or name in extra]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params) if params else self

    def _routed(self, prefix: str) -> dict[str, Any]:
        return {name[len(prefix):]: value for name, value in vars(self).items()
                if name.startswith(prefix)}

    # --- building and training
    def _check_settings(self):
        name = type(self).__name__
        unexpected = [key for key in self._extra_param_names() if not key.startswith(ROUTED_PREFIXES)]
        if unexpected:
            raise TypeError(f"{name}: unexpected keyword(s) {', '.join(map(repr, unexpected))}; the "
                            f"keywords routed to the parts start with {', '.join(ROUTED_PREFIXES)}")
        if str(self.device) != "cpu":
            raise ValueError(f"{name}: autograd-lite runs on the CPU only; device must be 'cpu', "
                             f"got {self.device!r}")
        if isinstance(self.max_epochs, bool) or not isinstance(self.max_epochs, (int, np.integer)) \
                or self.max_epochs < 0:
            raise ValueError(f"{name}: max_epochs must be a non-negative int, got {self.max_epochs!r}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                or self.batch_size < 1:
            raise ValueError(f"{name}: batch_size must be a positive int, got {self.batch_size!r}")
        if not (isinstance(self.lr, (float, int, np.number)) and self.lr > 0):
            raise ValueError(f"{name}: lr must be a positive number, got {self.lr!r}")
        if self.train_split is not None and not 0.0 < self.train_split < 1.0:
            raise ValueError(f"{name}: train_split must be None or a fraction in (0, 1), "
                             f"got {self.train_split!r}")
        if not callable(self.module) or isinstance(self.module, nn.Module):
            raise TypeError(f"{name}: module must be a Module class or a function returning a Module "
                            f"(its settings go in module__* keywords), got {self.module!r}")

    def _new_generator(self) -> np.random.Generator | None:
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, np.random.RandomState):
            return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        if isinstance(state, np.random.Generator):
            return np.random.default_rng(state.integers(np.iinfo(np.int32).max))
        return np.random.default_rng(int(state))

    def _initialize(self, output_dim: int):
        """Build ``module_``, ``criterion_`` and ``optimizer_`` (drawing the initial weights from the
        estimator's generator)."""
        self._check_settings()
        self.random_generator_ = self._new_generator()
        module_kwargs = self._routed("module__")
        accepted = inspect.signature(self.module).parameters
        for key, value in (("input_dim", self.n_features_in_), ("output_dim", output_dim)):
            if key in accepted and module_kwargs.get(key) is None:
                module_kwargs[key] = value
        with _random.use_generator(self.random_generator_):
            module = self.module(**module_kwargs)
        if not isinstance(module, nn.Module):
            raise TypeError(f"{type(self).__name__}: module(...) must return an nn.Module, got "
                            f"{type(module).__name__}")
        self.module_ = module
        self.criterion_ = (self.criterion or self._default_criterion)(**self._routed("criterion__"))
        optimizer = optimizer_class(self.optimizer, type(self).__name__)
        self.optimizer_ = optimizer(module.parameters(), lr=self.lr, **self._routed("optimizer__"))

    def _train(self, X: np.ndarray, targets: np.ndarray, epochs: int, stratify: bool):
        validation_data = None
        with _random.use_generator(self.random_generator_):
            if self.train_split is not None:
                seed = int(_random.generator().integers(np.iinfo(np.int32).max))
                X, X_val, targets, targets_val = train_test_split(
                    X, targets, test_size=self.train_split, random_state=seed,
                    stratify=targets if stratify else None)
                validation_data = (X_val, targets_val)
            history = _train(self.module_, X, targets, loss_fn=self.criterion_,
                             optimizer=self.optimizer_, epochs=epochs, batch_size=int(self.batch_size),
                             validation_data=validation_data, callbacks=list(self.callbacks or ()),
                             verbose=self.verbose)
        if hasattr(self, "history_"):  # partial_fit: one history across calls
            for key, values in history.history.items():
                self.history_.setdefault(key, []).extend(values)
        else:
            self.history_ = history.history

    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return _outputs(self.module_, X, batch_size=max(int(self.batch_size), 256))


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):
    """A Module trained with ``nn.CrossEntropyLoss`` on class labels of any type (strings too).

    The module outputs one logit per class (``output_dim = len(classes_)``, two for a binary
    problem); ``predict_proba`` is their softmax and ``predict`` the class of the largest one.
    ``partial_fit(X, y, classes=...)`` trains one epoch per call, building the module on the first
    call (which needs every label in ``classes``).
    """

    _default_criterion = nn.CrossEntropyLoss

    def fit(self, X, y) -> NeuralNetClassifier:
        for name in ("module_", "history_", "classes_"):
            self.__dict__.pop(name, None)
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to fit; "
                             f"the data has 1 class: {self.classes_[0]!r}")
        self._initialize(output_dim=len(self.classes_))
        self._train(X, np.searchsorted(self.classes_, y), self.max_epochs, stratify=True)
        return self

    def partial_fit(self, X, y, classes: Sequence | None = None) -> NeuralNetClassifier:
        first = _check_partial_fit_first_call(self, classes)
        if first:
            self.__dict__.pop("history_", None)
        X, y = validate_data(self, X, y, dtype=np.float32, reset=first)
        check_classification_targets(y)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"{type(self).__name__}.partial_fit: labels {unknown.tolist()} are not "
                             f"in classes={self.classes_.tolist()} given at the first call")
        if first:
            self._initialize(output_dim=len(self.classes_))
        self._train(X, np.searchsorted(self.classes_, y), 1, stratify=False)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``."""
        return class_probabilities(self._forward(X), from_logits=True)

    def predict(self, X) -> np.ndarray:
        outputs = self._forward(X)  # (N, n_classes), after the fitted check
        return self.classes_[outputs.argmax(axis=1)]


class NeuralNetRegressor(RegressorMixin, _NeuralNet):
    """A Module trained with ``nn.MSELoss`` on one target (y of shape (n,)) or several ((n, k)).

    ``predict`` returns the shape ``y`` had at ``fit``. ``partial_fit(X, y)`` trains one epoch per
    call, building the module on the first call.
    """

    def fit(self, X, y) -> NeuralNetRegressor:
        for name in ("module_", "history_"):
            self.__dict__.pop(name, None)
        return self._fit_epochs(X, y, self.max_epochs, first=True)

    def partial_fit(self, X, y) -> NeuralNetRegressor:
        return self._fit_epochs(X, y, 1, first=not hasattr(self, "module_"))

    def _fit_epochs(self, X, y, epochs, first):
        X, y = validate_data(self, X, y, dtype=np.float32, multi_output=True, y_numeric=True,
                             reset=first)
        targets = y.astype(np.float32).reshape(len(y), -1)  # (N, k)
        if first:
            self.n_outputs_ = targets.shape[1]
            self._target_ndim = y.ndim
            self._initialize(output_dim=self.n_outputs_)
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}.partial_fit: y has {targets.shape[1]} targets, "
                             f"but the model was built for {self.n_outputs_}")
        self._train(X, targets, epochs, stratify=False)
        return self

    def predict(self, X) -> np.ndarray:
        outputs = self._forward(X).astype(np.float64)  # (N, k); scikit-learn predicts in float64
        return outputs.reshape(len(outputs)) if self._target_ndim == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
