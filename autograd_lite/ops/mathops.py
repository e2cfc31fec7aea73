"""More elementwise math with PyTorch's names and gradients.

Primitives (forward and backward together), where a composite would lose precision or has no
building blocks: ``Log1p`` and ``Expm1`` (accurate near 0: log1p(1e-8) is 1e-8 in float32, while
log(1 + 1e-8) is 0), ``Erf``, ``Atan2`` and ``Cumsum``. Composites of primitives: ``log2 log10 hypot
lerp remainder fmod frac cumprod prod norm nan_to_num``, and the piecewise-constant ``floor ceil
round trunc sign`` (gradient 0, as in PyTorch, so their results still take part in a graph).
"""
from __future__ import annotations

import math

import numpy as np

from ..arguments import check_dim, reduction_axes
from ..dtypes import floating
from ..function import Function, is_grad_enabled
from ..tensor import Tensor
from .broadcasting import _promoted, unbroadcast
from .elementwise import Where
from .shape import GetItem
from .onnx_mapping import unary

_make = Tensor._make


def _tensor(x, like=None):
    if isinstance(x, Tensor):
        return x
    dtype = like.dtype if like is not None and like.dtype.kind == "f" and np.ndim(x) == 0 else None
    return Tensor(np.asarray(x, dtype=dtype) if dtype is not None else x)


class Log1p(Function):
    """log(1 + a), computed by ``np.log1p`` (exact for small a); d/da = 1 / (1 + a)."""
    rule = "d/da = 1/(1 + a)"

    @staticmethod
    def onnx(g, node, inputs, outputs):  # ONNX has no log1p: log(1 + a)
        one = g.constant(1, node.outputs[0]()._data.dtype)
        g.op("Log", [g.op("Add", [inputs[0], one])[0]], outputs)

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _make(np.asarray(np.log1p(floating(a._data))))

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        return grad / (a + 1.0)


class Expm1(Function):
    """exp(a) - 1, computed by ``np.expm1`` (exact for small a); d/da = exp(a) = out + 1."""
    rule = "d/da = exp(a)"

    @staticmethod
    def onnx(g, node, inputs, outputs):  # ONNX has no expm1: exp(a) - 1
        one = g.constant(1, node.outputs[0]()._data.dtype)
        g.op("Sub", [g.op("Exp", [inputs[0]])[0], one], outputs)

    @staticmethod
    def forward(ctx, a):
        out = _make(np.asarray(np.expm1(floating(a._data))))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * (out + 1.0)


class Erf(Function):
    """erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt; d erf / dx = 2/sqrt(pi) exp(-x^2)."""
    rule = "d/da = 2/√π · exp(-a²)"
    onnx = unary("Erf")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        from scipy.special import erf  # scipy comes with scikit-learn; imported on first use (slow)
        data = floating(x._data)
        return _make(np.asarray(erf(data)).astype(data.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (-(x * x)).exp() * (2.0 / math.sqrt(math.pi))


class Atan2(Function):
    """atan2(y, x), the angle of the point (x, y); d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2)."""
    rule = "d/da = b/(a² + b²), d/db = -a/(a² + b²)"

    @staticmethod
    def forward(ctx, y, x):
        ctx.save_for_backward(y, x)
        ctx.shapes = (y.shape, x.shape)
        return _make(_promoted(np.arctan2(y._data, x._data), y, x, y._data, x._data, true_divide=True))

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.saved_tensors
        scale = grad / (x * x + y * y)
        return (unbroadcast(scale * x, ctx.shapes[0]) if ctx.needs_input_grad[0] else None,
                unbroadcast(-scale * y, ctx.shapes[1]) if ctx.needs_input_grad[1] else None)


class Cumsum(Function):
    """Running sum along ``dim``; backward is the reversed running sum of the gradient:
    d out_k / d a_i = [i <= k], so grad_a_i = sum_{k >= i} grad_k."""
    rule = "d/da = reversed cumulative sum of the gradient"

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        data = a._data if a._data.dtype.kind == "f" else a._data.astype(np.int64)
        return _make(np.cumsum(data, axis=dim))

    @staticmethod
    def backward(ctx, grad):
        return flip(Cumsum.apply(flip(grad, (ctx.dim,)), ctx.dim), (ctx.dim,)), None


def flip(x, dims):
    """x reversed along ``dims`` (a view through a negative-step slice; the gradient flips back)."""
    x = _tensor(x)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    index = [slice(None)] * x.ndim
    for d in dims:
        index[check_dim(d, x.ndim, "flip")] = slice(None, None, -1)
    return GetItem.apply(x, tuple(index)) if x.ndim else x * 1


def cumsum(x, dim, dtype=None):
    x = _tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x * 1
    return Cumsum.apply(x, check_dim(dim, x.ndim, "cumsum"))


def cumprod(x, dim, dtype=None):
    """Running product along ``dim``. Without zeros the gradient is
    grad_a_i = sum_{k >= i} grad_k out_k / a_i; with zeros it is built exactly (as the running
    product of a one with a_i replaced by 1, for each i), so it never divides by zero."""
    x = _tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x * 1
    return Cumprod.apply(x, check_dim(dim, x.ndim, "cumprod"))


class Cumprod(Function):
    """Running product along ``dim`` (see ``cumprod``)."""
    rule = "d/da_i = Σ_{j≥i} grad_j · prod_j / a_i"

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        data = a._data if a._data.dtype.kind == "f" else a._data.astype(np.int64)
        out = _make(np.cumprod(data, axis=dim))
        ctx.has_zeros = bool((data == 0).any())
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        dim = ctx.dim
        if not ctx.has_zeros:  # reverse running sum of grad * out, divided by a
            return flip(Cumsum.apply(flip(grad * out, (dim,)), dim), (dim,)) / a, None
        # zeros: M[i, k] = prod_{j <= k, j != i} a_j for k >= i; grad_a_i = sum_k M[i, k] grad_k
        n = a.shape[dim]
        moved = a.transpose(dim, -1) if a.ndim > 1 else a           # (..., n)
        eye = np.eye(n, dtype=bool)
        one_out = Where.apply(eye, 1.0, moved.unsqueeze(-2))      # (..., n_i, n_j): a_i -> 1
        running = Cumprod.apply(one_out, one_out.ndim - 1)        # (..., n_i, n_k)
        upper = np.triu(np.ones((n, n), dtype=bool))
        g = (grad.transpose(dim, -1) if grad.ndim > 1 else grad).unsqueeze(-2)
        out = (Where.apply(upper, running, 0.0) * g).sum(-1)      # (..., n_i)
        return (out.transpose(dim, -1) if a.ndim > 1 else out), None


def prod(x, dim=None, keepdim=False, dtype=None):
    """Product of the elements (over ``dim``): the last entry of the running product, so the
    gradient is exact with zeros too."""
    x = _tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:  # 1, in the graph (gradient: none to spread)
            return x.sum() * 0 + 1
        return cumprod(flat, 0)[-1]
    if x.ndim == 0:
        return x * 1
    axis = check_dim(dim, x.ndim, "prod")
    if x.shape[axis] == 0:  # ones, in the graph
        return x.sum(axis, keepdim) * 0 + 1
    index = (slice(None),) * axis + (slice(-1, None) if keepdim else -1,)
    return cumprod(x, axis)[index]


# --------------------------------------------------------------------- piecewise constant
def zero_gradient(x, values):
    """``values`` (an array of x's shape) as a Tensor whose gradient with respect to x is 0: part
    of the graph when x requires grad, as PyTorch's floor/round/sign are."""
    values = np.asarray(values)
    if isinstance(x, Tensor) and x.requires_grad and is_grad_enabled() and values.dtype.kind == "f":
        return Where.apply(np.zeros(values.shape, bool), x, _make(values.astype(x.dtype, copy=False)))
    return _make(values)


def _rounding(name, fn):
    def op(x):
        x = _tensor(x)
        return zero_gradient(x, fn(x._data) if x._data.dtype.kind == "f" else x._data.copy())
    op.__name__ = name
    op.__doc__ = f"Elementwise {name}; the gradient is 0 (as in PyTorch)."
    return op


floor = _rounding("floor", np.floor)
ceil = _rounding("ceil", np.ceil)
trunc = _rounding("trunc", np.trunc)


def round(x, decimals=0):  # noqa: A001  (PyTorch's name)
    """Round half to even (as PyTorch), to ``decimals`` places; the gradient is 0."""
    x = _tensor(x)
    return zero_gradient(x, np.round(x._data, decimals) if x._data.dtype.kind == "f" else x._data.copy())


def sign(x):
    """-1, 0 or 1 (0 for NaN, as PyTorch); the gradient is 0."""
    x = _tensor(x)
    signs = np.sign(x._data)
    if signs.dtype.kind == "f":
        signs = np.where(np.isnan(signs), 0, signs).astype(signs.dtype, copy=False)
    return zero_gradient(x, signs)


def frac(x):
    """x - trunc(x) (keeps x's sign); the gradient is 1."""
    x = _tensor(x)
    return x - trunc(x)


def log2(x):
    return _tensor(x).log() * (1.0 / math.log(2.0))


def log10(x):
    return _tensor(x).log() * (1.0 / math.log(10.0))


def logaddexp(a, b):
    """log(exp(a) + exp(b)) without overflow: m + log(exp(a - m) + exp(b - m)) with m = max(a, b)
    held constant (the result does not depend on it); the gradient is softmax's weights."""
    a = _tensor(a, b if isinstance(b, Tensor) else None)
    b = _tensor(b, a)
    top = np.maximum(a._data, b._data)
    shift = _make(np.where(np.isfinite(top), top, 0).astype(top.dtype if top.dtype.kind == "f"
                                                             else np.float32, copy=False))
    return ((a - shift).exp() + (b - shift).exp()).log() + shift


def diff(x, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim``: out[i] = x[i + 1] - x[i], n times (with
    ``prepend``/``append`` joined to x along ``dim`` first)."""
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("diff: expected a tensor with at least one dim, got a 0-d tensor")
    axis = check_dim(dim, x.ndim, "diff")
    if prepend is not None or append is not None:
        from .composite import cat
        parts = [_tensor(p, x) for p in (prepend, x, append) if p is not None]
        x = cat([p.expand(*(x.shape[:axis] + (p.shape[axis] if p.ndim else 1,) + x.shape[axis + 1:]))
                 if p.ndim < x.ndim else p for p in parts], axis)
    before = (slice(None),) * axis
    for _ in range(n):
        x = x[before + (slice(1, None),)] - x[before + (slice(0, x.shape[axis] - 1),)]
    return x


def hypot(a, b):
    """sqrt(a^2 + b^2)."""
    a, b = _tensor(a, b), _tensor(b, a)
    return (a * a + b * b).sqrt()


def lerp(start, end, weight):
    """start + weight (end - start)."""
    start = _tensor(start)
    return start + weight * (_tensor(end, start) - start)


def _quotient_op(name, round_quotient):
    def op(a, b):
        a_t = _tensor(a, b if isinstance(b, Tensor) else None)
        b_t = _tensor(b, a_t)
        if a_t.dtype.kind != "f" and b_t.dtype.kind != "f":
            return _make(np.asarray((np.remainder if name == "remainder" else np.fmod)(a_t._data, b_t._data)))
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = round_quotient(np.asarray(a_t._data / b_t._data))
        return a_t - b_t * _make(quotient.astype(np.result_type(a_t._data, b_t._data), copy=False))
    op.__name__ = name
    return op


remainder = _quotient_op("remainder", np.floor)  # a - b floor(a / b): the sign of b, Python's %
fmod = _quotient_op("fmod", np.trunc)            # a - b trunc(a / b): the sign of a, C's fmod
remainder.__doc__ = "a - b floor(a / b) (the result has b's sign); d/da = 1, d/db = -floor(a / b)."
fmod.__doc__ = "a - b trunc(a / b) (the result has a's sign); d/da = 1, d/db = -trunc(a / b)."


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values by
    default); the gradient passes where x was finite."""
    x = _tensor(x)
    if x.dtype.kind != "f":
        return x * 1
    finite = np.isfinite(x._data)
    if finite.all():
        return x * 1
    replaced = np.nan_to_num(x._data, nan=nan, posinf=posinf, neginf=neginf)
    return Where.apply(finite, x, _make(replaced))


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p); p may be
    "fro" (= 2), inf, -inf or 0 (the count of non-zeros)."""
    x = _tensor(x)
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating point tensor, got dtype {x.dtype}")
    if p in ("fro", None):
        p = 2
    if p == "nuc" or isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (use 'fro' or a number)")
    axes = reduction_axes(dim, None, x.ndim)
    if p == math.inf:
        return abs(x).amax(axes, keepdim) if x.numel() else _make(np.zeros((), x.dtype))
    if p == -math.inf:
        return abs(x).amin(axes, keepdim)
    if p == 0:  # (the graph's link to x goes through a sum of x's shape, so the result has the
        #          reduced shape; its gradient is 0)
        counts = (x._data != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        return zero_gradient(x.sum(axes, keepdim), counts)
    if p == 1:
        return abs(x).sum(axes, keepdim)
    if p == 2:
        return _root((x * x).sum(axes, keepdim), 0.5)
    return _root((abs(x) ** p).sum(axes, keepdim), 1.0 / p)


def _root(total, power):
    """``total ** power`` for a p-norm (power = 1/p): where the total is 0 (a zero vector) the
    value is 0 and the gradient 0, as PyTorch's norm gives it, where for p > 1 the power's
    derivative there would be inf and the chain rule inf * 0 = NaN."""
    zero = total._data == 0
    if not zero.any():
        return total ** power
    lifted = Where.apply(zero, _make(np.ones((), total.dtype)), total) ** power  # (finite gradient)
    return Where.apply(zero, _make(np.zeros((), total.dtype)), lifted)

