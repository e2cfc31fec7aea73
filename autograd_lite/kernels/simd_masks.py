"""Masks, selects, int32 index vectors and deinterleaving loads for Numba kernels: what the vector
max pool (``pool._max_forward_2x2_planes``) compares and picks with. Built on ``simd``'s vector type;
like it, LLVM intrinsics when Numba compiles and plain NumPy under ``NUMBA_DISABLE_JIT=1``:

    load_even(array, i)     array[i : i + 2 lanes : 2]        (a deinterleaving load: with
    load_odd(array, i)      array[i + 1 : i + 2 lanes : 2]     load_odd, pairs split in two)
    replaces(a, b)          (a > b) | (isnan(a) & ~isnan(b)): a mask, True where a takes b's
                            place as the running maximum (np.argmax's rule: first maximum and
                            first NaN stay; -0.0 and 0.0 tie)
    select(mask, a, b)      np.where(mask, a, b)              (a, b: float or int32 vectors)
    arange(start, step, like)   start + step * [0, 1, ..., lanes - 1] as int32, one lane per
                            lane of ``like``'s vectors (``like``: a float array), e.g. indices

``simd.add`` and ``simd.store`` take the int32 vectors too.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import config, types
from numba.extending import intrinsic

# (the vector type and codegen helpers of the module this one extends)
from .simd import REGISTER_BYTES, Vector, _check_array, _splat_value, lanes, load_vector


def load_even(array, index):
    return array[index:index + 2 * lanes(array.dtype):2].copy()


def load_odd(array, index):
    return array[index + 1:index + 2 * lanes(array.dtype):2].copy()


def replaces(a, b):
    return (a > b) | (np.isnan(a) & ~np.isnan(b))


def select(mask, a, b):
    return np.where(mask, a, b)


def arange(start, step, like):
    return np.arange(lanes(like.dtype), dtype=np.int32) * np.int32(step) + np.int32(start)


# ----------------------------------------------------------------------------- intrinsics

def _deinterleaving_load(first):
    """``load_even`` (first = 0) or ``load_odd`` (first = 1): one load of 2 lanes numbers and a
    shuffle that keeps every other one (on AVX2, LLVM emits vshufps and vpermpd)."""
    @intrinsic
    def load_half(typingctx, array, index):
        if not _check_array(array):
            return None
        vector = Vector(array.dtype)

        def codegen(context, builder, signature, args):
            pair_type = ir.VectorType(context.get_value_type(array.dtype), 2 * vector.lanes)
            pairs = load_vector(context, builder, signature, args, pair_type)
            mask = ir.Constant(ir.VectorType(ir.IntType(32), vector.lanes),
                               [2 * lane + first for lane in range(vector.lanes)])
            return builder.shuffle_vector(pairs, ir.Constant(pair_type, ir.Undefined), mask)
        return vector(array, index), codegen
    return load_half


_load_even, _load_odd = _deinterleaving_load(0), _deinterleaving_load(1)


@intrinsic
def _replaces(typingctx, a, b):
    if not (isinstance(a, Vector) and a == b and isinstance(a.dtype, types.Float)):
        return None
    mask = Vector(types.boolean, a.lanes)

    def codegen(context, builder, signature, args):
        value, best = args
        # (a > b or a NaN) and b not NaN: "unordered or greater" covers a > b and a NaN at once
        return builder.and_(builder.fcmp_unordered(">", value, best),
                            builder.fcmp_ordered("ord", best, best))
    return mask(a, b), codegen


@intrinsic
def _select(typingctx, mask, a, b):
    if not (isinstance(mask, Vector) and mask.dtype == types.boolean and isinstance(a, Vector)
            and a == b and a.lanes == mask.lanes):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(*args)
    return a(mask, a, b), codegen


@intrinsic
def _arange(typingctx, start, step, like):
    if not (_check_array(like) and isinstance(start, types.Integer)
            and isinstance(step, types.Integer)):
        return None
    vector = Vector(types.int32, REGISTER_BYTES // (like.dtype.bitwidth // 8))

    def codegen(context, builder, signature, args):
        int32 = ir.IntType(32)
        first = _splat_value(context, builder, vector,
                             context.cast(builder, args[0], signature.args[0], types.int32))
        stride = _splat_value(context, builder, vector,
                              context.cast(builder, args[1], signature.args[1], types.int32))
        counts = ir.Constant(ir.VectorType(int32, vector.lanes), list(range(vector.lanes)))
        return builder.add(first, builder.mul(stride, counts))
    return vector(start, step, like), codegen


if not config.DISABLE_JIT:  # inside kernels the names above mean the intrinsics
    load_even, load_odd, replaces, select, arange = (_load_even, _load_odd, _replaces, _select,
                                                     _arange)
