"""Optimizers (PyTorch's ``torch.optim`` API and update rules) and learning-rate schedules.

* ``optimizer``: the ``Optimizer`` base (param_groups, state, state_dict/load_state_dict)
* ``sgd``: ``SGD`` (momentum, dampening, Nesterov, weight decay)
* ``rmsprop``: ``RMSprop`` (momentum, centered)
* ``adam``: ``Adam`` (amsgrad, weight decay) and ``AdamW`` (decoupled weight decay)
* ``adagrad``: ``Adagrad`` and ``Adadelta``
* ``lr_scheduler``: ``StepLR ExponentialLR CosineAnnealingLR CyclicLR ReduceLROnPlateau``, and from
  ``lr_scheduler_more``: ``MultiStepLR LambdaLR MultiplicativeLR LinearLR ConstantLR PolynomialLR
  CosineAnnealingWarmRestarts OneCycleLR SequentialLR ChainedScheduler``

Each optimizer's docstring gives its update rule as math.
"""
from .optimizer import Optimizer
from .sgd import SGD
from .rmsprop import RMSprop
from .adam import Adam, AdamW
from .adagrad import Adagrad, Adadelta
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "lr_scheduler"]
