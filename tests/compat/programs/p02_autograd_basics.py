"""Autograd: requires_grad, backward, gradients accumulate, zeroing them."""
import torch

x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
w = torch.tensor([0.5, 0.25, -1.0], requires_grad=True)
y = (x * w).sum() + (x ** 2).mean()
y.backward()
first_x, first_w = x.grad.clone(), w.grad.clone()
y2 = (x * w).exp().sum()
y2.backward()  # accumulates
accumulated = x.grad.clone()
x.grad.zero_()
w.grad = None
(x.sin() * w.cos()).sum().backward()
results = {"y": y, "first_x": first_x, "first_w": first_w, "accumulated": accumulated,
           "x_grad": x.grad, "w_grad": w.grad, "is_leaf": x.is_leaf, "y_requires_grad": y.requires_grad}
