"""Higher derivatives with torch.autograd.grad and create_graph=True."""
import torch

x = torch.tensor([0.5, 1.5, -1.0], requires_grad=True)
y = (x ** 3 + x.sin()).sum()
(first,) = torch.autograd.grad(y, x, create_graph=True)
(second,) = torch.autograd.grad(first.sum(), x)
v = torch.tensor([1.0, 0.0, 2.0])
f = (x.exp() * x).sum()
(g,) = torch.autograd.grad(f, x, create_graph=True)
(hvp,) = torch.autograd.grad(g, x, grad_outputs=v)
results = {"first": first, "second": second, "hvp": hvp}
