"""Array kernels behind the differentiable ops, and the rule that picks one for each call.

Modules: ``reference`` (plain NumPy version of every kernel: the specification and the ``numpy``
backend), ``simd`` (explicit vectors for Numba), ``gemm`` (packed micro-kernel), ``matmul_numba``,
``conv``, ``pool`` and ``elementwise`` (Numba kernels), ``compiler`` (when they compile, and what
serves until then), ``threads`` (our thread pool, which runs them in parallel), ``blas`` (BLAS kept
out of its way, and large products split across it), ``cache`` (Numba's cache files). The
functions below are what the ops call.

Backend: ``AUTOGRAD_LITE_KERNELS=numpy`` forces the NumPy references everywhere (default ``numba``);
``set_backend`` switches at run time. Numba is imported only when a kernel is first used, so
``import autograd_lite`` stays cheap. Kernels are cached on disk (``cache=True``: once per machine);
with an empty cache they compile in a background thread while the NumPy references serve
(``compiler``: the first CNN step does not wait 20 s; ``AUTOGRAD_LITE_COMPILE=eager`` compiles on
first use instead). ``paths()`` says which implementation each op has used so far.

Dispatch (measured on 2 cores, see ``benchmarks/README.md``):

* convolution and pooling, float32/float64: the Numba kernel (faster at every size measured);
* SGD's and Adam's updates (``updates``), float32/float64, once another Numba kernel has been
  loaded (Numba is not imported for them alone): one Numba pass per parameter, bit-identical to
  the references (Adam's NumPy 14 passes: 10 against 24 us at 8,192 elements, 6 against 11 at 64,
  1 thread, Zen 3); SGD's from ``SGD_MIN_SIZE`` elements, split across our threads, and below it
  (or without Numba) BLAS's axpy (``blas.axpy``): both one pass, each element rounded once, as
  PyTorch rounds it (``optimizer_updates`` says what that saved);
* ReLU forward and backward (``elementwise``), float32/float64, C-contiguous: the Numba kernel
  from ``ELEMENTWISE_MIN_SIZE`` elements, NumPy below; the backward into its own gradient where
  the engine allows it (``mask_select(grad, mask, out=grad)``, ``Function.backward_in_place``);
* ``Conv2d -> ReLU -> MaxPool2d`` in an ``nn.Sequential``, at 2 threads or more: one launch cut
  by images instead of three (``chained_conv_relu_pool``, ``chain``), the same bits; and in the
  backward the pooling's scatter writes the gradient only where the ReLU lets it through
  (``max_pool2d_backward_masked``, ``Function.absorbs``), one pass instead of two, at any thread
  count. Course CNN step at batch 64, 2 threads, Intel Xeon (family 6 model 167): 0.95-0.98 of
  the time with the fold, 0.93-0.95 with both. Where the forward chains (2 threads or more,
  convolution outputs of ``chain.MIN_OUTPUT_BYTES`` or more), that scatter also runs image by
  image inside the launch of the gradients of the convolution before the ReLU
  (``pooled_conv2d_grads``, ``launch_groups.prologue``, ``Function.absorbs_below``): one
  hand-over instead of two, and the second layer's scatter, which ran on one thread, is split
  too; the same bits. Session 16, same CPU, in-process interleaved medians against the fold
  alone: batch 64 0.963-0.979, 256 0.989, 1024 0.938 (at batch 8, with it, 1.025-1.051: not
  there);
* matmul: BLAS (``np.matmul``) on all its threads in a program that uses no Numba kernel (the
  optimizer updates do not count: they run between steps, once per parameter, and an MLP that
  only has them keeps its products as they were: with them counted, the MLP step lost 5-10% to
  the thread-count checks). Once another Numba kernel has run, BLAS runs our products on one
  thread (``blas.one_blas_thread``, restored after each call: its spinning workers would
  otherwise compete with our threads), at 2 or more threads only while our workers have run a
  kernel's pieces in the last ``threads.BLAS_HELD_FOR`` seconds (``threads.workers_ran_lately``;
  session 12): a program whose kernels all stay on the calling thread (an MLP's ReLU) keeps
  BLAS's own threads, which beat the split below (Intel Xeon, Sapphire Rapids class, 2 threads,
  in-process interleaved A/B, MLP steps after a CNN had run: 784-512-64-10 at batch 64 1.61 ->
  1.11 ms, 784-2048-64-10 5.09 -> 3.11, 784-128-64-10 at batch 1024 3.80 -> 2.55, at 256 1.37 ->
  0.97, at 64 0.61 -> 0.47; the course CNN, whose convolutions split, unchanged within noise:
  2.58 / 8.23 / 32.1 / 124 -> 2.66 / 8.29 / 30.9 / 122 ms at batch 8 / 64 / 256 / 1024).
  Then, with 2 or more threads, 2-D products with
  rows * cols * depth >= ``BLAS_SPLIT_MIN_WORK`` (2^23) are cut in one part per thread of ours,
  each part a one-thread BLAS call (``blas.split_matmul``; path ``blas_split``): both cores
  work on the wide layers, and no BLAS worker spins afterwards (session 7, Zen 3, 2 threads, MLP
  steps once a Numba kernel has run, ratio to PyTorch without -> with it: 784-2048-64-10 at batch
  64 1.32-1.48 -> 0.99, 784-128-64-10 at batch 1024 1.23-1.24 -> 0.99-1.12, 784-512-64-10 at
  batch 64 1.50-1.64 -> 1.14-1.22; 2^22 instead of 2^23 made no difference beyond the noise).
  The Numba GEMM (``matmul_numba``) is not used for products any more: until session 9 it took
  the large ones on AVX-512 CPUs at 2+ threads, but on an Intel Xeon (Sapphire Rapids class,
  AVX-512), even after its micro-kernel stopped spilling (``gemm``), the split BLAS calls were
  faster in every MLP step measured (2 threads, in-process A/B: 784-128-64-10 at batch 1024
  6.0-6.9 against 7.0-7.5 ms, 784-1024-64-10 at batch 64 3.7-4.8 against 4.5-6.0 ms; its
  transposed operands are packed, OpenBLAS's are not). With AVX2 it never won (session 6, Zen 3:
  0.55x one BLAS thread at 256^3). It stays as a kernel (``benchmarks/bench_matmul.py``).
* a 2-D float product with depth 1 (an outer product: a linear layer's weight gradient at batch
  1, g^T x; path ``outer``) is never OpenBLAS's depth-1 GEMM, which took 164 us for (128, 1) @
  (1, 784) on Zen 3 (105 on an Intel Xeon, family 6 model 167) against 13 for PyTorch. Below
  ``OUTER_GEMM_MIN_SIZE`` result elements it is ``np.multiply(a, b)``; from there the same
  product at depth 2, a zero column and row added (``_depth_two``), which OpenBLAS's GEMM
  kernels run: (128, 1) @ (1, 784) on that Xeon, 1 thread, 30 us as a broadcast multiply and
  7.5 as a depth-2 GEMM (the MLP step at batch 1 spent a sixth of its time in the multiply).
  Each element is the one product either way (plus 0 * 0).

Threads: the kernels run in parallel on our own small pool (``threads.parallel_for``; workers that
sleep when idle, pieces claimed by whichever thread is free), never on Numba's parallel runtime,
whose threading layer is process-wide. Their count is ``threads.set_num_threads``
(``ag.set_num_threads``, PyTorch's name; default: the cores this process may use). Whether a
launch goes to the workers at all is measured per launch shape (``launch_timing``): short kernels
ran faster on the calling thread alone, with the same results either way.

Nothing global changes: NumPy's BLAS thread count, the C library's malloc settings and Numba's
threading layer are the same after training as before (tests/test_host_safety.py,
tests/test_kernel_threads.py).
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

from . import blas, chain, compiler, launch_groups, reference, threads
from .compiler import set_compile_mode, wait  # noqa: F401  (public)

BLAS_SPLIT_MIN_WORK = 2 ** 23   # rows * cols * depth from which one-thread BLAS runs on each of
                                # our threads, on a part of the product (``blas.split_matmul``)
ELEMENTWISE_MIN_SIZE = 2 ** 16  # elements from which the parallel ReLU kernels beat NumPy
OUTER_GEMM_MIN_SIZE = 2 ** 13   # result elements from which a depth-1 product is a depth-2 GEMM

_BACKENDS = ("numba", "numpy")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_state = {"backend": None, "modules": None, "numba_ran": False}
_paths = {}


def set_backend(name: str) -> None:
    """``'numba'`` (kernels where they are faster) or ``'numpy'`` (references only)."""
    name = name.lower()
    if name not in _BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}: expected one of {_BACKENDS} "
                         "(from set_backend or AUTOGRAD_LITE_KERNELS)")
    _state["backend"] = name


def get_backend() -> str:
    return _state["backend"]


def paths() -> dict:
    """``{op: {"numba": calls, "numpy": calls}}`` for every op dispatched so far (benchmarks print
    it, so a figure says which kernels produced it); matmul adds ``"blas_split"`` (see below),
    sgd_update ``"blas"`` (BLAS's axpy)."""
    return {op: dict(counts) for op, counts in _paths.items()}


def _count(op, path):
    counts = _paths.get(op)
    if counts is None:
        counts = _paths[op] = {"numba": 0, "numpy": 0}
    counts[path] = counts.get(path, 0) + 1


def _modules():
    modules = _state["modules"]
    if modules is None:
        from types import SimpleNamespace
        from . import conv, elementwise, pool, updates
        modules = _state["modules"] = SimpleNamespace(conv=conv, elementwise=elementwise,
                                                      pool=pool, updates=updates)
    return modules


def _dispatch(op, dtype, module_name, args, marks=True):
    """The Numba kernel ``module_name.op(*args)`` if it may and can run now, else the reference.
    ``marks``: the kernel counts as "a Numba kernel has run" (the matmul rule below)."""
    if _state["backend"] == "numba" and dtype in _FLOATS:
        try:
            function = getattr(getattr(_modules(), module_name), op)
        except ImportError as error:  # Numba missing or broken: say so once, use NumPy
            compiler.give_up(f"Numba cannot be imported ({error})")
        else:
            result = compiler.run((op, dtype), function, args)
            if result is not None:
                _state["numba_ran"] = _state["numba_ran"] or marks
                _count(op, "numba")
                return result
    _count(op, "numpy")
    return getattr(reference, op)(*args)


# ----------------------------------------------------------------------------- dispatched kernels
def matmul(a, b):
    if (a.ndim == 2 and b.ndim == 2 and a.shape[1] == 1 and b.shape[0] == 1
            and a.dtype == b.dtype and a.dtype in _FLOATS):  # depth 1: see the module docstring
        _count("matmul", "outer")
        if a.shape[0] * b.shape[1] < OUTER_GEMM_MIN_SIZE:
            return np.multiply(a, b)
        a, b = _depth_two(a, b)  # then the product as any other
    if not _state["numba_ran"] or (threads.get_num_threads() >= 2
                                   and not threads.workers_ran_lately()):
        return np.matmul(a, b)  # BLAS's own threads: none of our kernels splits beside them
    with blas.one_blas_thread():
        if (a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOATS
                and a.shape[0] * a.shape[1] * b.shape[1] >= BLAS_SPLIT_MIN_WORK
                and threads.get_num_threads() >= 2):
            _count("matmul", "blas_split")
            return blas.split_matmul(a, b)
        return np.matmul(a, b)


def _depth_two(a, b):
    """(n, 1) and (1, m) as (n, 2) and (2, m) operands whose second column and row are zeros:
    their product is the outer product, element (i, j) = a[i, 0] b[0, j] + 0 * 0, np.matmul's
    value to the bit (NaN and inf included: 0 * 0 is never inf * 0; a zero product is +0.0, as
    BLAS's sum from 0 gives it, where the broadcast multiply keeps -0.0), from the GEMM kernels
    OpenBLAS keeps for depths above 1 (see the module docstring)."""
    left = np.zeros((2, a.shape[0]), a.dtype)
    left[0] = a[:, 0]
    right = np.zeros((2, b.shape[1]), b.dtype)
    right[0] = b[0]
    return left.T, right


def conv2d_forward(x, weight, stride, padding, bias=None):
    pooling = getattr(_chain_here, "request", None)
    if pooling is not None:  # inside chained_conv_relu_pool: this is the convolution it chains
        _chain_here.request = None
        return _chained(x, weight, stride, padding, bias, pooling)
    return _dispatch("conv2d_forward", x.dtype, "conv", (x, weight, stride, padding, bias))


# ----------------------------------------------------------------------------- Conv2d -> ReLU -> MaxPool2d
_chain_here = threading.local()  # .request: the pooling to chain; .ready: outputs not yet taken


class chained_conv_relu_pool:
    """``with chained_conv_relu_pool(kernel, stride, padding): pool(relu(conv(x)))``: the first
    ``conv2d_forward`` inside also runs the ReLU and the max pooling (of that geometry) that
    follow it, in one launch cut by images (``chain``), when that pays (2 threads or more,
    outputs of ``chain.MIN_OUTPUT_BYTES`` or more, the three ops' Numba kernels loaded by an
    earlier call); ``relu_forward`` and ``max_pool2d_forward`` then hand back those
    outputs for the very arrays they were computed from, and compute as usual otherwise (another
    array, another geometry: the result never depends on the chaining, only the time). Whatever
    was not taken is dropped when the block ends. ``nn.Sequential`` uses it for its
    ``Conv2d, ReLU, MaxPool2d`` runs. Per thread."""

    def __init__(self, kernel, stride, padding):
        self.pooling = (tuple(kernel), tuple(stride), tuple(padding))

    def __enter__(self):
        self._outer = (getattr(_chain_here, "request", None), getattr(_chain_here, "ready", None))
        _chain_here.request, _chain_here.ready = self.pooling, None
        return self

    def __exit__(self, *exc):
        if self._outer == (None, None):
            _chain_here.__dict__.clear()  # (empty: the other kernels skip the lookup)
        else:
            _chain_here.request, _chain_here.ready = self._outer
        return False


def _chained(x, weight, stride, padding, bias, pooling):
    """``conv2d_forward`` with the ReLU and pooling after it (``chained_conv_relu_pool``)."""
    with launch_groups.captured_launches() as conv_launches:
        out = _dispatch("conv2d_forward", x.dtype, "conv", (x, weight, stride, padding, bias))
    if not (conv_launches and launch_groups.cut_by_images(*conv_launches[-1][1:5])
            and _pooling_fits(out.shape, pooling)
            and chain.worth_chaining(out.shape[0], out.nbytes)):
        launch_groups.run_captured(conv_launches)  # as it would have run (none: the reference
        return out                                 # computed it)
    launch_groups.run_captured(conv_launches[:-1])  # what the convolution's launch reads (padding)
    conv_launches = conv_launches[-1:]
    if not (_state["backend"] == "numba" and out.size >= ELEMENTWISE_MIN_SIZE
            and compiler.ready(("relu_forward", out.dtype))
            and compiler.ready(("max_pool2d_forward", out.dtype))):
        launch_groups.run_captured(conv_launches)  # (first steps: their kernels load)
        return out
    with launch_groups.captured_launches() as relu_launches:  # out is not written yet: only
        relu_out, mask = relu_forward(out)                     # launches that wait may be kept
    with launch_groups.captured_launches() as pool_launches:
        pooled, argmax = _dispatch("max_pool2d_forward", relu_out.dtype, "pool",
                                   (relu_out, *pooling))
    if len(relu_launches) != 1 or len(pool_launches) != 1:  # (not expected: the ReLU or pooling
        launch_groups.run_captured(conv_launches)          # ran otherwise; their ops compute)
        return out
    chain.run(conv_launches[0], relu_launches[0], pool_launches[0], out, pooled)
    _count("conv2d_relu_max_pool2d", "numba")
    _chain_here.ready = {id(out): (out, relu_out, mask),
                         id(relu_out): (relu_out, pooling, pooled, argmax)}
    return out


def _pooling_fits(shape, pooling) -> bool:
    """Whether that max pooling of an output of ``shape`` has windows (else its op raises, and
    the chain leaves it to the op: its kernel must not run on windows that miss the input)."""
    (kernel_h, kernel_w), (stride_h, stride_w), (pad_h, pad_w) = pooling
    return (len(shape) == 4 and min(kernel_h, kernel_w, stride_h, stride_w) >= 1
            and 0 <= pad_h <= kernel_h // 2 and 0 <= pad_w <= kernel_w // 2
            and shape[2] + 2 * pad_h >= kernel_h and shape[3] + 2 * pad_w >= kernel_w)


def _chained_output(x, *key):
    """What the chain computed from the array ``x`` (with ``key``: for that pooling), or None."""
    ready = getattr(_chain_here, "ready", None)
    entry = ready.pop(id(x), None) if ready else None
    if entry is None or entry[0] is not x or entry[1:1 + len(key)] != key:
        return None
    return entry[1 + len(key):]


def conv2d_input_grad(grad, weight, input_shape, stride, padding):
    return _dispatch("conv2d_input_grad", weight.dtype, "conv",
                     (grad, weight, tuple(input_shape), stride, padding))


def conv2d_bias_grad(grad):
    return _dispatch("conv2d_bias_grad", grad.dtype, "conv", (grad,))


def conv2d_weight_grad(x, grad, weight_shape, stride, padding, with_bias=False):
    """dW, or with ``with_bias`` (dW, db) from one pass over ``grad``."""
    return _dispatch("conv2d_weight_grad", x.dtype, "conv",
                     (x, grad, tuple(weight_shape), stride, padding, with_bias))


def conv2d_grads(x, grad, weight, stride, padding, needs):
    """(dx, dW, db) of a convolution, each None where ``needs`` (three bools) says so. With dW:
    ``conv2d_weight_grad`` sums db in its own pass, and dx's launch is held for dW's and joined
    with it (``launch_groups.joined_launches``): the same results, one hand-over to the workers
    instead of two. Without dW: ``conv2d_input_grad`` and ``conv2d_bias_grad`` on their own."""
    need_x, need_w, need_b = needs
    dx = dw = db = None
    with launch_groups.joined_launches() as joined:
        if need_x:
            with joined.holding():  # dx's launch waits for dW's; dx is complete after the block
                dx = conv2d_input_grad(grad, weight, x.shape, stride, padding)
        if need_w:
            dw = conv2d_weight_grad(x, grad, weight.shape, stride, padding, need_b)
            if need_b:
                dw, db = dw
    if need_b and not need_w:
        db = conv2d_bias_grad(grad)
    return dx, dw, db


def max_pool2d_forward(x, kernel, stride, padding):
    if _chain_here.__dict__:  # (only inside chained_conv_relu_pool)
        chained = _chained_output(x, (tuple(kernel), tuple(stride), tuple(padding)))
        if chained is not None:  # (counted as the chain captured its launch: numba)
            return chained
    return _dispatch("max_pool2d_forward", x.dtype, "pool", (x, kernel, stride, padding))


def _plane_indices(argmax):
    """The Numba kernels' argmax dtype (int32; the reference's is int64): a forward served by the
    reference and a backward by Numba then share one compiled kernel."""
    return argmax.astype(np.int32) if argmax.dtype == np.int64 else argmax


def max_pool2d_backward(grad, argmax, input_shape):
    return _dispatch("max_pool2d_backward", grad.dtype, "pool",
                     (grad, _plane_indices(argmax), tuple(input_shape)))


def max_pool2d_backward_masked(grad, argmax, input_shape, mask):
    """``max_pool2d_backward`` then ``mask_select`` by ``mask`` (a ReLU's), in one pass."""
    input_shape = tuple(input_shape)
    if mask.dtype != np.bool_ or mask.shape != input_shape or not mask.flags.c_contiguous:
        _count("max_pool2d_backward_masked", "numpy")
        return reference.max_pool2d_backward_masked(grad, argmax, input_shape, mask)
    return _dispatch("max_pool2d_backward_masked", grad.dtype, "pool",
                     (grad, _plane_indices(argmax), input_shape, mask))


def pooled_conv2d_grads(x, weight, stride, padding, needs, grad, argmax, mask):
    """A convolution's gradients when a max pooling follows its ReLU (``Function.absorbs``): the
    gradient of its output, ``max_pool2d_backward_masked(grad, argmax, mask.shape, mask)``, then
    ``conv2d_grads(x, that, weight, stride, padding, needs)``: (that, dx, dW, db). Where the
    forward chains (``chain.worth_chaining``) and these kernels have loaded, the scatter runs
    inside the convolution's first launch, image by image (``launch_groups.prologue``): the same
    kernel calls on the same images, so the same bits, with one hand-over instead of two."""
    input_shape, dtype = tuple(mask.shape), grad.dtype
    convolution_ops = [op for op, needed in (("conv2d_input_grad", needs[0]), (
        "conv2d_weight_grad", needs[1]), ("conv2d_bias_grad", needs[2] and not needs[1])) if needed]
    joins = (_state["backend"] == "numba" and len(input_shape) == 4 and dtype in _FLOATS
             and x.dtype == weight.dtype == dtype
             and chain.worth_chaining(input_shape[0], mask.size * dtype.itemsize)
             and all(compiler.ready((op, dtype))
                     for op in ["max_pool2d_backward_masked"] + convolution_ops))
    with launch_groups.captured_launches() if joins else contextlib.nullcontext(()) as launches:
        output_grad = max_pool2d_backward_masked(grad, argmax, input_shape, mask)
    if launches and (len(launches) != 1 or launches[0][1] != input_shape[0] * input_shape[1]):
        launch_groups.run_captured(launches)  # (not expected: the scatter ran otherwise)
        launches = ()
    if not launches:
        return (output_grad,) + conv2d_grads(x, output_grad, weight, stride, padding, needs)
    with launch_groups.prologue(launches[0], input_shape[0], input_shape[1], output_grad):
        grads = conv2d_grads(x, output_grad, weight, stride, padding, needs)
    _count("pooled_conv2d_grads", "numba")
    return (output_grad,) + grads


def max_pool2d_gather(values, argmax):
    return _dispatch("max_pool2d_gather", values.dtype, "pool", (values, _plane_indices(argmax)))


def avg_pool2d_forward(x, kernel, stride, padding):
    return _dispatch("avg_pool2d_forward", x.dtype, "pool", (x, kernel, stride, padding))


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding):
    return _dispatch("avg_pool2d_backward", grad.dtype, "pool",
                     (grad, tuple(input_shape), kernel, stride, padding))


def relu_forward(x):
    """(max(x, 0), mask) with the mask not (x <= 0): see ``elementwise``."""
    if _chain_here.__dict__:  # (only inside chained_conv_relu_pool)
        chained = _chained_output(x)
        if chained is not None:  # (counted as the chain captured its launch: numba)
            return chained
    if x.size < ELEMENTWISE_MIN_SIZE or not x.flags.c_contiguous:
        _count("relu_forward", "numpy")
        return reference.relu_forward(x)
    return _dispatch("relu_forward", x.dtype, "elementwise", (x,))


def mask_select(grad, mask, out=None):
    """grad where mask else 0, into ``out`` (None: a new array; ``grad``: in place)."""
    op = "mask_select_in_place" if out is grad else "mask_select"
    if (grad.size < ELEMENTWISE_MIN_SIZE or grad.shape != mask.shape
            or not (grad.flags.c_contiguous and mask.flags.c_contiguous)
            or not (out is None or out is grad)):
        _count(op, "numpy")
        return reference.mask_select(grad, mask, out)
    return _dispatch(op, grad.dtype, "elementwise", (grad, mask))


set_backend(os.environ.get("AUTOGRAD_LITE_KERNELS", "numba"))

# the optimizers' updates and their dispatch (it uses _dispatch and _count above)
from .optimizer_updates import (SGD_MIN_SIZE, adam_update, add_scaled, axpy,  # noqa: E402,F401
                                sgd_update)
