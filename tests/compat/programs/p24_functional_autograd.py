"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp."""
import torch
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vjp


def f(x):
    return torch.stack([x[0] * x[1], x[0].exp() + x[1] ** 2])


def g(x):
    return (x ** 3).sum() + x.prod()


x = torch.tensor([0.5, -1.5], dtype=torch.float64)
v = torch.tensor([1.0, 2.0], dtype=torch.float64)
results = {
    "jacobian": jacobian(f, x),
    "hessian": hessian(g, x),
    "vjp": vjp(f, x, v)[1],
    "jvp": jvp(f, x, v)[1],
    "hvp": hvp(g, x, v)[1],
}
