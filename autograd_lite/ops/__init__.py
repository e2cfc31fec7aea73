"""The primitives (one ``Function`` each, forward and backward together) and, in ``composite``,
everything built from them. ``conv`` (convolution and pooling) and ``losses`` (fused losses) hold
the primitives of the layers in ``nn``."""
from .broadcasting import unbroadcast  # noqa: F401  (ops.unbroadcast)
from .elementwise import (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sin, Cos, Tanh, Sigmoid, Where,
                          Cast, Clone)
from .reduce import Sum, Max
from .shape import Reshape, Permute, Expand, GetItem, IndexAdd, Cat, ConstantPad
from .linalg import MatMul, Linear as LinearFn
from .nnops import Softmax, LogSoftmax
from .activation import ReLU, ReLUMask, Abs, Maximum, Minimum, Clamp, LeakyReLU, ELU

PRIMITIVES = (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sin, Cos, Tanh, Sigmoid, Where, Cast, Clone,
              Sum, Max, Reshape, Permute, Expand, GetItem, IndexAdd, Cat, MatMul, LinearFn,
              Softmax, LogSoftmax, ReLU, ReLUMask, Abs, Maximum, Minimum, Clamp, LeakyReLU, ELU)

# Their backward formulas return new arrays (or pass the incoming gradient on), never a saved
# tensor, so a leaf may keep their gradients without a copy (see Function._fresh_gradients).
for _primitive in PRIMITIVES:
    _primitive._fresh_gradients = True
del _primitive

# The hottest primitives keep nothing on ctx but what they save with save_for_backward, so backward
# frees them by dropping the saved tensors, without looking for other attributes (see
# Function._stores_only_saved; tests/test_engine_core.py checks the claim for each of them).
STORES_ONLY_SAVED = (Add, Sub, Mul, Div, Neg, Exp, Log, Tanh, Sigmoid, Sum, Reshape, Permute, Expand,
                     MatMul, LinearFn)
for _primitive in STORES_ONLY_SAVED:
    # their forward computes on arrays only (no Tensor op inside), so recording need not be switched
    # off around it (tests/test_engine_core.py checks both claims)
    _primitive._stores_only_saved = _primitive._records_nothing = True
del _primitive
