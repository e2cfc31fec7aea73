"""`Function`: the unit of differentiation (the switches that govern recording live in ``grad_mode``).

Every differentiable primitive is a subclass of :class:`Function` with two static methods side by side:

* ``forward(ctx, *args)`` receives Tensors (and plain Python values), runs with graph recording
  switched off, and returns a Tensor (or a tuple of Tensors);
* ``backward(ctx, *grad_outputs)`` receives one gradient Tensor per output and returns one gradient per
  input of ``forward`` (``None`` where an input needs none). Backward formulas use differentiable Tensor
  operations, so running them with recording switched on (``create_graph=True``) builds the graph of
  the gradient itself: that is how second derivatives work.

``MyOp.apply(*args)`` runs forward and, when any input requires a gradient and recording is on, links
the outputs to a fresh ``ctx`` (an instance of ``MyOp``): the node of the graph. A node holds

* ``inputs``            the forward arguments (Tensors are the graph's edges),
* ``needs_input_grad``  one bool per argument, like PyTorch,
* ``outputs``           weak references to its outputs (strong ones would make reference cycles),
* ``module``            the innermost running ``nn.Module`` (for graph clustering), or None,
* ``created_at``        the user's stack when it was created (only under ``detect_anomaly``).

Tensors saved with ``ctx.save_for_backward`` remember their version counter; in-place methods bump it,
and ``ctx.saved_tensors`` refuses a tensor that changed after it was saved, naming the op.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from .grad_mode import _local, switches as _switches  # noqa: E402
from .grad_mode import (_GradMode, detect_anomaly, enable_grad, inference_mode,  # noqa: F401
                        is_grad_enabled, is_inference_mode_enabled, no_grad, retain_grads,
                        set_grad_enabled)
from .anomaly import check_forward as _check_forward, user_stack  # noqa: E402
from .exported import check as _check_exported  # noqa: E402
from .graph_refs import AccumulateGrad, InputRef, shape_of  # noqa: E402,F401
from .exported import fingerprints as _fingerprints  # noqa: E402


class _SavedOutput:
    """An output saved for its own backward, held without a reference cycle.

    While the output is alive it is returned as is; once the user dropped it, a stand-in sharing its
    data and linked to the same node is rebuilt (what PyTorch's SavedVariable does), so
    ``create_graph=True`` still differentiates through it.
    """
    __slots__ = ("ref", "_data", "index", "counter", "version")

    def __init__(self, tensor, index):
        self.ref, self._data, self.index = weakref.ref(tensor), tensor._data, index
        self.counter = tensor._version_counter  # shared with views of the output
        self.version = self.counter[0]

    def unpack(self, node):
        tensor = self.ref()
        if tensor is None:
            tensor = Tensor._make(self._data)
            tensor._ctx, tensor._out_index, tensor.requires_grad = node, self.index, True
            tensor._version_counter = self.counter
        if self.counter[0] != self.version:
            _raise_modified(node, tensor, self.version)
        return tensor


def _raise_modified(node, tensor, version):
    raise RuntimeError(
        f"one of the tensors needed for the gradient of {node.name()} (shape {tensor.shape}, dtype "
        f"{tensor.dtype}) was modified by an in-place operation after it was saved: it is at version "
        f"{tensor._version}, expected version {version}. Use an out-of-place op, or clone() the "
        "tensor before modifying it.")


class FunctionCtx:
    """What forward may use of ``ctx``: saving tensors for backward and marking what is not needed."""

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (Tensors or None) for backward, read back as ``ctx.saved_tensors``; an
        in-place change to one of them before backward makes backward raise."""
        for position, tensor in (() if self._builtin else enumerate(tensors)):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors (or None), but argument {position} is "
                    f"a {type(tensor).__name__}: keep other values as attributes of ctx "
                    "(ctx.scale = scale)")
        self._saved = tensors

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place (and returns): they become outputs of
        this node, and their version counter is bumped so that earlier uses that saved them raise."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (op {self.name()}): its saved "
                "tensors were freed after the first backward. Pass retain_graph=True to the first "
                "backward() if you need to run it twice.")
        versions = self._saved_versions
        if not versions:  # forward ran without recording: nothing to check
            return saved
        position = -1
        for version in versions:  # the common case: all unchanged, as saved (no zip: cheaper)
            position += 1
            if version >= 0:
                tensor = saved[position]
                if tensor.__class__ is _SavedOutput:
                    break
                counter = tensor._version_counter
                if counter[0] != version or len(counter) > 1:
                    break
        else:
            return saved
        out = []  # unpack saved outputs, report a change, compare exported bytes
        for tensor, version in zip(saved, versions):
            if version >= 0:
                if tensor.__class__ is _SavedOutput:
                    tensor = tensor.unpack(self)
                else:
                    counter = tensor._version_counter
                    if counter[0] != version:
                        _raise_modified(self, tensor, version)
                    if len(counter) > 1:  # numpy() handed its array out: compare the bytes
                        _check_exported(self, len(out), tensor)
            out.append(tensor)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors


class Function(FunctionCtx):
    """Base class of every differentiable operation; an instance is the ``ctx`` / graph node.

    ``rule``: the op's local derivative rule as the teaching views show it (graph nodes with
    ``rules=True``, ``BackwardStepper``), written beside forward and backward. A str, e.g.
    ``rule = "d/da = b, d/db = a"`` (``a``, ``b``, ... are forward's tensor arguments in order,
    ``g`` the incoming gradient; ``\n`` breaks lines), or a dict by language when it has words,
    ``rule = {"en": "grad reshaped back", "es": "grad devuelto a la forma original"}``.
    Every Function of the package must set it (``tests/test_teaching_rules.py`` checks).
    """

    rule = None

    _saved = ()
    _saved_versions = ()
    _saved_checksums = None  # {position: CRC} of saved tensors whose array numpy() handed out
    _non_differentiable = ()
    _dirty = ()
    _materialize_grads = True
    _separate_setup = False  # True for subclasses that define setup_context (PyTorch 2's style)
    _builtin = False  # the package's own ops (they may save_for_backward plain numbers too)
    _released = False  # set once backward freed what the node stored (see autodiff._release_attributes)
    _stores_only_saved = False  # True: forward keeps nothing on ctx beyond save_for_backward (fast release)
    _records_nothing = False  # True: forward computes on arrays only, so _record need not switch recording off
    # how ``ag.onnx.export`` writes this op: a staticmethod (g, node, inputs, outputs), usually made
    # by a builder of ``ops.onnx_mapping`` (``onnx = unary("Exp")``); None: no ONNX mapping
    onnx = None
    needs_input_grad = ()  # set per node when recording
    created_at = None
    module = None  # the innermost nn.Module whose forward created this node (for graph clustering)
    # an output called retain_grad() (backward stores its gradient in .grad) or register_hook():
    # backward stops at this node's output gradients
    retains_grad = False
    _tensor_hooks = None  # {output index: hooks} for outputs that called register_hook()
    # True when backward only returns arrays it just created (or the incoming gradients): a leaf may
    # then keep them as .grad without a copy. The built-in primitives set it; a custom backward may
    # return a saved tensor, so by default its gradients are copied before a leaf keeps them.
    _fresh_gradients = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    # Optional, for the hottest primitives: ``backward_plain(ctx, grad)`` computes what ``backward``
    # does, on the arrays, without going through Function.apply for each step of the formula. The
    # engine calls it when no graph of the gradient is built (no create_graph, no anomaly mode);
    # ``backward`` stays the definition (create_graph, the teaching stepper). tests/test_ops.py
    # checks that both give the same gradients for every op that has one.
    backward_plain = None
    # Optional beside it, ``backward_in_place(ctx, grad)``: backward_plain that may overwrite
    # grad's array (ReLU masks it in place). The engine calls it only for a gradient nobody else
    # holds: one from a single producer whose ``_owned_gradients`` is True, not summed with
    # another, not captured (ag.grad's targets, retain_grad, hooks).
    backward_in_place = None
    # True when backward_plain returns, for each input, an array it just created that nothing else
    # holds (no incoming gradient passed through, no two inputs sharing one): its consumer may
    # then overwrite it (``backward_in_place``).
    _owned_gradients = False
    # Optional, with backward_plain: ``absorbs``, producer classes (of this node's first input)
    # whose backward ``backward_absorbing(ctx, grad, producer)`` folds into this node's own:
    # it returns this node's input gradients with the producer's backward already applied to the
    # first (MaxPool2d's scatter writes only where the ReLU before it lets the gradient through).
    # The engine calls it only when nobody can see the gradient in between (the producer's
    # backward would have run in place: see backward_in_place), and then passes that gradient
    # through the producer unchanged.
    absorbs = ()
    # Optional beside it, ``absorbs_below``: classes of the producer's own producer that
    # ``backward_absorbing(ctx, grad, producer, below)`` may fold in as well, under the same
    # conditions; it then returns (this node's input gradients, ``below``'s), and the engine
    # hands ``below`` its gradients when its turn comes (MaxPool2d after Conv2d -> ReLU: the
    # scatter runs image by image inside the convolution's backward launch).
    absorbs_below = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._builtin = cls.__module__.split(".")[0] in ("autograd_lite", "nn", "optim")  # may save numbers
        cls._separate_setup = any("setup_context" in vars(k) for k in cls.__mro__
                                  if k is not Function and k is not FunctionCtx and k is not object)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's alternative to a ``ctx`` argument: ``forward(*args)`` runs without ctx and
        ``setup_context(ctx, inputs, output)`` then saves what backward needs."""
        raise NotImplementedError

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    @property
    def next_functions(self):
        """Like PyTorch's ``grad_fn.next_functions``: per forward argument, ``(node, output index)``
        for a tensor computed by a recorded op, ``(AccumulateGrad, 0)`` for a leaf that requires
        grad, ``(None, 0)`` otherwise."""
        edges = []
        for value, needed in zip(self.inputs, self.needs_input_grad):
            if not needed:
                edges.append((None, 0))
            elif value._ctx is not None:
                edges.append((value._ctx, value._out_index))
            else:
                edges.append((AccumulateGrad(value), 0))
        return tuple(edges)

    @classmethod
    def apply(cls, *args):
        """Run ``forward``; record a graph node when recording is on and an input requires grad."""
        try:
            mode = _local.switches  # this thread's switches
        except AttributeError:
            mode = _switches()
        if mode.enabled:
            for arg in args:
                if isinstance(arg, Tensor) and arg.requires_grad:
                    return _record(cls, args, mode)
        result = _forward(cls, _new(cls), args) if cls._separate_setup else cls.forward(_new(cls), *args)
        if result.__class__ is not Tensor:
            result = _normalize(result)
        if mode.anomaly:
            _check_forward(cls, args, result if isinstance(result, tuple) else (result,))
        return result


_new = object.__new__


def _forward(cls, ctx, args):
    if cls._separate_setup:
        result = cls.forward(*args)
        cls.setup_context(ctx, args, result)
        return result
    return cls.forward(ctx, *args)


def once_differentiable(backward):
    """Decorator for a custom ``backward`` that is not itself differentiable: it runs without
    recording, and a double backward through it raises instead of giving a wrong answer."""
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        if _GradMode.enabled and any(isinstance(g, Tensor) and g.requires_grad for g in grads):
            raise RuntimeError(f"{ctx.name()}.backward is marked once_differentiable: it cannot be "
                               "differentiated again (create_graph=True)")
        with no_grad():
            return backward(ctx, *grads)
    return wrapper


def _record(cls, args, mode):
    """apply() with recording: forward without recording, then link the outputs to the node.
    ``ctx.inputs`` as ``graph_refs`` describes it (built inline: this is the hot path)."""
    ctx = _new(cls)
    needs = []
    inputs = args  # copied into a list only if a tensor is replaced by an InputRef
    keep = mode.keep_inputs
    position = 0
    for arg in args:
        if isinstance(arg, Tensor):
            requires_grad = arg.requires_grad
            needs.append(requires_grad)
            producer = arg._ctx
            if not (keep or requires_grad and producer is None):
                ref = InputRef()  # (no __init__: calling the class is cheaper than object.__new__)
                ref._ctx = producer
                ref._out_index = arg._out_index
                ref.requires_grad = requires_grad
                ref.name = arg.name
                array = arg._data
                ref.shape = array.shape
                ref.dtype = array.dtype
                if producer is None:  # a constant: the node keeps a weak reference to it
                    ref._leaf_ref = _ref(arg)
                if inputs is args:
                    inputs = list(args)
                inputs[position] = ref
        else:
            needs.append(False)
        position += 1
    ctx.needs_input_grad = tuple(needs)
    ctx.inputs = inputs if inputs is args else tuple(inputs)
    if cls._records_nothing:  # forward works on arrays only: no need to switch recording off
        result = cls.forward(ctx, *args)
    else:
        mode.enabled = False
        try:
            result = _forward(cls, ctx, args) if cls._separate_setup else cls.forward(ctx, *args)
        finally:
            mode.enabled = True
    if result.__class__ is not Tensor or ctx._non_differentiable or ctx._dirty or mode.anomaly:
        return _link_outputs(cls, ctx, args, result)
    # The common case, kept short: one new float output.
    for arg in args:
        if arg is result:  # an output must be a new tensor, never an input passed through
            result = Tensor._make(result._data)
            break
    ctx.outputs = (_ref(result),)
    if mode.module_stack:
        ctx.module = mode.module_stack[-1]
    if ctx._saved:
        _remember_versions(ctx, (result,))
    if result._data.dtype.kind == "f":
        result._ctx = ctx
        result.requires_grad = True
    return result


_ref = weakref.ref


def _remember_versions(ctx, outputs):
    """Record the version of every saved tensor; hold saved outputs without a reference cycle."""
    saved = ctx._saved
    versions = []
    exported = holds_output = False
    first_output = outputs[0]
    for t in saved:
        if isinstance(t, Tensor):
            counter = t._version_counter
            versions.append(counter[0])
            if len(counter) > 1:  # numpy() handed its array out: fingerprint
                exported = True
            if t is first_output:
                holds_output = True
        else:
            versions.append(-1)
    if len(outputs) > 1 and not holds_output:
        holds_output = any(t is out for out in outputs[1:] for t in saved)
    ctx._saved_versions = versions  # (a list: only ever zipped with the saved tensors)
    if exported:
        ctx._saved_checksums = _fingerprints(saved)
    if holds_output:
        for i, tensor in enumerate(saved):
            for index, out in enumerate(outputs):
                if tensor is out:  # held strongly, an output would keep its own node alive
                    saved = saved[:i] + (_SavedOutput(out, index),) + saved[i + 1:]
        ctx._saved = saved


def _link_outputs(cls, ctx, args, result):
    """The general case of _record: several outputs, non-differentiable ones, anomaly mode."""
    single = isinstance(result, Tensor)
    outputs = (result,) if single else _normalize(result)
    if not isinstance(outputs, tuple):
        outputs, single = (outputs,), True
    dirty = ctx._dirty
    for arg in args:  # an output must be a new tensor, never an input passed through ...
        for out in outputs:
            if out is arg:
                if any(arg is d for d in dirty):  # ... unless forward changed it in place
                    if arg._ctx is None and arg.requires_grad:
                        raise RuntimeError(
                            f"{cls.__name__}: a leaf tensor that requires grad (shape {arg.shape}) "
                            "was modified in place (mark_dirty); clone() it first")
                    arg._version_counter[0] += 1
                    continue
                outputs = tuple(Tensor._make(o._data) if o is arg else o for o in outputs)
                break
    ctx.outputs = tuple([_ref(out) for out in outputs])
    if len(outputs) > 1:  # an unused output's gradient is materialised as zeros of this shape
        ctx._output_meta = tuple([(out._data.shape, out._data.dtype) for out in outputs])
    if _GradMode.module_stack:
        ctx.module = _GradMode.module_stack[-1]
    if ctx._saved:
        ctx._saved = tuple(ctx._saved)
        _remember_versions(ctx, outputs)
    non_differentiable = ctx._non_differentiable
    for index, out in enumerate(outputs):
        if out._data.dtype.kind != "f" or any(out is t for t in non_differentiable):
            continue
        out._ctx, out._out_index, out.requires_grad = ctx, index, True
    if _GradMode.anomaly:
        ctx.created_at = user_stack()
        _check_forward(cls, args, outputs)
    return outputs[0] if single else outputs


def _normalize(result):
    """Forward's result as a Tensor or a tuple of Tensors (NumPy arrays are wrapped)."""
    if isinstance(result, (tuple, list)):
        return tuple(o if isinstance(o, Tensor) else _wrap(o) for o in result)
    return result if isinstance(result, Tensor) else _wrap(result)


def _wrap(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return Tensor._make(np.asarray(value))
    raise TypeError(f"Function.forward must return Tensors or NumPy arrays, got {type(value).__name__}")


Tensor = None  # set by autograd_lite.tensor once the class exists (avoids an import cycle)
