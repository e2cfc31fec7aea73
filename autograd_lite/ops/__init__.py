"""The primitives (one ``Function`` each) and, in ``composite``, everything built from them."""
from .elementwise import (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sin, Cos, Tanh, Sigmoid, Where,
                          Cast, Clone, unbroadcast)
from .reduce import Sum, Max
from .shape import Reshape, Permute, Expand, GetItem, IndexAdd, Cat
from .linalg import MatMul, Linear as LinearFn
from .nnops import Softmax, LogSoftmax

PRIMITIVES = (Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sin, Cos, Tanh, Sigmoid, Where, Cast, Clone,
              Sum, Max, Reshape, Permute, Expand, GetItem, IndexAdd, Cat, MatMul, LinearFn,
              Softmax, LogSoftmax)
