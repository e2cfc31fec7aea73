"""no_grad, detach, requires_grad_ and set_grad_enabled."""
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
with torch.no_grad():
    y = x * 2
z = x.detach() * 3
with torch.set_grad_enabled(False):
    w = x + 1
u = torch.tensor([3.0, 4.0]).requires_grad_()
(u * x).sum().backward()
results = {"y_requires_grad": y.requires_grad, "z_requires_grad": z.requires_grad,
           "w_requires_grad": w.requires_grad, "u_grad": u.grad, "x_grad": x.grad,
           "grad_enabled": torch.is_grad_enabled()}
