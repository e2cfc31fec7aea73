"""Explicit SIMD vectors for Numba kernels: a vector register as a value.

LLVM's auto-vectoriser does not keep a GEMM micro-kernel's accumulators in vector registers (it
unrolls them into scalars), so the matmul kernel spells its vectors out. A ``Vector`` is one
register of the CPU Numba compiles for: ``REGISTER_BYTES`` is 64 where it has AVX-512 (16 float32 or
8 float64 per vector, 32 registers) and 32 elsewhere (AVX2's 8 float32 or 4 float64, 16 registers).
With 64-byte vectors on an AVX2 CPU, LLVM would split each one into two registers and the
micro-kernel's 16 accumulators would need 32: most of them would live on the stack (measured on a
Zen 3: a load and a store around every FMA, a third of the CPU's speed). ``SPLIT_TILE`` tells the
micro-kernel that 16 registers cannot hold a whole tile's accumulators (``gemm.micro_kernel``).
``AUTOGRAD_LITE_VECTOR_BYTES=32|64`` overrides the choice (tests run both paths on any CPU).

Operations: LLVM intrinsics when Numba compiles, and plain Python on NumPy arrays of length ``lanes``
under ``NUMBA_DISABLE_JIT=1`` (so the kernels still run, slowly, as ordinary Python):

    load(array, i)          array[i : i + lanes]              (1-D contiguous array)
    store(array, i, v)      array[i : i + lanes] = v          (float or int32 array and vector)
    broadcast(array, i)     [array[i]] * lanes
    zeros_like(array)       [0] * lanes, of the array's dtype
    fma(a, b, c)            a * b + c                         (one fused multiply-add: rounded
                            once; also on three scalars of one float type; rounded twice
                            under NUMBA_DISABLE_JIT)
    add(a, b)               a + b                             (int32 vectors too: wrapping)
    maximum(a, b)           np.maximum(a, b): NaN in either lane wins
    sub(a, b), mul(a, b), div(a, b), sqrt(a)   a - b, a * b, a / b, sqrt(a): each rounded once,
                            as the scalar operation (IEEE 754), so a vector loop gives the bits of
                            the scalar one
    barrier()               nothing (to LLVM: no memory access moves across this point)
    hold(a, b)              (a, b) (to LLVM: both vectors are computed here, before this point,
                            and no memory access moves across it)
    vector_lanes(array)     lanes(array.dtype), a constant to LLVM (``lanes_of``: read at run time)
    prefetch(array, i)      nothing (to the CPU: fetch array[i]'s cache line now; never faults)

Masks, selects, int32 index vectors and deinterleaving loads (the vector max pool's) are in
``simd_masks``, built on the type and helpers here.
"""
from __future__ import annotations

import os

import numpy as np
from llvmlite import binding, ir
from numba.core import cgutils, config, types
from numba.extending import intrinsic, models, register_model

from .cache import drop_stale_cache, njit



def _register_bytes() -> int:
    """64 if the CPU Numba compiles for has AVX-512F, else 32 (see the module docstring)."""
    forced = os.environ.get("AUTOGRAD_LITE_VECTOR_BYTES")
    if forced:
        if forced not in ("32", "64"):
            raise ValueError(f"AUTOGRAD_LITE_VECTOR_BYTES must be 32 or 64, not {forced!r}")
        return int(forced)
    if config.CPU_FEATURES is not None:   # NUMBA_CPU_FEATURES: what Numba compiles for
        return 64 if "+avx512f" in config.CPU_FEATURES.split(",") else 32
    if config.CPU_NAME not in (None, "host"):  # a named CPU without its features: play safe
        return 32
    return 64 if binding.get_host_cpu_features().get("avx512f", False) else 32


REGISTER_BYTES = _register_bytes()
SPLIT_TILE = REGISTER_BYTES < 64


def lanes(dtype) -> int:
    """Numbers per vector for a NumPy dtype (float32: 16 with AVX-512, 8 with AVX2)."""
    return REGISTER_BYTES // np.dtype(dtype).itemsize


@njit(cache=True)
def lanes_of(array):
    """``lanes(array.dtype)``, callable inside kernels."""
    return REGISTER_BYTES // array.itemsize


def vector_lanes(array):
    """``lanes(array.dtype)`` as a constant of the compiled kernel (the intrinsic below). Numba
    reads ``array.itemsize`` from the array at run time, so a loop stepping by ``lanes_of`` has a
    step unknown to LLVM: unrolled, each copy of each load got its own pointer, more than the
    CPU's 16 general registers (``conv_weight_shallow``'s loop reloaded them from the stack)."""
    return lanes(array.dtype)


_folder = getattr(getattr(lanes_of, "_cache", None), "_cache_path", None)
if _folder and not config.DISABLE_JIT:  # the kernels' cache folder is this cached function's
    drop_stale_cache(_folder, f"vector bytes {REGISTER_BYTES}")


# ----------------------------------------------------------------------------- pure-Python meaning
def load(array, index):
    return array[index:index + lanes(array.dtype)].copy()


def store(array, index, vector):
    array[index:index + vector.size] = vector


def broadcast(array, index):
    return np.full(lanes(array.dtype), array[index], dtype=array.dtype)


def zeros_like(array):
    return np.zeros(lanes(array.dtype), dtype=array.dtype)


def fma(a, b, c):
    return a * b + c


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def sqrt(a):
    return np.sqrt(a)


def maximum(a, b):
    return np.maximum(a, b)


def splat(value, like):
    """[value] * lanes in ``like``'s dtype (``like``: an array)."""
    return np.full(lanes(like.dtype), value, dtype=like.dtype)


def barrier():
    return None


def prefetch(array, index):
    return None


def hold(a, b):
    return a, b


# ----------------------------------------------------------------------------- the Numba type
class Vector(types.Type):
    """Numba type of an LLVM vector ``<lanes x dtype>``: by default one register of ``dtype``;
    masks (``types.boolean``: ``<lanes x i1>``) and int32 indices take the lanes of the float
    vectors they go with."""

    def __init__(self, dtype, lanes=None):
        self.dtype = dtype
        self.lanes = lanes or REGISTER_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vector({dtype}x{self.lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _element_pointer(context, builder, array_type, array, index, index_type):
    """Address of array[index] for a 1-D contiguous array (no bounds check, like the kernels)."""
    ary = context.make_array(array_type)(context, builder, array)
    index = context.cast(builder, index, index_type, types.intp)
    return builder.gep(ary.data, [index])


def load_vector(context, builder, signature, args, vector_type):
    """Codegen of an unaligned load of ``vector_type`` (an LLVM vector) at array[index], for an
    intrinsic called as (array, index)."""
    pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1],
                               signature.args[1])
    return builder.load(builder.bitcast(pointer, vector_type.as_pointer()),
                        align=signature.args[0].dtype.bitwidth // 8)


def _check_array(array, dtypes=(types.float32, types.float64)):
    return isinstance(array, types.Array) and array.ndim == 1 and array.dtype in dtypes


@intrinsic
def _load(typingctx, array, index):
    if not _check_array(array):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        return load_vector(context, builder, signature, args, context.get_value_type(vector))
    return vector(array, index), codegen


@intrinsic
def _store(typingctx, array, index, value):
    if (not _check_array(array, (types.float32, types.float64, types.int32))
            or not isinstance(value, Vector) or value.dtype != array.dtype):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1],
                                   signature.args[1])
        vector_type = context.get_value_type(value)
        builder.store(args[2], builder.bitcast(pointer, vector_type.as_pointer()),
                      align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


@intrinsic
def _broadcast(typingctx, array, index):
    if not _check_array(array):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1],
                                   signature.args[1])
        return _splat_value(context, builder, vector, builder.load(pointer))
    return vector(array, index), codegen


def _splat_value(context, builder, vector, scalar):
    """The vector with ``scalar`` in every lane (insert into lane 0, shuffle with a zero mask)."""
    vector_type = context.get_value_type(vector)
    single = builder.insert_element(ir.Constant(vector_type, ir.Undefined), scalar,
                                    ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes), None)  # all zeros
    return builder.shuffle_vector(single, ir.Constant(vector_type, ir.Undefined), mask)


@intrinsic
def _zeros_like(typingctx, array):
    if not _check_array(array):
        return None
    vector = Vector(array.dtype)

    def codegen(context, builder, signature, args):
        return ir.Constant(context.get_value_type(vector), None)
    return vector(array), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    if isinstance(a, Vector) and a == b == c:
        suffix = f"v{a.lanes}f{a.dtype.bitwidth}"
    elif isinstance(a, types.Float) and a == b == c:  # one element (a loop's last ones)
        suffix = f"f{a.bitwidth}"
    else:
        return None

    def codegen(context, builder, signature, args):
        value_type = context.get_value_type(a)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(value_type, [value_type] * 3), f"llvm.fma.{suffix}")
        return builder.call(function, args)
    return a(a, b, c), codegen


@intrinsic
def _add(typingctx, a, b):
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        if isinstance(a.dtype, types.Integer):
            return builder.add(*args)
        return builder.fadd(*args)
    return a(a, b), codegen


def _binary(instruction):
    @intrinsic
    def operation(typingctx, a, b):
        if not (isinstance(a, Vector) and a == b):
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, instruction)(*args)
        return a(a, b), codegen
    return operation


_sub, _mul, _div = _binary("fsub"), _binary("fmul"), _binary("fdiv")


@intrinsic
def _maximum(typingctx, a, b):
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        first, second = args
        wins = builder.or_(builder.fcmp_ordered(">", first, second),
                           builder.fcmp_unordered("uno", first, first))  # a larger, or a NaN
        return builder.select(wins, first, second)
    return a(a, b), codegen


@intrinsic
def _sqrt(typingctx, a):
    if not isinstance(a, Vector):
        return None

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(a)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vector_type, [vector_type]),
            f"llvm.sqrt.v{a.lanes}f{a.dtype.bitwidth}")
        return builder.call(function, args)
    return a(a), codegen


@intrinsic
def _splat(typingctx, value, like):
    if not (_check_array(like) and isinstance(value, types.Float) and value == like.dtype):
        return None
    vector = Vector(like.dtype)

    def codegen(context, builder, signature, args):
        return _splat_value(context, builder, vector, args[0])
    return vector(value, like), codegen


@intrinsic
def _vector_lanes(typingctx, array):
    if not _check_array(array):
        return None
    count = Vector(array.dtype).lanes

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, count)
    return types.intp(array), codegen


# the intrinsic's name carries its pointer type: opaque "p0" from LLVM 15 on, "p0i8" before
_PREFETCH = "llvm.prefetch.p0" if binding.llvm_version_info[0] >= 15 else "llvm.prefetch.p0i8"


@intrinsic
def _prefetch(typingctx, array, index):
    """``llvm.prefetch`` of array[index]'s cache line into L1 for reading (x86: prefetcht0). It
    never faults: the address may lie past the array's end."""
    if not _check_array(array):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1],
                                   signature.args[1])
        bytes_pointer, integer = ir.IntType(8).as_pointer(), ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [bytes_pointer] + [integer] * 3),
            _PREFETCH)
        read, keep_in_l1, data = (ir.Constant(integer, value) for value in (0, 3, 1))
        builder.call(function, [builder.bitcast(pointer, bytes_pointer), read, keep_in_l1, data])
        return context.get_dummy_value()
    return types.none(array, index), codegen


@intrinsic
def _barrier(typingctx):
    """An empty inline assembly statement that clobbers memory: no instructions, but LLVM may not
    move loads or stores across it. In a depth loop it keeps the unrolled iterations' loads
    in their own iteration (hoisting them all first needs more registers than AVX2 has)."""
    def codegen(context, builder, signature, args):
        builder.asm(ir.FunctionType(ir.VoidType(), []), "", "~{memory}", [], side_effect=True)
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def _hold(typingctx, a, b):
    """(a, b) through an empty inline assembly statement that takes both in registers ("v": any
    vector register, zmm0-31 with AVX-512) and clobbers memory. LLVM must compute them before it,
    and may move neither loads nor the vectors' later uses above it. In the AVX-512 micro-kernel,
    one after each row's two FMAs keeps each row's broadcast, FMAs and nothing else together:
    without it LLVM's scheduler hoisted all 12 broadcasts to the top of the depth loop (12 + 24
    accumulators + 2 B vectors: more than 32 registers), and the loop spilled 6 accumulators to
    the stack and shuffled 28 registers per step (``gemm.micro_kernel``)."""
    if not (isinstance(a, Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(a)
        pair = ir.LiteralStructType([vector_type, vector_type])
        result = builder.asm(ir.FunctionType(pair, [vector_type, vector_type]), "",
                             "=v,=v,0,1,~{memory}", list(args), side_effect=True)
        values = [builder.extract_value(result, 0), builder.extract_value(result, 1)]
        return context.make_tuple(builder, signature.return_type, values)
    return types.UniTuple(a, 2)(a, b), codegen


if not config.DISABLE_JIT:  # inside kernels the names above mean the intrinsics
    load, store, broadcast, zeros_like, fma, add = _load, _store, _broadcast, _zeros_like, _fma, _add
    sub, mul, div, sqrt, maximum, splat = _sub, _mul, _div, _sqrt, _maximum, _splat
    barrier, vector_lanes, prefetch, hold = _barrier, _vector_lanes, _prefetch, _hold
