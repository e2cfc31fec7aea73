"""When the Numba kernels compile, and what runs until they have: a fast first step, a safe cache.

Compiling the kernels of a CNN takes 20-30 s on an idle 2-core machine the first time (afterwards
Numba loads them from its on-disk cache in well under a second). So that a first training step does
not wait for it, ``run`` serves each kernel call in one of these ways:

* the call's kernel is in the cache (compiled by an earlier process, by the helper process below,
  or its module's files are there) or its family (op, dtype) has run here: run the Numba kernel in
  this process (a family's first call, which compiles or loads it, one at a time);
* otherwise the call is sent to a helper process (``python -c ... compiler.child_main()``, started on
  demand, on one thread) that compiles the kernel into the cache by running it once on
  zeros of the same shapes, and ``run`` returns ``None``: the caller runs the NumPy reference. A
  process rather than a thread: compiling is mostly Python and would hold this process's GIL (and
  a crash while reading a damaged cache file stays in the helper). The helper ends when nothing is
  left to compile, and with this process at the latest (``atexit``). One line says that compiling
  is under way (the ``autograd_lite`` logger, level WARNING, once per process).

``AUTOGRAD_LITE_COMPILE=eager`` (or ``set_compile_mode('eager')``) compiles on first use in the
calling thread instead, so that every call of a run takes the same path (reproducible to the last
bit from the first step); ``wait()`` blocks until the helper is done. Without a writable cache
folder there is nothing to share with a helper: kernels compile in this process on first use.

A broken cache never breaks the library: if loading or compiling a kernel raises (a truncated or
corrupted ``.nbi``/``.nbc`` file: ``EOFError``, "Invalid abbrev number", ...), the kernels' cache
files are deleted where that is possible and the kernel is compiled again; if that fails too, it is
compiled in memory with caching off for every kernel; if even that fails, the NumPy references serve
from then on. The first of these says why in one ``RuntimeWarning`` per process (``cache``). Only
errors raised inside Numba, llvmlite or the cache's file handling count: an error raised by the
code around a kernel (a wrong argument) reaches the caller, and the cache is left alone. Damage
that would not raise (bytes flipped inside object code, which can abort the process in LLVM or
run as garbage) is caught earlier, by each file's checksum, before Numba reads it (``cache``).
"""
from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import traceback

import numpy as np

from . import cache, threads

_MODES = ("background", "eager")
MAX_PENDING = 64  # calls queued with the helper at most (more shapes wait on the references)
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_state = {"mode": os.environ.get("AUTOGRAD_LITE_COMPILE", "background").lower(),
          "families": set(), "done": set(), "pending": set(), "helper": None,
          "broken": None, "announced": False, "warm_modules": {}}
_lock = threading.Lock()
_first_call = threading.Lock()  # a family's first call: loading, compiling, recovering the cache
_idle = threading.Condition(_lock)
logger = logging.getLogger("autograd_lite")


def set_compile_mode(mode: str) -> None:
    """``'background'`` (default: NumPy references serve while a helper process compiles) or
    ``'eager'`` (compile on first use, in the calling thread)."""
    mode = mode.lower()
    if mode not in _MODES:
        raise ValueError(f"unknown compile mode {mode!r}: expected one of {_MODES} "
                         "(from set_compile_mode or AUTOGRAD_LITE_COMPILE)")
    _state["mode"] = mode


def wait(timeout=None) -> bool:
    """Block until the helper process has compiled every kernel sent to it; False on timeout."""
    with _idle:
        return _idle.wait_for(lambda: _state["helper"] is None, timeout)


def broken():
    """Why the Numba kernels are not used (a string), or None."""
    return _state["broken"]


def give_up(reason):
    """Use the NumPy references from now on, saying why (once)."""
    if _state["broken"] is None:
        _state["broken"] = reason
        cache.warn_once(f"autograd-lite: {reason}; the NumPy reference kernels are used instead",
                        stacklevel=4)


def ready(family) -> bool:
    """Whether the kernels of ``family`` (op name, dtype) have run here: a call runs them now."""
    return _state["broken"] is None and family in _state["families"]


def run(family, function, args):
    """``function(*args)`` (a Numba kernel module's array function) if it can run now, else None.
    ``family``: (op name, dtype), the unit that compiles once for most shapes."""
    if _state["broken"] is not None:
        return None
    if family in _state["families"]:
        return _call(function, args, first=False)
    job = _job(function, args)
    key = json.dumps(job, default=_plain)
    with _lock:
        if key in _state["pending"]:
            return None
        background = (key not in _state["done"] and _state["mode"] == "background"
                      and cache.cache_folder() is not None and not _module_is_warm(function))
        if background:
            if len(_state["pending"]) < MAX_PENDING:
                _send(key, job)
            return None
    if not _state["announced"] and key not in _state["done"] and not _module_is_warm(function):
        _announce("compiling Numba kernels for this machine (once; cached afterwards)")
    result = _call(function, args, first=True)
    if result is not None:
        _state["families"].add(family)
    return result


def _call(function, args, first):
    """Run; the ``first`` call of a family (the one that compiles or loads it) one at a time, and
    recovering from a broken cache."""
    if not first:
        return function(*args)
    with _first_call, threads.on_this_thread():
        return _compile_safely(function, args)


def _compile_safely(function, args):
    try:
        return function(*args)
    except Exception as first_error:
        if not _raised_while_compiling(first_error):
            raise  # a bug around the kernel (a wrong argument, a failed check): not the cache's
        folder = cache.cache_folder()
        reason = f"{type(first_error).__name__}: {first_error}"
        if folder is not None and cache.drop_kernel_files(folder):
            try:
                result = function(*args)
            except Exception:
                pass
            else:
                cache.warn_once(f"autograd-lite: the Numba cache in {folder} could not be read "
                                f"({reason}); its kernel files were deleted and the kernels "
                                "compiled again", stacklevel=5)
                return result
        cache.disable_caching()
        try:
            result = function(*args)
        except Exception as second_error:
            give_up(f"the Numba kernels cannot be compiled ({reason}; then "
                    f"{type(second_error).__name__}: {second_error})")
            return None
        cache.warn_once(f"autograd-lite: the Numba cache in {folder} could not be used "
                        f"({reason}); the kernels are compiled in memory for this process",
                        stacklevel=5)
        return result


def _raised_while_compiling(error) -> bool:
    """Whether ``error`` was raised inside Numba, llvmlite or the cache's file handling (compiling
    a kernel, or loading or writing its cache files), where recovering is the right answer; an
    error raised by the Python code around a kernel (a call with wrong arguments, an array
    function's own check) or inside a compiled kernel is passed on to the caller instead."""
    roots = [os.path.dirname(cache.__file__) + os.sep + "cache.py"]
    for name in ("numba", "llvmlite"):
        module = sys.modules.get(name)
        if getattr(module, "__file__", None):
            roots.append(os.path.dirname(module.__file__) + os.sep)
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].filename.startswith(tuple(roots))


def _announce(what):
    _state["announced"] = True
    logger.warning("autograd-lite: %s", what)


def _module_is_warm(function):
    """True if the kernel's module has files in a cache stamped for these sources."""
    name = function.__module__.rsplit(".", 1)[-1]
    if name not in _state["warm_modules"]:
        _state["warm_modules"][name] = cache.module_is_cached(name)
    return _state["warm_modules"][name]


# ----------------------------------------------------------------------------- the helper process
def _job(function, args):
    """A call as JSON-able data: the function's module and name, arrays as dtype and shape."""
    described = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            described.append(["array", arg.dtype.str, list(arg.shape)])
        elif isinstance(arg, tuple):
            described.append(["tuple", list(arg)])
        else:
            described.append(["value", arg])
    return [function.__module__, function.__name__, described]


def _plain(value):
    """NumPy scalars (in a stride tuple, say) as Python numbers; anything else by name."""
    return value.item() if isinstance(value, np.generic) else repr(value)


def _arguments(described):
    args = []
    for kind, *rest in described:
        if kind == "array":
            args.append(np.zeros(rest[1], dtype=np.dtype(rest[0])))
        elif kind == "tuple":
            args.append(tuple(rest[0]))
        else:
            args.append(rest[0])
    return args


def _send(key, job):
    """Queue ``job`` with the helper (started if needed); called with ``_lock`` held."""
    helper = _state["helper"]
    if helper is None:
        env = dict(os.environ,
                   PYTHONPATH=os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
        helper = subprocess.Popen(
            [sys.executable, "-c", "from autograd_lite.kernels.compiler import child_main; "
             "child_main()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        _state["helper"] = helper
        threading.Thread(target=_listen, args=(helper,), name="autograd-lite compile helper",
                         daemon=True).start()
        if not _state["announced"]:
            _announce("compiling Numba kernels for this machine in a helper process (once, "
                      "10-30 s; cached afterwards); NumPy kernels serve meanwhile")
    _state["pending"].add(key)
    try:
        helper.stdin.write(key + "\n")
        helper.stdin.flush()
    except OSError:  # the helper died: this call and later ones compile here
        _state["pending"].discard(key)
        _state["done"].add(key)


def _listen(helper):
    """Reader thread (blocked on the pipe, not holding the GIL): mark compiled calls done; close
    the helper's input when nothing is pending, which ends it."""
    for line in helper.stdout:
        with _lock:
            _state["pending"].discard(line.strip())
            _state["done"].add(line.strip())
            if not _state["pending"] and _state["helper"] is helper:
                _finish(helper)
    with _lock:
        if _state["helper"] is helper:  # ended early: what it did not compile compiles here
            _state["done"].update(_state["pending"])
            _state["pending"].clear()
            _finish(helper)
    helper.stdout.close()
    helper.wait()


def _finish(helper):
    try:
        helper.stdin.close()
    except OSError:
        pass
    _state["helper"] = None
    _idle.notify_all()


@atexit.register
def _stop_helper():
    helper = _state["helper"]
    if helper is not None and helper.poll() is None:
        helper.terminate()


def child_main():
    """The helper process: for each job line, compile the kernel by running it on zeros, then
    answer with the same line (done, whether or not it compiled: the parent then tries itself)."""
    threads.set_num_threads(1)  # compiling needs no second thread
    for line in sys.stdin:
        try:
            module, name, described = json.loads(line)
            function = getattr(importlib.import_module(module), name)
            _compile_safely(function, _arguments(described))
        except Exception:
            pass
        sys.stdout.write(line.strip() + "\n")
        sys.stdout.flush()
