"""autograd-lite: a reverse-mode automatic-differentiation engine on NumPy.

``import autograd_lite as ag`` gives the Tensor and its constructors, backward/grad, no_grad,
custom ``Function``s, gradcheck, and (in submodules) graph drawing, data loading, kernels and
weights on disk. Layers live in the sibling package ``nn``, optimizers in ``optim``.
"""
import warnings as _warnings

from .function import (Function, FunctionCtx, no_grad, enable_grad, set_grad_enabled,
                       is_grad_enabled, detect_anomaly, retain_grads, inference_mode,
                       is_inference_mode_enabled, once_differentiable)
from .tensor import (Tensor, float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
from .creation import (tensor, as_tensor, from_numpy, is_tensor, zeros, ones, full, empty,
                       zeros_like, ones_like, full_like, arange, linspace, eye, randn, rand,
                       randn_like, rand_like, randint, randperm)
from .random import manual_seed
from .autodiff import grad
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .ops.composite import (matmul, mm, cat, stack, where, maximum, minimum, clip, linear, relu)
from . import data  # ag.data.DataLoader, ag.data.TensorDataset, ag.data.load_mnist
from .serialization import save, load  # weights on disk (safetensors, no pickle)

clamp = clip
concatenate = cat

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
         "sklearn": None}  # ag.sklearn.NeuralNetClassifier(...): scikit-learn estimators


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'autograd_lite' has no attribute {name!r}")
    import importlib
    module = importlib.import_module(f".{_LAZY[name] or name}", __name__)
    return module if _LAZY[name] is None else getattr(module, name)


def _method(name):
    def call(t, *args, **kwargs):
        return getattr(t if isinstance(t, Tensor) else tensor(t), name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = f"Functional form of ``Tensor.{name}``."
    return call


for _name in ("exp log sqrt sin cos tanh sigmoid abs sum mean var std amax amin max min logsumexp "
              "softmax log_softmax argmax argmin reshape transpose permute flatten squeeze unsqueeze "
              "log1p square").split():
    globals()[_name] = _method(_name)
del _name

# PyTorch's dtype names (ag.long, ag.float, ...), bound last: they shadow builtins in this module
float, double, half, long, int, bool, get_default_dtype = (
    float32, float64, float16, int64, int32, bool_, lambda: float32)

__version__ = "0.1.0"
