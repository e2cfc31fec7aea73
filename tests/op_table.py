"""The op table: one line per differentiable op, driving ``test_ops.py``.

Each line is ``Op(name, ours, theirs, cases, domains, gradgrad)``:

* ``ours(*tensors, **params)`` runs autograd-lite, ``theirs(*tensors, **params)`` runs PyTorch;
* ``cases`` is a hypothesis strategy of ``(shapes, params)``: one shape per tensor input, and the
  non-tensor arguments (dims, indices, ...) drawn to fit those shapes;
* ``domains`` says where each input's values are drawn (see ``make_values``): away from the points
  where an op is not differentiable or not defined, so finite differences are meaningful;
* ``gradgrad`` is False only where the second derivative is not defined.

Adding an op costs one line here.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag

MAX_SIDE = 3


class Op(NamedTuple):
    name: str
    ours: Callable
    theirs: Callable
    cases: st.SearchStrategy
    domains: tuple = ("real",)
    gradgrad: bool = True


# ----------------------------------------------------------------------------- values
def make_values(shape, domain, rng):
    """float64 values of ``shape`` drawn from ``domain``:

    real: standard normal; positive: [0.5, 2]; nonzero: +-[0.5, 2]; unit: [-0.9, 0.9];
    distinct / distinct2 / distinct3: all different within a tensor, and never equal across the
    three (offsets 0.01, 0.16, 0.085 on a 0.3 grid), for max/min/maximum/clamp where ties matter;
    offgrid: k/4 + 0.1, never within 0.1 of a multiple of 0.25 (clamp bounds +-0.5).
    """
    size = int(np.prod(shape))
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain.startswith("distinct"):
        offset = {"distinct": 0.01, "distinct2": 0.16, "distinct3": 0.085}[domain]
        return (rng.permutation(size) - size // 2).reshape(shape) * 0.3 + offset
    if domain == "offgrid":
        return rng.integers(-6, 7, shape) * 0.25 + 0.1
    raise ValueError(domain)


# ----------------------------------------------------------------------------- case strategies
def shapes(min_dims=0, max_dims=3, min_side=1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=MAX_SIDE)


def unary(min_dims=0, min_side=1):
    """One tensor of any shape (0-d to 3-d, sides 1..3), no parameters."""
    return shapes(min_dims, min_side=min_side).map(lambda s: ([s], {}))


def broadcasting(count=2):
    """``count`` shapes that broadcast together (including 0-d, size-1 and missing dims)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=0, max_dims=3,
                                             max_side=MAX_SIDE).map(
        lambda b: (list(b.input_shapes), {}))


def bounds():
    """Three shapes, the last two broadcasting to the first (clamp's bounds)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                             max_side=MAX_SIDE).map(
        lambda b: ([b.result_shape] + list(b.input_shapes), {}))


@st.composite
def reduction(draw, dims="one", min_side=1):
    """A shape and {dim, keepdim}: dims='one' one dim (maybe negative), 'many' a tuple or None."""
    shape = draw(shapes(0 if dims == "many" else 1, min_side=min_side))
    ndim = len(shape)
    if dims == "one":
        dim = draw(st.integers(-ndim, ndim - 1))
    else:
        dim = draw(st.one_of(st.none(), st.lists(st.integers(0, max(ndim - 1, 0)), min_size=1,
                                                 max_size=max(ndim, 1), unique=True).map(tuple)))
    return [shape], {"dim": dim, "keepdim": draw(st.booleans())}


@st.composite
def softmax_dim(draw):
    shape = draw(shapes(1))
    return [shape], {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def var_case(draw, min_side):
    shape = draw(shapes(1, min_side=min_side))
    dim = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    correction = draw(st.sampled_from([0, 1])) if min_side > 1 else 0
    return [shape], {"dim": dim, "keepdim": draw(st.booleans()), "correction": correction}


@st.composite
def reshape_case(draw):
    shape = draw(shapes())
    size = int(np.prod(shape))
    target = draw(st.sampled_from([(size,), (1, size), tuple(reversed(shape)), (-1,), (size, 1, -1)]))
    return [shape], {"shape": target}


@st.composite
def two_dims(draw):
    shape = draw(shapes(1))
    n = len(shape)
    return [shape], {"dim0": draw(st.integers(-n, n - 1)), "dim1": draw(st.integers(-n, n - 1))}


@st.composite
def permutation(draw):
    shape = draw(shapes(1))
    return [shape], {"dims": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def flatten_case(draw):
    shape = draw(shapes(1))
    n = len(shape)
    start = draw(st.integers(0, n - 1))
    return [shape], {"start_dim": start, "end_dim": draw(st.integers(start, n - 1)) - n}


@st.composite
def squeeze_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=2))
    n = len(shape)
    return [shape], {"dim": draw(st.one_of(st.none(), st.integers(-n, n - 1)))}


@st.composite
def unsqueeze_case(draw):
    shape = draw(shapes())
    n = len(shape)
    return [shape], {"dim": draw(st.integers(-n - 1, n))}


@st.composite
def expand_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2))
    new = tuple(draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=1)))
    kept = tuple(-1 if draw(st.booleans()) else s for s in new)
    return [shape], {"size": lead + kept}


@st.composite
def index_case(draw):
    """Basic and advanced indices: ints (negative too), slices with steps, None, Ellipsis, integer
    arrays with repeated entries, boolean masks."""
    shape = draw(shapes(1))
    kind = draw(st.sampled_from(["basic", "int_array", "bool_mask", "mixed"]))
    if kind == "basic":
        items = []
        for size in shape:
            items.append(draw(st.one_of(
                st.integers(-size, size - 1),
                st.builds(slice, st.one_of(st.none(), st.integers(-size, size - 1)), st.none(),
                          st.sampled_from([None, 1, 2])))))
        if draw(st.booleans()):
            items.insert(draw(st.integers(0, len(items))), None)
        index = tuple(items[:draw(st.integers(1, len(items)))])
        if draw(st.booleans()):
            index = (Ellipsis,) + index[1:]
    elif kind == "int_array":  # repeated entries: the gradient must accumulate
        index = np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5)))
    elif kind == "bool_mask":
        mask = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape))))).reshape(shape)
        index = mask
    else:
        rows = np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=4)))
        index = (rows, slice(None, None, 2)) if len(shape) > 1 else (rows,)
    return [shape], {"index": index}


@st.composite
def cat_case(draw, stack=False):
    base = list(draw(shapes(1)))
    n = len(base)
    count = draw(st.integers(1, 3))
    if stack:
        return [tuple(base)] * count, {"dim": draw(st.integers(-n - 1, n))}
    dim = draw(st.integers(-n, n - 1))
    out = []
    for _ in range(count):
        shape = list(base)
        shape[dim] = draw(st.integers(1, 3))
        out.append(tuple(shape))
    return out, {"dim": dim}


@st.composite
def matmul_case(draw):
    """(n, k) @ (k, m), batched with broadcasting, and the 1-D forms."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["mm", "batched", "vec_mat", "mat_vec", "dot", "broadcast"]))
    return {"mm": [(n, k), (k, m)], "batched": [(2, n, k), (2, k, m)], "vec_mat": [(k,), (k, m)],
            "mat_vec": [(n, k), (k,)], "dot": [(k,), (k,)],
            "broadcast": [(2, 1, n, k), (3, k, m)]}[kind], {}


@st.composite
def linear_case(draw, bias):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    x = lead + (k,) if lead or draw(st.booleans()) else (k,)
    return ([x, (m, k), (m,)] if bias else [x, (m, k)]), {}


@st.composite
def where_case(draw):
    shapes_ = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=MAX_SIDE))
    condition_shape, a, b = shapes_.input_shapes
    size = int(np.prod(condition_shape))
    condition = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)),
                         dtype=bool).reshape(condition_shape)
    return [a, b], {"condition": condition}


# ----------------------------------------------------------------------------- the table
T = torch
OPS = [
    # elementwise, one input
    Op("neg", lambda x: -x, lambda x: -x, unary()),
    Op("exp", lambda x: x.exp(), T.exp, unary()),
    Op("log", lambda x: x.log(), T.log, unary(), ("positive",)),
    Op("sqrt", lambda x: x.sqrt(), T.sqrt, unary(), ("positive",)),
    Op("rsqrt", lambda x: x.rsqrt(), T.rsqrt, unary(), ("positive",)),
    Op("sin", lambda x: x.sin(), T.sin, unary()),
    Op("cos", lambda x: x.cos(), T.cos, unary()),
    Op("tanh", lambda x: x.tanh(), T.tanh, unary()),
    Op("sigmoid", lambda x: x.sigmoid(), T.sigmoid, unary()),
    Op("relu", lambda x: x.relu(), T.relu, unary(), ("nonzero",)),
    Op("abs", lambda x: abs(x), T.abs, unary(), ("nonzero",)),
    Op("square", lambda x: x.square(), T.square, unary()),
    Op("reciprocal", lambda x: x.reciprocal(), T.reciprocal, unary(), ("nonzero",)),
    Op("log1p", lambda x: x.log1p(), T.log1p, unary(), ("unit",)),
    Op("pow_2", lambda x: x ** 2, lambda x: x ** 2, unary()),
    Op("pow_3", lambda x: x ** 3, lambda x: x ** 3, unary()),
    Op("pow_0", lambda x: x ** 0, lambda x: x ** 0, unary()),
    Op("pow_neg_1.5", lambda x: x ** -1.5, lambda x: x ** -1.5, unary(), ("positive",)),
    Op("clone", lambda x: x.clone(), T.clone, unary()),
    Op("clamp_scalars", lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), unary(),
       ("offgrid",)),
    Op("clamp_min_only", lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0), unary(), ("offgrid",)),
    Op("softmax", lambda x, dim: x.softmax(dim), lambda x, dim: x.softmax(dim), softmax_dim()),
    Op("log_softmax", lambda x, dim: x.log_softmax(dim), lambda x, dim: x.log_softmax(dim),
       softmax_dim()),
    # elementwise with a Python number
    Op("add_scalar", lambda x: x + 2.5, lambda x: x + 2.5, unary()),
    Op("rsub_scalar", lambda x: 2.5 - x, lambda x: 2.5 - x, unary()),
    Op("mul_scalar", lambda x: 3 * x, lambda x: 3 * x, unary()),
    Op("rdiv_scalar", lambda x: 3.0 / x, lambda x: 3.0 / x, unary(), ("nonzero",)),
    Op("rpow_scalar", lambda x: 2.0 ** x, lambda x: 2.0 ** x, unary()),
    # elementwise, two or three inputs, with broadcasting
    Op("add", lambda a, b: a + b, lambda a, b: a + b, broadcasting()),
    Op("sub", lambda a, b: a - b, lambda a, b: a - b, broadcasting()),
    Op("mul", lambda a, b: a * b, lambda a, b: a * b, broadcasting()),
    Op("div", lambda a, b: a / b, lambda a, b: a / b, broadcasting(), ("real", "nonzero")),
    Op("pow", lambda a, b: a ** b, lambda a, b: a ** b, broadcasting(), ("positive", "real")),
    Op("maximum", ag.maximum, T.maximum, broadcasting(), ("distinct", "distinct2")),
    Op("minimum", ag.minimum, T.minimum, broadcasting(), ("distinct", "distinct2")),
    Op("clamp_tensors", lambda x, low, high: x.clamp(low, high),
       lambda x, low, high: x.clamp(low, high), bounds(), ("distinct", "distinct2", "distinct3")),
    Op("where", lambda a, b, condition: ag.where(condition, a, b),
       lambda a, b, condition: T.where(T.as_tensor(condition), a, b), where_case()),
    Op("matmul", lambda a, b: a @ b, lambda a, b: a @ b, matmul_case()),
    Op("linear", ag.linear, T.nn.functional.linear, linear_case(bias=True)),
    Op("linear_no_bias", ag.linear, T.nn.functional.linear, linear_case(bias=False)),
    # reductions
    Op("sum", lambda x, dim, keepdim: x.sum(dim, keepdim), lambda x, dim, keepdim: x.sum(dim, keepdim),
       reduction("many")),
    Op("mean", lambda x, dim, keepdim: x.mean(dim, keepdim), lambda x, dim, keepdim: x.mean(dim, keepdim),
       reduction("many")),
    Op("var", lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
       lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
       var_case(min_side=2)),
    Op("var_size1", lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
       lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
       var_case(min_side=1)),
    Op("std", lambda x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
       lambda x, dim, keepdim, correction: x.std(dim, keepdim=keepdim, correction=correction),
       var_case(min_side=2)),
    Op("logsumexp", lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
       lambda x, dim, keepdim: x.logsumexp(dim, keepdim), reduction("one")),
    Op("amax", lambda x, dim, keepdim: x.amax(dim, keepdim),
       lambda x, dim, keepdim: x.amax(dim if dim is not None else (), keepdim), reduction("many"),
       ("distinct",)),
    Op("amin", lambda x, dim, keepdim: x.amin(dim, keepdim),
       lambda x, dim, keepdim: x.amin(dim if dim is not None else (), keepdim), reduction("many"),
       ("distinct",)),
    Op("max_all", lambda x: x.max(), lambda x: x.max(), unary(), ("distinct",)),
    Op("min_all", lambda x: x.min(), lambda x: x.min(), unary(), ("distinct",)),
    Op("max_dim", lambda x, dim, keepdim: tuple(x.max(dim, keepdim)),
       lambda x, dim, keepdim: tuple(x.max(dim, keepdim)), reduction("one"), ("distinct",)),
    Op("min_dim", lambda x, dim, keepdim: tuple(x.min(dim, keepdim)),
       lambda x, dim, keepdim: tuple(x.min(dim, keepdim)), reduction("one"), ("distinct",)),
    # shape
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshape_case()),
    Op("view", lambda x, shape: x.view(*shape), lambda x, shape: x.view(shape), reshape_case()),
    Op("transpose", lambda x, dim0, dim1: x.transpose(dim0, dim1),
       lambda x, dim0, dim1: x.transpose(dim0, dim1), two_dims()),
    Op("permute", lambda x, dims: x.permute(*dims), lambda x, dims: x.permute(*dims), permutation()),
    Op("T_2d", lambda x: x.T, lambda x: x.T, shapes(2, 2).map(lambda s: ([s], {}))),
    Op("flatten", lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim),
       lambda x, start_dim, end_dim: x.flatten(start_dim, end_dim), flatten_case()),
    Op("squeeze", lambda x, dim: x.squeeze(dim),
       lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim), squeeze_case()),
    Op("unsqueeze", lambda x, dim: x.unsqueeze(dim), lambda x, dim: x.unsqueeze(dim), unsqueeze_case()),
    Op("expand", lambda x, size: x.expand(size), lambda x, size: x.expand(size), expand_case()),
    Op("getitem", lambda x, index: x[index], lambda x, index: x[_torch_index(index)], index_case()),
    Op("cat", lambda *xs, dim: ag.cat(xs, dim), lambda *xs, dim: T.cat(xs, dim), cat_case()),
    Op("stack", lambda *xs, dim: ag.stack(xs, dim), lambda *xs, dim: T.stack(xs, dim),
       cat_case(stack=True)),
]


def _torch_index(index):
    if isinstance(index, np.ndarray):
        return T.as_tensor(index)
    if isinstance(index, tuple):
        return tuple(T.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    return index


from op_table_api import ops as _api_ops  # noqa: E402  (the wider Tensor API; it imports this module)

OPS += _api_ops
