"""BLAS kept out of the way of our thread pool (``threads``), and large products split across it.

Nothing here is process-wide: BLAS's thread count is lowered only around our own products and
restored after each.

* ``one_blas_thread()`` limits BLAS to one thread around one of *our* products and restores the
  count it found (nested and concurrent uses included: the first to enter saves, the last to leave
  restores). OpenBLAS's workers spin for a while after every call: a 2-thread BLAS product followed
  by a parallel kernel ran three busy threads on two cores (the course CNN step took 44.8 ms
  instead of 17.5 ms). The kernels use it only once a Numba kernel has run in the process, so a
  program that only multiplies matrices keeps BLAS on all its threads, and with 2 or more threads
  only while our workers have run a kernel's pieces lately (``threads.workers_ran_lately``), so
  a program whose kernels all run on the calling thread does too. It calls the BLAS libraries
  directly (``threadpoolctl``'s controllers, found again only after an import: a BLAS can only
  arrive with one, as SciPy's own OpenBLAS does): a few microseconds, where
  ``threadpool_limits`` scans the loaded libraries on every use (milliseconds).
* ``axpy(alpha, x, y)``: ``y += alpha x`` in one pass, each element rounded once (SGD's update).
* ``split_matmul(a, b)``: a large product inside ``one_blas_thread`` on all our threads anyway,
  one BLAS call per thread on its part of the result (NumPy releases the GIL inside BLAS), so the
  wide layers of an MLP still use every core once a Numba kernel has run.
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

from . import threads


def split_matmul(a, b):
    """``np.matmul(a, b)`` for 2-D float arrays on our threads: the longer side of the result
    (rows of a, or columns of b) cut into one part per thread, each part one BLAS call on the
    thread that runs it (NumPy releases the GIL inside BLAS; call it with BLAS on one thread,
    ``one_blas_thread``). Our workers sleep when done, where BLAS's own would spin on a core that
    our next kernel needs (see the module docstring). One plain call if BLAS's threads cannot be
    limited (``threadpoolctl`` does not know it).

        rows >= cols:  out[s:e, :] = a[s:e, :] @ b        for each thread's rows s:e
        else:          out[:, s:e] = a @ b[:, s:e]        for each thread's columns s:e
    """
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    if not _blas_libraries():  # a BLAS we cannot hold to one thread: its own threads, once
        return np.matmul(a, b, out=out)
    if a.shape[0] >= b.shape[1]:
        threads.parallel_for(_rows_of_product, a.shape[0], a, b, out, holds_blas=False)
    else:
        threads.parallel_for(_columns_of_product, b.shape[1], a, b, out, holds_blas=False)
    return out


def _rows_of_product(a, b, out, start, stop):
    np.matmul(a[start:stop], b, out=out[start:stop])


def _columns_of_product(a, b, out, start, stop):
    np.matmul(a, b[:, start:stop], out=out[:, start:stop])


AXPY_PIECE = 10_000  # elements: OpenBLAS runs an axpy of up to this length on the calling thread


def axpy(alpha, x, y):
    """``y += alpha x`` in place, one pass, each element rounded once: BLAS's axpy (a fused
    multiply-add; PyTorch's ``y.add_(x, alpha=alpha)`` gives the same bits, ``alpha`` rounded to
    y's dtype). For C-contiguous float32 or float64 arrays of one shape and dtype; returns False,
    y untouched, for anything else (the caller computes it otherwise).

        for each i:  y[i] = fma(alpha, x[i], y[i])

    The BLAS is SciPy's (its own OpenBLAS beside NumPy's, loaded on the first call as any
    ``import scipy.linalg`` loads it, with its pool of sleeping threads), called on pieces of
    ``AXPY_PIECE`` elements, which never wake that pool: a longer axpy it splits across its
    threads, which then spin on the cores that the next product or kernel needs, and holding it
    to one thread around the call (``one_blas_thread``) cost the MLP's SGD step 16 us of its 36
    (Intel Xeon, 1 thread), a call per piece about 0.3 us."""
    if not _axpy_functions:  # (the first call)
        _load_axpy()
    function = _axpy_functions.get(y.dtype)
    if (function is None or x.shape != y.shape or x.dtype != y.dtype
            or type(y) is not np.ndarray or type(x) is not np.ndarray):
        return False
    flags = y.flags
    if not (flags.c_contiguous and flags.writeable and x.flags.c_contiguous):
        return False
    if y.ndim != 1:
        x, y = x.reshape(-1), y.reshape(-1)
    size = y.size
    if size == 0:  # (BLAS's wrapper refuses empty vectors: nothing to do)
        return True
    if size <= AXPY_PIECE:  # (the common case, one call)
        pieces = ((x, y),)
    else:
        pieces = [(x[start:start + AXPY_PIECE], y[start:start + AXPY_PIECE])
                  for start in range(0, size, AXPY_PIECE)]
    for x_piece, y_piece in pieces:
        if function(x_piece, y_piece, a=alpha) is not y_piece:
            raise RuntimeError("SciPy's axpy returned a copy instead of updating in place")
    return True


_axpy_functions = {}  # dtype -> SciPy's axpy for it


def _load_axpy():
    try:
        from scipy.linalg.blas import daxpy, saxpy
    except Exception:  # no SciPy BLAS: the callers' NumPy formulas
        _axpy_functions[None] = None  # (tried once)
        return
    _axpy_functions.update({np.dtype(np.float32): saxpy, np.dtype(np.float64): daxpy})


_blas = {"libraries": None, "modules": 0, "depth": 0, "saved": None}
_blas_lock = threading.Lock()


def _blas_libraries():
    modules = len(sys.modules)  # (a new BLAS comes with a new module)
    if _blas["libraries"] is None or _blas["modules"] != modules:
        _blas["modules"] = modules
        try:
            from threadpoolctl import ThreadpoolController
            _blas["libraries"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave BLAS alone
            _blas["libraries"] = []
    return _blas["libraries"]


class one_blas_thread:
    """``with one_blas_thread(): np.matmul(...)``: BLAS on one thread inside, as found outside."""

    def __enter__(self):
        with _blas_lock:
            if _blas["depth"] == 0:
                libraries = _blas_libraries()
                _blas["saved"] = [library.get_num_threads() for library in libraries]
                for library, count in zip(libraries, _blas["saved"]):
                    if count != 1:
                        library.set_num_threads(1)
            _blas["depth"] += 1
        return self

    def __exit__(self, *exc):
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                _restore_blas()
        return False


def _restore_blas():
    for library, count in zip(_blas["libraries"], _blas["saved"]):
        if count != 1:
            library.set_num_threads(count)


def _after_fork_in_child():
    """Only the forking thread lives on in a child: a lock another thread held would stay held.
    Start afresh; undo a BLAS limit that a thread of the parent had set and cannot lift here."""
    global _blas_lock
    _blas_lock = threading.Lock()
    if _blas["depth"]:
        _blas["depth"] = 0
        try:
            _restore_blas()
        except Exception:  # BLAS's own fork handling refused: it keeps one thread
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
