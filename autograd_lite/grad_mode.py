"""Grad mode: the switches that govern graph recording, one set per thread.

``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` (context managers and
decorators), ``detect_anomaly`` and ``retain_grads`` (teaching) each change this thread's
``_GradMode`` and restore it on exit, also when an exception escapes; another thread never sees the
change (as in PyTorch). ``Function.apply`` reads ``_GradMode.enabled`` to decide whether to record.
"""
from __future__ import annotations

import functools
import threading


class _Switches:
    """One thread's switches (a plain object with slots: the engine's hot paths fetch it once per op
    from a plain ``threading.local``, ``switches()``, and then read it at the cost of an attribute,
    where every read of a ``threading.local`` attribute looks up the thread's dictionary)."""
    __slots__ = ("enabled", "anomaly", "retain_all", "keep_inputs", "module_stack", "outer_modules")

    def __init__(self):
        self.enabled = True        # record graphs?
        self.anomaly = False       # check every forward/backward result for NaN/Inf?
        self.retain_all = False    # keep .grad on every intermediate tensor (teaching tools)
        self.keep_inputs = False   # nodes keep their input tensors alive (teaching tools)
        self.module_stack = []     # nn.Module.__call__ pushes the running module; ops record the innermost
        self.outer_modules = {}    # id -> weakref of modules called from outside any module (draw_graph names)


_local = threading.local()  # a plain local (no subclass): its attribute reads are the cheapest


def switches():
    """This thread's switches (made with the defaults on a thread's first use). The hot paths inline
    it as ``try: mode = _local.switches`` / ``except AttributeError: mode = switches()``."""
    try:
        return _local.switches
    except AttributeError:
        mode = _local.switches = _Switches()
        return mode


def _switch(name):
    def get(self):
        return getattr(switches(), name)

    def set_(self, value):
        setattr(switches(), name, value)
    return property(get, set_, None, f"this thread's ``{name}`` switch")


class _ThreadState:
    """The switches that govern recording, one set per thread (as in PyTorch: a thread evaluating
    under ``no_grad`` never changes what a training thread records). Each thread starts with the
    defaults of ``_Switches``; ``_GradMode.enabled`` etc. read and write this thread's set."""
    __slots__ = ()

    switches = property(lambda self: switches(), None, None, "this thread's ``_Switches``")
    enabled, anomaly, retain_all, keep_inputs, module_stack, outer_modules = (
        _switch(name) for name in _Switches.__slots__)


_GradMode = _ThreadState()


class no_grad:
    """Context manager (and decorator, ``@ag.no_grad()`` or ``@ag.no_grad``) under which operations
    record no graph."""

    def __new__(cls, fn=None):
        if fn is not None and callable(fn):  # used as a bare decorator
            return cls()(fn)
        return super().__new__(cls)

    def __init__(self, fn=None):
        pass

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class inference_mode(no_grad):
    """``with ag.inference_mode():`` (or ``ag.inference_mode(False)``): like ``no_grad`` here (this
    engine has no separate inference tensors); a decorator too."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # used as a bare decorator
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __enter__(self):
        self._previous = _GradMode.enabled
        if self._mode:
            _GradMode.enabled = False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    return not _GradMode.enabled


class enable_grad(no_grad):
    """Context manager (and decorator) that switches recording back on, e.g. inside ``no_grad``."""

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = True


class set_grad_enabled(no_grad):
    """``with ag.set_grad_enabled(flag):`` records a graph only when ``flag`` is true; called as a
    plain function, ``ag.set_grad_enabled(flag)`` sets the mode until changed (as in PyTorch)."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._previous = _GradMode.enabled
        _GradMode.enabled = bool(mode)

    def __enter__(self):
        pass

    def __call__(self, fn):
        raise TypeError("set_grad_enabled is a context manager (or a plain call), not a decorator")


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class detect_anomaly:
    """Context manager that finds where NaN/Inf first appears.

    Inside it every op remembers the user code that created it; a forward op that turns finite inputs
    into NaN/Inf raises ``FloatingPointError`` at once, naming the op and where it was called, and so
    does a backward op that turns finite gradients into NaN/Inf (naming the op and where its forward
    was created).
    """

    def __init__(self, check_nan: bool = True):
        self._mode = bool(check_nan)

    def __enter__(self):
        self._previous = _GradMode.anomaly
        _GradMode.anomaly = self._mode

    def __exit__(self, *exc):
        _GradMode.anomaly = self._previous


class retain_grads:
    """Keep ``.grad`` on every intermediate tensor during backward, and keep every node's input
    tensors alive so that the graph can show their values (for teaching; this thread only).

    ``with ag.retain_grads():`` switches it on for a block; a plain call ``ag.retain_grads()``
    switches it on for this thread until ``ag.retain_grads(False)``."""

    def __init__(self, enabled: bool = True):
        self._previous = (_GradMode.retain_all, _GradMode.keep_inputs)
        _GradMode.retain_all = _GradMode.keep_inputs = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _GradMode.retain_all, _GradMode.keep_inputs = self._previous
