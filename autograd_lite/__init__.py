"""autograd-lite: a reverse-mode automatic-differentiation engine on NumPy.

``import autograd_lite as ag`` gives the Tensor and its constructors, backward/grad, no_grad,
custom ``Function``s, gradcheck, and (in submodules) graph drawing, data loading, kernels and
weights on disk. Layers live in the sibling package ``nn``, optimizers in ``optim``, also reachable
under PyTorch's names: ``import autograd_lite as torch`` gives ``torch.nn``, ``torch.optim``,
``torch.utils.data``, ``torch.autograd``, ``torch.device``, ``torch.cuda.is_available()`` (False)
and PyTorch's top-level functions (``torch.add``, ``torch.gather``, ...).
"""
import warnings as _warnings

from .function import (Function, FunctionCtx, no_grad, enable_grad, set_grad_enabled,
                       is_grad_enabled, detect_anomaly, retain_grads, inference_mode,
                       is_inference_mode_enabled, once_differentiable)
from .tensor import (Tensor, float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
from .tensor_api import Size
from .dtypes import get_default_dtype, set_default_dtype
from .device import (device, cuda, backends, accelerator, set_default_device, get_default_device)
from .creation import (tensor, as_tensor, from_numpy, is_tensor, numel, zeros, ones, full, empty,
                       zeros_like, ones_like, full_like, empty_like, arange, linspace, logspace, eye,
                       randn, rand, randn_like, rand_like, randint, randint_like, randperm)
from .random import manual_seed, Generator
from .autodiff import grad
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .ops.composite import linear, relu
from .torch_functions import *  # noqa: F401,F403  (torch.add, torch.gather, ...; see its __all__)
from .torch_functions import pow, FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, \
    ShortTensor, CharTensor, ByteTensor, BoolTensor  # noqa: F401
from .torch_functions import sum, max, min, abs, round, all, any  # noqa: F401,A004 (not in __all__)
from . import torch_functions as _torch_functions
from . import data  # ag.data.DataLoader, ag.data.TensorDataset, ag.data.load_mnist
from . import autograd, utils  # PyTorch's torch.autograd and torch.utils.data namespaces
from . import linalg  # ag.linalg.norm, ag.linalg.vector_norm
from .serialization import save, load  # weights on disk (safetensors, no pickle)
from .kernels.threads import get_num_threads, set_num_threads  # kernels' threads, PyTorch's names
from . import _aliases

_aliases.install()  # import autograd_lite.nn / autograd_lite.optim give the top-level nn and optim

# NumPy warns when an op makes inf or NaN (1 / 0, log(0), exp overflow); PyTorch, the reference, is
# silent. Those warnings, raised inside this package's ops, are ignored (a filter costs nothing per
# op, unlike np.errstate); non-finite values are found with ag.detect_anomaly(), which names the op.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"autograd_lite(\.|$)")

# Graph drawing and plots import graphviz/matplotlib, so they load on first use: ag.draw_graph(...),
# ag.BackwardStepper(...), ag.plots.plot_history(...).
_LAZY = {"draw_graph": "graph", "save_graph": "graph", "BackpropGraph": "graph",
         "DotNotFoundError": "graph", "BackwardStepper": "graph", "draw_network": "graph", "graph": None,
         "teaching": None, "plots": None,
         "training": None, "onnx": None,  # ag.training.fit(...): imports scikit-learn and tqdm
         "sklearn": None,  # ag.sklearn.NeuralNetClassifier(...): scikit-learn estimators
         "nn": None, "optim": None}  # the top-level nn and optim (which import autograd_lite)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'autograd_lite' has no attribute {name!r}")
    import importlib
    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    return module if _LAZY[name] is None else getattr(module, name)


# What ``from autograd_lite import *`` gives: everything public except the names that would shadow
# Python's builtins there (sum, max, min, abs, round, pow, all, any, float, int, bool), which stay
# reachable as ag.sum, ag.float, ...
_BUILTINS = {"sum", "max", "min", "abs", "round", "pow", "all", "any", "float", "int", "bool"}
__all__ = sorted((
    {"Function", "FunctionCtx", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
     "detect_anomaly", "retain_grads", "inference_mode", "is_inference_mode_enabled",
     "once_differentiable", "Tensor", "Size", "float16", "float32", "float64", "int8",
     "int16", "int32", "int64", "uint8", "bool_", "double", "half", "long", "short",
     "get_default_dtype", "set_default_dtype", "device", "cuda", "backends", "accelerator",
     "set_default_device", "get_default_device", "tensor", "as_tensor", "from_numpy", "is_tensor",
     "numel", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like",
     "arange", "linspace", "logspace", "eye", "randn", "rand", "randn_like", "rand_like", "randint",
     "randint_like", "randperm", "manual_seed", "Generator", "grad", "gradcheck", "gradgradcheck",
     "GradcheckError", "linear", "data", "autograd", "utils", "linalg", "save", "load",
     "get_num_threads", "set_num_threads",
     "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
     "CharTensor", "ByteTensor", "BoolTensor", "nn", "optim"}
    | set(_torch_functions.__all__)) - _BUILTINS)

# PyTorch's dtype names (ag.long, ag.float, ...), bound last: they shadow builtins in this module
float, double, half, long, int, short, bool = float32, float64, float16, int64, int32, int16, bool_

__version__ = "0.1.0"
