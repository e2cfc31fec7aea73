"""`Function`: the unit of differentiation, and the switches that govern graph recording.

Every differentiable primitive is a subclass of :class:`Function` with two static methods side by side:

* ``forward(ctx, *args)`` receives Tensors (and plain Python values), runs with graph recording
  switched off, and returns a Tensor (or a tuple of Tensors);
* ``backward(ctx, *grad_outputs)`` receives one gradient Tensor per output and returns one gradient per
  input of ``forward`` (``None`` where an input needs none). Backward formulas use differentiable Tensor
  operations, so running them with recording switched on (``create_graph=True``) builds the graph of
  the gradient itself: that is how second derivatives work.

``MyOp.apply(*args)`` runs forward and, when any input requires a gradient and recording is on, links
the outputs to a fresh ``ctx`` (an instance of ``MyOp``): the node of the graph.
"""
from __future__ import annotations

import traceback
import weakref

import numpy as np


class _GradMode:
    """Process-wide switches (the engine is single-threaded like micrograd's)."""
    enabled = True        # record graphs?
    anomaly = False       # check every forward/backward result for NaN/Inf?
    retain_all = False    # keep .grad on every intermediate tensor (used by the teaching tools)
    module_stack = []     # nn.Module.__call__ pushes the running module; ops record the innermost


class no_grad:
    """Context manager (and decorator) under which operations record no graph."""

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that switches recording back on, e.g. inside ``no_grad``."""

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = True


class set_grad_enabled(no_grad):
    """``with ag.set_grad_enabled(flag):`` records a graph only when ``flag`` is true."""

    def __init__(self, mode: bool):
        self._mode = bool(mode)

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._mode

    def __call__(self, fn):
        raise TypeError("set_grad_enabled is a context manager only")


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class detect_anomaly:
    """Context manager that finds where NaN/Inf first appears.

    Inside it every op remembers the stack that created it; a forward op whose output holds NaN/Inf
    raises at once, naming the op and where it was called, and so does a backward op whose gradient
    holds NaN/Inf (naming the forward op it belongs to and where that op was created).
    """

    def __init__(self, check_nan: bool = True):
        self._mode = bool(check_nan)

    def __enter__(self):
        self._previous = _GradMode.anomaly
        _GradMode.anomaly = self._mode

    def __exit__(self, *exc):
        _GradMode.anomaly = self._previous


def retain_grads(enabled: bool = True):
    """Process-wide: keep ``.grad`` on every intermediate tensor during backward (for teaching)."""
    _GradMode.retain_all = bool(enabled)


class FunctionCtx:
    """What forward may use of ``ctx``: saving tensors for backward and marking what is not needed."""

    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._saved_versions = tuple(getattr(t, "_version", -1) for t in tensors)

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (op {self.name()}): its saved "
                "tensors were freed after the first backward. Pass retain_graph=True to the first "
                "backward() if you need to run it twice.")
        out = []
        for tensor, version in zip(saved, self._saved_versions):
            if isinstance(tensor, weakref.ref):
                tensor = tensor()
            if version >= 0 and tensor is not None and tensor._version != version:
                raise RuntimeError(
                    f"one of the tensors needed for the gradient of {self.name()} (shape "
                    f"{tensor.shape}) was modified by an in-place operation after it was saved: it is "
                    f"at version {tensor._version}, expected version {version}. Use an out-of-place "
                    "op or clone() the tensor before modifying it.")
            out.append(tensor)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors


class Function(FunctionCtx):
    """Base class of every differentiable operation; an instance is the ``ctx`` / graph node."""

    # Filled in by apply() on the instance that becomes the node:
    #   inputs            the Tensor arguments (strong references: the graph's edges)
    #   needs_input_grad  one bool per forward argument, like PyTorch
    #   outputs           weak references to the outputs (strong ones would make cycles)
    _saved = ()
    _saved_versions = ()
    _non_differentiable = ()
    created_at = None
    module = None  # the innermost nn.Module whose forward created this node (for graph clustering)

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = object.__new__(cls)
        record = False
        if _GradMode.enabled:
            for arg in args:
                if isinstance(arg, Tensor) and arg.requires_grad:
                    record = True
                    break
        if not record:
            result = cls.forward(ctx, *args, **kwargs)
            if type(result) is not Tensor:
                result = _normalize(result)
            if _GradMode.anomaly:
                _check_forward(cls, args, result if isinstance(result, tuple) else (result,))
            return result
        _GradMode.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            _GradMode.enabled = True
        single = type(result) is Tensor
        outputs = (result,) if single else _normalize(result)
        if not isinstance(outputs, tuple):
            outputs, single = (outputs,), True
        for arg in args:  # an output must be a new tensor, never an input passed through
            if isinstance(arg, Tensor) and any(o is arg for o in outputs):
                outputs = tuple(Tensor._make(o.data) if o is arg else o for o in outputs)
        ctx.inputs = args
        if _GradMode.module_stack:
            ctx.module = _GradMode.module_stack[-1]
        ctx.needs_input_grad = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
        ctx.outputs = tuple([weakref.ref(o) for o in outputs])
        if ctx._saved:  # a saved output would keep its own node alive: hold it weakly
            ctx._saved = tuple([weakref.ref(t) if any(t is o for o in outputs) else t
                                for t in ctx._saved])
        non_diff = ctx._non_differentiable
        for index, out in enumerate(outputs):
            if out.data.dtype.kind != "f" or (non_diff and any(out is t for t in non_diff)):
                continue
            out._ctx, out._out_index, out.requires_grad = ctx, index, True
        if _GradMode.anomaly:
            ctx.created_at = traceback.format_stack()[:-2]
            _check_forward(cls, args, outputs)
        return outputs[0] if single else outputs


def _normalize(result):
    """Forward's result as a Tensor or a tuple of Tensors (NumPy arrays are wrapped)."""
    if isinstance(result, tuple):
        return tuple(o if isinstance(o, Tensor) else _wrap(o) for o in result)
    return result if isinstance(result, Tensor) else _wrap(result)


def _wrap(value):
    if isinstance(value, np.ndarray):
        return Tensor._make(value)
    raise TypeError(f"Function.forward must return Tensors or NumPy arrays, got {type(value).__name__}")


def _check_forward(cls, args, outputs):
    for out in outputs:
        if out.data.dtype.kind == "f" and not np.isfinite(out.data).all():
            inputs_ok = all(not (isinstance(a, Tensor) and a.data.dtype.kind == "f")
                            or np.isfinite(a.data).all() for a in args)
            if inputs_ok:
                where = "".join(traceback.format_stack()[-6:-3])
                raise FloatingPointError(
                    f"detect_anomaly: forward op {cls.__name__} produced "
                    f"{_count_bad(out.data)} in an output of shape {out.shape} from finite inputs. "
                    f"It was called here:\n{where}")


def _count_bad(array) -> str:
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    return f"{nan} NaN and {inf} Inf value(s)"


Tensor = None  # set by autograd_lite.tensor once the class exists (avoids an import cycle)
