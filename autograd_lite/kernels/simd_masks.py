"""Masks, selects, int32 index vectors, deinterleaving loads and in-register transposes for Numba
kernels: what the vector max pool (``pool._max_forward_2x2_planes``) compares and picks with, and
how the AVX-512 weight gradient packs g^T (``gemm.pack_b_transposed``). Built on ``simd``'s vector type;
like it, LLVM intrinsics when Numba compiles and plain NumPy under ``NUMBA_DISABLE_JIT=1``:

    load_even(array, i)     array[i : i + 2 lanes : 2]        (a deinterleaving load: with
    load_odd(array, i)      array[i + 1 : i + 2 lanes : 2]     load_odd, pairs split in two)
    replaces(a, b)          (a > b) | (isnan(a) & ~isnan(b)): a mask, True where a takes b's
                            place as the running maximum (np.argmax's rule: first maximum and
                            first NaN stay; -0.0 and 0.0 tie)
    select(mask, a, b)      np.where(mask, a, b)              (a, b: float or int32 vectors)
    arange(start, step, like)   start + step * [0, 1, ..., lanes - 1] as int32, one lane per
                            lane of ``like``'s vectors (``like``: a float array), e.g. indices
    transpose_block(src, i, si, dst, j, sj)    dst[j + c sj + r] = src[i + r si + c] for r, c <
                            lanes: a lanes x lanes block transposed in registers (vector loads,
                            log2(lanes) rounds of two-vector shuffles, vector stores)
    transpose_add_block(src, i, si, shift, dst, j, sj)   the same with
                            dst[j + c sj + r] = src[i + r si + c] + shift[c] (``shift``: a
                            vector, added to each row loaded; the forward convolution's bias)

``simd.add`` and ``simd.store`` take the int32 vectors too.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import config, types
from numba.extending import intrinsic

# (the vector type and codegen helpers of the module this one extends)
from .simd import (REGISTER_BYTES, Vector, _check_array, _element_pointer, _splat_value, lanes,
                   load_vector)


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


def transpose_block(src, src_at, src_stride, dst, dst_at, dst_stride):
    count = lanes(src.dtype)
    for r in range(count):
        for c in range(count):
            dst[dst_at + c * dst_stride + r] = src[src_at + r * src_stride + c]


def transpose_add_block(src, src_at, src_stride, shift, dst, dst_at, dst_stride):
    count = lanes(src.dtype)
    for r in range(count):
        for c in range(count):
            dst[dst_at + c * dst_stride + r] = src[src_at + r * src_stride + c] + shift[c]


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


@intrinsic
def _transpose_block(typingctx, src, src_at, src_stride, dst, dst_at, dst_stride):
    """Rows r < L of src (L vectors, ``src_stride`` apart) transposed into L vectors of dst
    (``dst_stride`` apart). Round h = L/2, L/4, ..., 1 swaps, in every 2h x 2h block, its upper
    right and lower left h x h quarters: rows i and i + h (i without bit h) become
    (i[c] if c has no bit h else (i+h)[c - h]) and (i[c + h] if c has no bit h else (i+h)[c]), one
    two-vector shuffle each (AVX-512: vpermt2ps / vunpck / vshuf). For 16 x 16 float32: 64
    shuffles, against 256 scalar loads and stores."""
    if not (_check_array(src) and _check_array(dst) and src.dtype == dst.dtype):
        return None
    return (types.none(src, src_at, src_stride, dst, dst_at, dst_stride),
            _transpose_codegen(Vector(src.dtype), False))


@intrinsic
def _transpose_add_block(typingctx, src, src_at, src_stride, shift, dst, dst_at, dst_stride):
    """``_transpose_block`` with the vector ``shift`` added to each row of src as it is loaded."""
    if not (_check_array(src) and _check_array(dst) and src.dtype == dst.dtype
            and shift == Vector(src.dtype)):
        return None
    return (types.none(src, src_at, src_stride, shift, dst, dst_at, dst_stride),
            _transpose_codegen(shift, True))


def _transpose_codegen(vector, shifted):
    """The code of ``_transpose_block`` (``shifted``: of ``_transpose_add_block``, whose
    arguments have the shift vector after src's three)."""
    count = vector.lanes

    def codegen(context, builder, signature, args):
        vector_type = context.get_value_type(vector)
        if shifted:
            shift = args[3]
            args = args[:3] + args[4:]
            signature = types.none(*(signature.args[:3] + signature.args[4:]))
        src_type, at_type, stride_type, dst_type, to_type, to_stride_type = signature.args
        src_at = context.cast(builder, args[1], at_type, types.intp)
        src_stride = context.cast(builder, args[2], stride_type, types.intp)
        dst_at = context.cast(builder, args[4], to_type, types.intp)
        dst_stride = context.cast(builder, args[5], to_stride_type, types.intp)
        align = vector.dtype.bitwidth // 8
        mask_type = ir.VectorType(ir.IntType(32), count)
        rows = []
        for r in range(count):
            step = context.get_constant(types.intp, r)
            index = builder.add(src_at, builder.mul(src_stride, step))
            pointer = _element_pointer(context, builder, src_type, args[0], index, types.intp)
            row = builder.load(builder.bitcast(pointer, vector_type.as_pointer()), align=align)
            rows.append(builder.fadd(row, shift) if shifted else row)
        h = count // 2
        while h:
            low = [c if not c & h else count + c - h for c in range(count)]
            high = [c + h if not c & h else count + c for c in range(count)]
            for i in range(count):
                if i & h:
                    continue
                first, second = rows[i], rows[i + h]
                rows[i] = builder.shuffle_vector(first, second, ir.Constant(mask_type, low))
                rows[i + h] = builder.shuffle_vector(first, second, ir.Constant(mask_type, high))
            h //= 2
        for c in range(count):
            step = context.get_constant(types.intp, c)
            index = builder.add(dst_at, builder.mul(dst_stride, step))
            pointer = _element_pointer(context, builder, dst_type, args[3], index, types.intp)
            builder.store(rows[c], builder.bitcast(pointer, vector_type.as_pointer()), align=align)
        return context.get_dummy_value()
    return codegen


if not config.DISABLE_JIT:  # inside kernels the names above mean the intrinsics
    load_even, load_odd, replaces, select, arange = (_load_even, _load_odd, _replaces, _select,
                                                     _arange)
    transpose_block, transpose_add_block = _transpose_block, _transpose_add_block
