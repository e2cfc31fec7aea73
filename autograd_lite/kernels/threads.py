"""Threads: our kernels share the cores with BLAS without changing the host program's settings.

Two pools can fight over the cores: Numba's (our parallel kernels) and BLAS's (``np.matmul``).
OpenBLAS's workers spin for a while after every call, so a BLAS product with two threads followed by
a parallel Numba kernel runs three busy threads on two cores (the course CNN step took 44.8 ms
instead of 17.5 ms). Nothing here is process-wide:

* ``one_blas_thread()`` limits BLAS to one thread around one of *our* products and restores the
  count it found (nested and concurrent uses included: the first to enter saves, the last to leave
  restores). The kernels use it only once a Numba kernel has run in the process, so a program that
  only multiplies matrices keeps BLAS on all its threads. It calls the BLAS libraries directly
  (``threadpoolctl``'s controllers, found once): a few microseconds, where
  ``threadpool_limits`` scans the loaded libraries on every use (milliseconds).
* ``kernel_lock`` serialises our parallel kernel launches: Numba's ``workqueue`` threading layer
  (chosen below, and Numba's fallback where no OpenMP or TBB exists) must not be entered by two
  Python threads at once.
* ``serial(size)``: the element-wise and pooling kernels and the bias gradient (one pass over
  memory) run on the calling thread when Numba has one thread or the pass has fewer than
  ``PARALLEL_MIN_SIZE`` elements, over Numba's threads otherwise. A parallel launch in the
  ``workqueue`` layer costs about 12 context switches (the calling thread sleeps while the workers
  wake, poll and sleep again): with one thread that buys nothing (the course CNN step at one
  thread: 5 launches and ~63 switches instead of 15 and ~180); with two, running them serially
  measured 0.95-2.3x the parallel step time on a loaded machine (``benchmarks/README.md``), so
  they stay parallel.
* ``choose_threading_layer()``: Numba's OpenMP layer lets its idle workers spin (GNU OpenMP: about
  300,000 iterations after every parallel region), which with other busy processes on the cores
  multiplies step times (288 ms against 42 ms in the issue's measurement). The ``workqueue`` layer's
  workers sleep on a condition variable. It is chosen only if the program has not chosen a layer
  (``NUMBA_THREADING_LAYER`` or ``numba.config.THREADING_LAYER``) and no Numba parallel region has
  run yet; environment variables such as ``OMP_WAIT_POLICY`` would change every OpenMP library in
  the process and are left alone.
"""
from __future__ import annotations

import threading

PARALLEL_MIN_SIZE = 2 ** 16  # elements from which a memory-bound pass is split across threads
kernel_lock = threading.Lock()

_blas = {"libraries": None, "depth": 0, "saved": None}
_blas_lock = threading.Lock()


def _blas_libraries():
    if _blas["libraries"] is None:
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
                for library, count in zip(_blas["libraries"], _blas["saved"]):
                    if count != 1:
                        library.set_num_threads(count)
        return False


def serial(size) -> bool:
    """True if a memory-bound pass over ``size`` elements should run on the calling thread."""
    if size < PARALLEL_MIN_SIZE:
        return True
    from numba import get_num_threads
    return get_num_threads() == 1


def choose_threading_layer():
    """Select Numba's ``workqueue`` layer unless the program chose one or a layer already runs."""
    import os

    from numba import config
    from numba.np.ufunc import parallel
    if os.environ.get("NUMBA_THREADING_LAYER") or config.THREADING_LAYER != "default":
        return
    if getattr(parallel, "_is_initialized", False):
        return
    config.THREADING_LAYER = "workqueue"
