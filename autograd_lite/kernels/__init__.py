"""Array kernels behind the differentiable ops, and the rule that picks one for each call.

Modules: ``reference`` (plain NumPy version of every kernel: the specification and the ``numpy``
backend), ``simd`` (explicit vectors for Numba), ``gemm`` (packed micro-kernel), ``matmul_numba``,
``conv`` and ``pool`` (Numba kernels), ``memory`` (malloc settings), ``cache``. The functions below are what
the ops call.

Backend: ``AUTOGRAD_LITE_KERNELS=numpy`` forces the NumPy references everywhere (default ``numba``);
``set_backend`` switches at run time. Numba is imported, and each kernel compiled (``cache=True``, so
once per machine, in ``__pycache__``), only when a kernel is first used: ``import autograd_lite``
stays cheap. The cache is dropped whenever any kernel source changes (``cache``).

Dispatch (measured on 2 cores, see ``benchmarks/README.md``):

* convolution and pooling, float32/float64: always the Numba kernel (faster at every size measured);
* ReLU forward and backward (``elementwise``), float32/float64, C-contiguous: the parallel kernel
  from ``ELEMENTWISE_MIN_SIZE`` elements, NumPy below;
* matmul: BLAS (``np.matmul``) unless BLAS has been limited to one thread (below: once a Numba
  kernel has run); then the Numba GEMM on Numba's threads when rows * cols * depth >=
  ``MATMUL_MIN_WORK`` (2^24, 256^3) and rows, cols >= 128, float32/float64. Measured with
  ``benchmarks/bench_matmul.py`` (2 threads): the GEMM is 0.6-0.8x BLAS on 2 threads at every size
  (so a program that only multiplies matrices never loads it), and against one BLAS thread 0.7-0.95x
  at N = 128, 1.1-1.4x at N = 256, 1.4-1.6x from N = 512, 1.0-1.2x on the MLP's and the course
  CNN's dense products (too close to switch for).

Memory: the first kernel call (matmul included, either backend) raises glibc's mmap/trim thresholds
so that large temporaries are reused instead of page-faulting back in every step (``memory``; opt
out with ``AUTOGRAD_LITE_MALLOC_TUNING=0``).

Threads: BLAS and Numba each keep a thread pool whose idle workers spin (OpenBLAS for ~0.1 s after
every call), so alternating them oversubscribes the cores. The first time a Numba kernel runs, BLAS
is limited to one thread (``threadpoolctl``) and Numba's pool does the parallel work; set
``AUTOGRAD_LITE_BLAS_THREADS`` to keep another BLAS thread count.
"""
from __future__ import annotations

import os

import numpy as np

from . import memory, reference

MATMUL_MIN_WORK = 2 ** 24       # rows * cols * depth at which the Numba GEMM overtakes 1-thread BLAS
MATMUL_MIN_SIDE = 128
ELEMENTWISE_MIN_SIZE = 2 ** 16  # elements from which the parallel ReLU kernels beat NumPy

_BACKENDS = ("numba", "numpy")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_state = {"backend": None, "modules": None, "ready": False, "blas_threads": None}


def set_backend(name: str) -> None:
    """``'numba'`` (kernels where they are faster) or ``'numpy'`` (references only)."""
    name = name.lower()
    if name not in _BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}: expected one of {_BACKENDS} "
                         "(from set_backend or AUTOGRAD_LITE_KERNELS)")
    _state["backend"] = name


def get_backend() -> str:
    return _state["backend"]


def _prepare():
    _state["ready"] = True
    memory.keep_large_blocks()


def _numba(dtype):
    """The Numba kernel modules if they should run for this dtype, else None."""
    if not _state["ready"]:
        _prepare()
    if _state["backend"] != "numba" or dtype not in _FLOATS:
        return None
    modules = _state["modules"]
    if modules is None:
        modules = _state["modules"] = _load_numba()
    return modules


def _load_numba():
    from types import SimpleNamespace
    from . import conv, elementwise, matmul_numba, pool
    blas_threads = int(os.environ.get("AUTOGRAD_LITE_BLAS_THREADS", "1"))
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=blas_threads, user_api="blas")
        _state["blas_threads"] = blas_threads
    except ImportError:  # without threadpoolctl BLAS keeps its threads (and may oversubscribe)
        pass
    return SimpleNamespace(conv=conv, elementwise=elementwise, matmul=matmul_numba, pool=pool)


# ----------------------------------------------------------------------------- dispatched kernels
def matmul(a, b):
    if not _state["ready"]:
        _prepare()
    if a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b)
    rows, depth, cols = a.shape[-2], a.shape[-1], b.shape[-1]
    if (_state["blas_threads"] == 1 and rows >= MATMUL_MIN_SIDE and cols >= MATMUL_MIN_SIDE
            and rows * cols * depth >= MATMUL_MIN_WORK and a.dtype == b.dtype):
        kernels = _numba(a.dtype)  # already loaded: BLAS was limited when it was
        if kernels is not None:
            return kernels.matmul.matmul(a, b)
    return np.matmul(a, b)


def conv2d_forward(x, weight, stride, padding, bias=None):
    kernels = _numba(x.dtype)
    if kernels is None:
        return reference.conv2d_forward(x, weight, stride, padding, bias)
    return kernels.conv.conv2d_forward(x, weight, stride, padding, bias)


def conv2d_input_grad(grad, weight, input_shape, stride, padding):
    kernels = _numba(weight.dtype)
    if kernels is None:
        return reference.conv2d_input_grad(grad, weight, input_shape, stride, padding)
    return kernels.conv.conv2d_input_grad(grad, weight, input_shape, stride, padding)


def conv2d_bias_grad(grad):
    kernels = _numba(grad.dtype)
    module = reference if kernels is None else kernels.conv
    return module.conv2d_bias_grad(grad)


def conv2d_weight_grad(x, grad, weight_shape, stride, padding):
    kernels = _numba(x.dtype)
    if kernels is None:
        return reference.conv2d_weight_grad(x, grad, weight_shape, stride, padding)
    return kernels.conv.conv2d_weight_grad(x, grad, weight_shape, stride, padding)


def max_pool2d_forward(x, kernel, stride, padding):
    kernels = _numba(x.dtype)
    module = reference if kernels is None else kernels.pool
    return module.max_pool2d_forward(x, kernel, stride, padding)


def max_pool2d_backward(grad, argmax, input_shape):
    kernels = _numba(grad.dtype)
    module = reference if kernels is None else kernels.pool
    return module.max_pool2d_backward(grad, argmax, input_shape)


def max_pool2d_gather(values, argmax):
    kernels = _numba(values.dtype)
    module = reference if kernels is None else kernels.pool
    return module.max_pool2d_gather(values, argmax)


def avg_pool2d_forward(x, kernel, stride, padding):
    kernels = _numba(x.dtype)
    module = reference if kernels is None else kernels.pool
    return module.avg_pool2d_forward(x, kernel, stride, padding)


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding):
    kernels = _numba(grad.dtype)
    module = reference if kernels is None else kernels.pool
    return module.avg_pool2d_backward(grad, input_shape, kernel, stride, padding)



def _elementwise(array):
    if array.size < ELEMENTWISE_MIN_SIZE or not array.flags.c_contiguous:
        return None
    kernels = _numba(array.dtype)
    return None if kernels is None else kernels.elementwise


def relu_forward(x):
    """(max(x, 0), mask) with the mask not (x <= 0): see ``elementwise``."""
    module = _elementwise(x) or reference
    return module.relu_forward(x)


def mask_select(grad, mask):
    module = (_elementwise(grad) if grad.shape == mask.shape and mask.flags.c_contiguous
              else None) or reference
    return module.mask_select(grad, mask)


set_backend(os.environ.get("AUTOGRAD_LITE_KERNELS", "numba"))
