"""The op table's second half: PyTorch's wider Tensor API (indexing, sorting, products, more math),
one line per op as in ``op_table.py``, which appends these lines to ``OPS``."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from op_table import Op, shapes, unary, broadcasting, reduction, softmax_dim, MAX_SIDE

T = torch


@st.composite
def dim_case(draw, min_dims=1, min_side=1):
    """A shape and one dim in it (maybe negative)."""
    shape = draw(shapes(min_dims, min_side=min_side))
    return [shape], {"dim": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def gather_case(draw, scatter=False, broadcast=False):
    """x, and an index tensor of x's ndim with entries in range along ``dim`` (distinct per line for
    scatter, whose repeated writes PyTorch leaves undefined). With ``broadcast`` (take_along_dim)
    the index's other dims are x's or 1, so that the two broadcast."""
    shape = draw(shapes(1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    index_shape = tuple(draw(st.sampled_from([1, s]) if broadcast and i != dim % len(shape)
                             else st.integers(1, s)) for i, s in enumerate(shape))
    index_shape = tuple(min(s, size) if i == dim % len(shape) and scatter else s
                        for i, s in enumerate(index_shape))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    if scatter:
        moved = np.moveaxis(np.zeros(index_shape, np.int64), dim, -1)
        for position in np.ndindex(moved.shape[:-1]):
            moved[position] = rng.permutation(size)[:moved.shape[-1]]
        index = np.moveaxis(moved, -1, dim)
    else:
        index = rng.integers(0, size, index_shape)
    return ([shape, index_shape] if scatter else [shape]), {"dim": dim, "index": index}


@st.composite
def index_select_case(draw):
    shape = draw(shapes(1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index = np.array(draw(st.lists(st.integers(0, shape[dim] - 1), min_size=1, max_size=4)))
    return [shape], {"dim": dim, "index": index}


@st.composite
def mask_case(draw):
    shape = draw(shapes(0))
    size = int(np.prod(shape))
    mask = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool).reshape(shape)
    return [shape], {"mask": mask}


@st.composite
def narrow_case(draw):
    (shape,), params = draw(dim_case())
    size = shape[params["dim"]]
    start = draw(st.integers(0, size - 1))
    return [shape], dict(params, start=start, length=draw(st.integers(0, size - start)))


@st.composite
def split_case(draw):
    (shape,), params = draw(dim_case())
    return [shape], dict(params, size=draw(st.integers(1, 3)))


@st.composite
def roll_case(draw):
    (shape,), params = draw(dim_case())
    return [shape], dict(params, shift=draw(st.integers(-4, 4)))


@st.composite
def repeat_case(draw):
    shape = draw(shapes(0, 2))
    lead = draw(st.integers(0 if shape else 1, 1))
    return [shape], {"sizes": tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + lead))}


@st.composite
def interleave_case(draw):
    (shape,), params = draw(dim_case())
    return [shape], dict(params, repeats=draw(st.integers(0, 3)))


@st.composite
def matrix_case(draw, min_dims=2):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=MAX_SIDE))
    return [shape], {"diagonal": draw(st.integers(-2, 2))}


@st.composite
def diagonal_case(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=MAX_SIDE))
    n = len(shape)
    dim1, dim2 = draw(st.permutations(range(n)))[:2]
    return [shape], {"offset": draw(st.integers(-2, 2)), "dim1": dim1, "dim2": dim2 - n}


@st.composite
def topk_case(draw):
    (shape,), params = draw(dim_case())
    return [shape], dict(params, k=draw(st.integers(0, shape[params["dim"]])), largest=draw(st.booleans()))


@st.composite
def products_case(draw, kind):
    n, k, m, b = (draw(st.integers(1, 3)) for _ in range(4))
    return {"dot": [(k,), (k,)], "mv": [(n, k), (k,)], "bmm": [(b, n, k), (b, k, m)],
            "outer": [(n,), (m,)], "addmm": [draw(st.sampled_from([(n, m), (m,), ()])), (n, k), (k, m)]}[kind], {}


@st.composite
def einsum_case(draw):
    n, k, m, b = (draw(st.integers(1, 3)) for _ in range(4))
    equation, shapes_ = draw(st.sampled_from([
        ("ij,jk->ik", [(n, k), (k, m)]), ("bij,bjk->bik", [(b, n, k), (b, k, m)]),
        ("ii->i", [(n, n)]), ("ii", [(n, n)]), ("ij->ji", [(n, m)]), ("i,j->ij", [(n,), (m,)]),
        ("...ij,...jk->...ik", [(b, n, k), (k, m)]), ("ij,ij->", [(n, m), (n, m)]),
        ("bi,bi->b", [(b, k), (b, k)]), ("ij,jk", [(n, k), (k, m)])]))
    return shapes_, {"equation": equation}


@st.composite
def cosine_case(draw):
    """Two shapes that broadcast (1-d to 3-d result) and a dim of the broadcast shape."""
    both = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3,
                                                  max_side=MAX_SIDE))
    n = len(both.result_shape)
    return list(both.input_shapes), {"dim": draw(st.integers(-n, n - 1))}


@st.composite
def pad_case(draw):
    """A 1-d to 3-d shape and widths for F.pad: two per padded dim (from the last), in -1..2
    (negative crops), never cropping a dim away."""
    shape = draw(shapes(1))
    dims = draw(st.integers(1, len(shape)))
    widths = []
    for size in reversed(shape[len(shape) - dims:]):
        before = draw(st.integers(-1 if size > 1 else 0, 2))
        after = draw(st.integers(-1 if size - max(-before, 0) > 1 else 0, 2))
        widths += [before, after]
    return [shape], {"widths": tuple(widths)}


@st.composite
def movedim_case(draw):
    """A shape and distinct source and destination dims (one int, or a tuple of them)."""
    shape = draw(shapes(1))
    n = len(shape)
    count = draw(st.integers(1, n))
    source = draw(st.permutations(range(n)))[:count]
    destination = draw(st.permutations(range(-n, 0)))[:count]
    if count == 1 and draw(st.booleans()):
        return [shape], {"source": source[0], "destination": destination[0]}
    return [shape], {"source": tuple(source), "destination": tuple(destination)}


@st.composite
def unflatten_case(draw):
    shape = draw(shapes(1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    first = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    sizes = draw(st.sampled_from([(first, size // first), (first, -1), (-1, 1, first)]))
    return [shape], {"dim": dim, "sizes": sizes}


@st.composite
def diff_case(draw):
    """A shape whose chosen dim has 2..3 entries, the dim, and n (1, or 2 where it fits)."""
    shape = list(draw(shapes(1)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = draw(st.integers(2, MAX_SIDE))
    return [tuple(shape)], {"dim": dim, "n": draw(st.integers(1, shape[dim] - 1))}


@st.composite
def meshgrid_case(draw):
    count = draw(st.integers(1, 3))
    return ([(draw(st.integers(1, MAX_SIDE)),) for _ in range(count)],
            {"indexing": draw(st.sampled_from(["ij", "xy"]))})


def _norm_case(p):
    return reduction("many").map(lambda case: (case[0], dict(case[1], p=p)))


ops = [
    # more elementwise math
    Op("log1p_fn", ag.log1p, T.log1p, unary(), ("unit",)),
    Op("expm1", lambda x: x.expm1(), T.expm1, unary()),
    Op("erf", lambda x: x.erf(), T.erf, unary()),
    Op("tan", lambda x: x.tan(), T.tan, unary(), ("unit",)),
    Op("atan", ag.atan, T.atan, unary()),
    Op("asin", lambda x: x.asin(), T.asin, unary(), ("unit",)),
    Op("acos", ag.arccos, T.arccos, unary(), ("unit",)),
    Op("sinh", lambda x: x.sinh(), T.sinh, unary()),
    Op("cosh", ag.cosh, T.cosh, unary()),
    Op("log2", lambda x: x.log2(), T.log2, unary(), ("positive",)),
    Op("log10", ag.log10, T.log10, unary(), ("positive",)),
    Op("frac", lambda x: x.frac(), T.frac, unary(), ("offgrid",)),
    Op("floor", ag.floor, T.floor, unary(), ("offgrid",)),
    Op("round", lambda x: x.round(), T.round, unary(), ("offgrid",)),
    Op("sign", ag.sign, T.sign, unary(), ("nonzero",)),
    Op("atan2", ag.atan2, T.atan2, broadcasting(), ("nonzero", "nonzero")),
    Op("hypot", ag.hypot, T.hypot, broadcasting(), ("nonzero", "nonzero")),
    Op("lerp", ag.lerp, T.lerp, hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=MAX_SIDE)
       .map(lambda b: ([b.result_shape, b.result_shape, b.input_shapes[2]], {}))),
    Op("remainder", ag.remainder, T.remainder, broadcasting(), ("real", "positive")),
    Op("fmod", ag.fmod, T.fmod, broadcasting(), ("real", "nonzero")),
    Op("mod_operator", lambda a, b: a % b, lambda a, b: a % b, broadcasting(), ("real", "nonzero")),
    Op("add_alpha", lambda a, b: ag.add(input=a, other=b, alpha=-2.5),
       lambda a, b: T.add(input=a, other=b, alpha=-2.5), broadcasting()),
    Op("sub_alpha", lambda a, b: ag.sub(a, b, alpha=3), lambda a, b: T.sub(a, b, alpha=3), broadcasting()),
    Op("div_fn", lambda a, b: ag.div(a, b), lambda a, b: T.div(a, b), broadcasting(), ("real", "nonzero")),
    Op("pow_fn", lambda a, b: ag.pow(a, b), lambda a, b: T.pow(a, b), broadcasting(), ("positive", "real")),
    Op("nan_to_num", lambda x: x.nan_to_num(), T.nan_to_num, unary()),
    # running sums and products
    Op("cumsum", lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim), softmax_dim()),
    Op("cumprod", lambda x, dim: x.cumprod(dim), lambda x, dim: x.cumprod(dim), softmax_dim(), ("nonzero",)),
    Op("prod_dim", lambda x, dim, keepdim: x.prod(dim, keepdim), lambda x, dim, keepdim: x.prod(dim, keepdim),
       reduction("one"), ("nonzero",)),
    Op("prod_all", lambda x: x.prod(), lambda x: x.prod(), unary(), ("nonzero",)),
    # norms
    Op("norm_2", lambda x, dim, keepdim, p: x.norm(p, dim, keepdim),
       lambda x, dim, keepdim, p: x.norm(p, dim, keepdim), _norm_case(2), ("nonzero",)),
    Op("norm_1", lambda x, dim, keepdim, p: x.norm(p, dim, keepdim),
       lambda x, dim, keepdim, p: x.norm(p, dim, keepdim), _norm_case(1), ("nonzero",)),
    Op("norm_3", lambda x, dim, keepdim, p: ag.norm(x, p=p, dim=dim, keepdim=keepdim),
       lambda x, dim, keepdim, p: T.norm(x, p=p, dim=dim, keepdim=keepdim), _norm_case(3), ("nonzero",)),
    Op("pad", lambda x, widths: ag.nn.functional.pad(x, widths, value=0.5),
       lambda x, widths: T.nn.functional.pad(x, widths, value=0.5), pad_case()),
    Op("movedim", lambda x, source, destination: x.movedim(source, destination),
       lambda x, source, destination: x.movedim(source, destination), movedim_case()),
    Op("unflatten", lambda x, dim, sizes: x.unflatten(dim, sizes),
       lambda x, dim, sizes: x.unflatten(dim, sizes), unflatten_case()),
    Op("logaddexp", ag.logaddexp, T.logaddexp, broadcasting()),
    Op("diff", lambda x, dim, n: x.diff(n, dim), lambda x, dim, n: x.diff(n, dim), diff_case()),
    Op("meshgrid", lambda *xs, indexing: ag.meshgrid(*xs, indexing=indexing),
       lambda *xs, indexing: T.meshgrid(*xs, indexing=indexing), meshgrid_case()),
    Op("var_mean", lambda x, dim, keepdim: ag.var_mean(x, dim, keepdim=keepdim),
       lambda x, dim, keepdim: T.var_mean(x, dim, keepdim=keepdim), reduction("one", min_side=2)),
    Op("normalize", lambda x, dim: ag.nn.functional.normalize(x, dim=dim),
       lambda x, dim: T.nn.functional.normalize(x, dim=dim), softmax_dim()),
    Op("normalize_p3", lambda x, dim: ag.nn.functional.normalize(x, 3, dim),
       lambda x, dim: T.nn.functional.normalize(x, 3, dim), softmax_dim(), ("nonzero",)),
    Op("cosine_similarity", lambda a, b, dim: ag.nn.functional.cosine_similarity(a, b, dim),
       lambda a, b, dim: T.nn.functional.cosine_similarity(a, b, dim), cosine_case()),
    Op("vector_norm_inf", lambda x, dim, keepdim, p: ag.linalg.vector_norm(x, p, dim, keepdim),
       lambda x, dim, keepdim, p: T.linalg.vector_norm(x, p, dim, keepdim), _norm_case(float("inf")),
       ("distinct",)),
    # products
    Op("dot", ag.dot, T.dot, products_case("dot")),
    Op("mv", lambda a, b: a.mv(b), lambda a, b: a.mv(b), products_case("mv")),
    Op("bmm", ag.bmm, T.bmm, products_case("bmm")),
    Op("outer", ag.outer, T.outer, products_case("outer")),
    Op("addmm", lambda c, a, b: ag.addmm(c, a, b, beta=0.5, alpha=2.0),
       lambda c, a, b: T.addmm(c, a, b, beta=0.5, alpha=2.0), products_case("addmm")),
    Op("matmul_keywords", lambda a, b: ag.matmul(input=a, other=b),
       lambda a, b: T.matmul(input=a, other=b), products_case("mv")),
    Op("einsum", lambda *xs, equation: ag.einsum(equation, *xs),
       lambda *xs, equation: T.einsum(equation, *xs), einsum_case()),
    # selecting and rearranging
    Op("gather", lambda x, dim, index: x.gather(dim, ag.tensor(index)),
       lambda x, dim, index: x.gather(dim, T.as_tensor(index)), gather_case()),
    Op("take_along_dim", lambda x, dim, index: ag.take_along_dim(x, ag.tensor(index), dim),
       lambda x, dim, index: T.take_along_dim(x, T.as_tensor(index), dim), gather_case(broadcast=True)),
    Op("scatter", lambda x, src, dim, index: x.scatter(dim, ag.tensor(index), src),
       lambda x, src, dim, index: x.scatter(dim, T.as_tensor(index), src), gather_case(scatter=True)),
    Op("scatter_add", lambda x, src, dim, index: x.scatter_add(dim, ag.tensor(index), src),
       lambda x, src, dim, index: x.scatter_add(dim, T.as_tensor(index), src), gather_case(scatter=True)),
    Op("index_select", lambda x, dim, index: ag.index_select(x, dim, ag.tensor(index)),
       lambda x, dim, index: T.index_select(x, dim, T.as_tensor(index)), index_select_case()),
    Op("masked_select", lambda x, mask: x.masked_select(ag.tensor(mask)),
       lambda x, mask: x.masked_select(T.as_tensor(mask)), mask_case()),
    Op("masked_fill", lambda x, mask: x.masked_fill(ag.tensor(mask), 0.5),
       lambda x, mask: x.masked_fill(T.as_tensor(mask), 0.5), mask_case()),
    Op("narrow", lambda x, dim, start, length: x.narrow(dim, start, length),
       lambda x, dim, start, length: x.narrow(dim, start, length), narrow_case()),
    Op("split", lambda x, dim, size: x.split(size, dim), lambda x, dim, size: x.split(size, dim), split_case()),
    Op("chunk", lambda x, dim, size: x.chunk(size, dim), lambda x, dim, size: x.chunk(size, dim), split_case()),
    Op("unbind", lambda x, dim: x.unbind(dim), lambda x, dim: x.unbind(dim), dim_case()),
    Op("flip", lambda x, dim: x.flip(dim), lambda x, dim: x.flip(dim), dim_case()),
    Op("roll", lambda x, dim, shift: x.roll(shift, dim), lambda x, dim, shift: x.roll(shift, dim), roll_case()),
    Op("roll_flat", lambda x: x.roll(2), lambda x: x.roll(2), unary(1)),
    Op("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: x.repeat(*sizes), repeat_case()),
    Op("tile", lambda x, sizes: x.tile(sizes[1:]), lambda x, sizes: x.tile(sizes[1:]), repeat_case()),
    Op("repeat_interleave", lambda x, dim, repeats: x.repeat_interleave(repeats, dim),
       lambda x, dim, repeats: x.repeat_interleave(repeats, dim), interleave_case()),
    Op("tril", lambda x, diagonal: x.tril(diagonal), lambda x, diagonal: x.tril(diagonal), matrix_case()),
    Op("triu", lambda x, diagonal: ag.triu(x, diagonal), lambda x, diagonal: T.triu(x, diagonal), matrix_case()),
    Op("diag_of_vector", lambda x, diagonal: x.diag(diagonal), lambda x, diagonal: x.diag(diagonal),
       shapes(1, 1).map(lambda s: [s]).flatmap(lambda s: st.integers(-2, 2).map(lambda d: (s, {"diagonal": d})))),
    Op("diagonal", lambda x, offset, dim1, dim2: x.diagonal(offset, dim1, dim2),
       lambda x, offset, dim1, dim2: x.diagonal(offset, dim1, dim2), diagonal_case()),
    Op("trace", ag.trace, T.trace, shapes(2, 2).map(lambda s: ([s], {}))),
    # ordering
    Op("sort", lambda x, dim: tuple(x.sort(dim, descending=True)),
       lambda x, dim: tuple(x.sort(dim, descending=True)), dim_case(), ("distinct",)),
    Op("topk", lambda x, dim, k, largest: tuple(x.topk(k, dim, largest)),
       lambda x, dim, k, largest: tuple(x.topk(k, dim, largest)), topk_case(), ("distinct",)),
    Op("median_dim", lambda x, dim, keepdim: tuple(x.median(dim, keepdim)),
       lambda x, dim, keepdim: tuple(x.median(dim, keepdim)), reduction("one"), ("distinct",)),
    Op("median_all", lambda x: x.median(), lambda x: x.median(), unary(), ("distinct",)),
    Op("kthvalue", lambda x, dim, keepdim: tuple(x.kthvalue(1, dim, keepdim)),
       lambda x, dim, keepdim: tuple(x.kthvalue(1, dim, keepdim)), reduction("one"), ("distinct",)),
]
