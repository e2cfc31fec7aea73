"""Products with PyTorch's names and shape rules, composites of ``MatMul``, ``Mul`` and ``Sum``:
``dot mv bmm outer addmm addmv baddbmm einsum``. Each checks its operands' shapes and names them
in the error."""
from __future__ import annotations

import string

import numpy as np

from .composite import matmul
from .mathops import _tensor
from .indexing import diagonal


def _check(what, a, b, ndims):
    if (a.ndim, b.ndim) != ndims:
        raise ValueError(f"{what}: expected operands with {ndims[0]} and {ndims[1]} dims, got shapes "
                         f"{a.shape} and {b.shape}")


def dot(a, b):
    """Inner product of two 1-D tensors of the same length."""
    a, b = _tensor(a, b), _tensor(b, a)
    _check("dot", a, b, (1, 1))
    if a.shape != b.shape:
        raise ValueError(f"dot: the vectors have different lengths {a.shape[0]} and {b.shape[0]}")
    return matmul(a, b)


def mv(matrix, vector):
    """Matrix (n, m) times vector (m,)."""
    matrix, vector = _tensor(matrix, vector), _tensor(vector, matrix)
    _check("mv", matrix, vector, (2, 1))
    return matmul(matrix, vector)


def bmm(a, b):
    """Batched matrix product: (B, n, k) @ (B, k, m) -> (B, n, m), without broadcasting."""
    a, b = _tensor(a, b), _tensor(b, a)
    _check("bmm", a, b, (3, 3))
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {a.shape} and {b.shape}")
    return matmul(a, b)


def outer(a, b):
    """a (n,) outer b (m,) -> (n, m): out[i, j] = a[i] b[j]."""
    a, b = _tensor(a, b), _tensor(b, a)
    _check("outer", a, b, (1, 1))
    return a.reshape(-1, 1) * b.reshape(1, -1)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta input + alpha (mat1 @ mat2); ``input`` broadcasts to the product's shape."""
    mat1, mat2 = _tensor(mat1, mat2), _tensor(mat2, mat1)
    _check("addmm", mat1, mat2, (2, 2))
    return _scaled_sum(input, matmul(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta input + alpha (mat @ vec)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta input + alpha bmm(batch1, batch2)."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    product = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch ignores input (even NaN) when beta is 0
        shape = np.broadcast_shapes(_tensor(input, product).shape, product.shape)
        return product if product.shape == shape else product.expand(*shape)
    input = _tensor(input, product)
    return (input if beta == 1 else input * beta) + product


# ------------------------------------------------------------------------------- einsum
def _parse(equation, operands):
    """Subscripts per operand and for the output, with '...' replaced by fresh capital letters."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operands, got "
                         f"{len(operands)}")
    ellipsis_dims = 0
    for term, x in zip(terms, operands):
        letters = term.replace("...", "")
        if not all(c in string.ascii_letters for c in letters):
            raise ValueError(f"einsum: subscripts must be letters, got {term!r}")
        if "..." in term:
            ellipsis_dims = max(ellipsis_dims, x.ndim - len(letters))
        elif len(letters) != x.ndim:
            raise ValueError(f"einsum: the subscripts {term!r} name {len(letters)} dims, but the "
                             f"operand has shape {x.shape}")
    fresh = "".join(c for c in string.ascii_uppercase if c not in equation)[:ellipsis_dims]
    expanded = []
    for term, x in zip(terms, operands):
        if "..." in term:
            count = x.ndim - len(term.replace("...", ""))
            term = term.replace("...", fresh[len(fresh) - count:] if count else "")
        expanded.append(term)
    if arrow:
        output = output.replace("...", fresh)
    else:  # implicit output: the ellipsis dims, then the letters used once, in alphabetical order
        counts = {}
        for term in expanded:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        output = fresh + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fresh))
    return expanded, output


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum`` (``'ij,jk->ik'``, ``'bij,bjk->bik'``, ``'ii->i'``,
    ``'...ij->...ji'``, implicit outputs): each operand is brought to one shared order of all the
    letters (repeated letters within an operand take its diagonal), the operands multiplied with
    broadcasting, and the letters missing from the output summed away."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [_tensor(x) for x in operands]
    terms, output = _parse(equation, operands)
    for c in output:
        if output.count(c) > 1 or not any(c in t for t in terms):
            raise ValueError(f"einsum: output subscript {c!r} is repeated or names no input dim")
    letters = list(dict.fromkeys(output + "".join(terms)))
    sizes = {}
    aligned = []
    for term, x in zip(terms, operands):
        while any(term.count(c) > 1 for c in term):  # 'ii': take the diagonal
            c = next(c for c in term if term.count(c) > 1)
            first, second = term.index(c), term.index(c, term.index(c) + 1)
            x = diagonal(x, 0, first, second)
            term = "".join(t for k, t in enumerate(term) if k not in (first, second)) + c
        for c, s in zip(term, x.shape):
            if sizes.get(c, 1) != s and s != 1:
                if c in sizes and sizes[c] != 1:
                    raise ValueError(f"einsum: subscript {c!r} has size {s} in one operand and "
                                     f"{sizes[c]} in another")
            sizes[c] = max(sizes.get(c, 1), s)
        present = [c for c in letters if c in term]
        x = x.permute(*[term.index(c) for c in present]) if x.ndim > 1 else x
        aligned.append(x.reshape(tuple(x.shape[present.index(c)] if c in term else 1 for c in letters)))
    product = aligned[0]
    for x in aligned[1:]:
        product = product * x
    summed = tuple(i for i, c in enumerate(letters) if c not in output)
    if summed:
        product = product.sum(summed)
    shape = tuple(sizes.get(c, 1) for c in output)
    return product if product.shape == shape else product.expand(*shape)
