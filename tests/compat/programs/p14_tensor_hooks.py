"""Tensor hooks: inspect and rescale an intermediate gradient; retain_grad."""
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
h = x * 2
seen = []
handle = h.register_hook(lambda g: seen.append(g.clone()))
h2 = h.exp()
h2.retain_grad()
h2.register_hook(lambda g: g * 0.5)
(h2 * x).sum().backward()
handle.remove()
results = {"seen": seen[0], "x_grad": x.grad, "h2_grad": h2.grad}
