"""A hand-written update loop: p.data and in-place updates under no_grad."""
import torch

w = torch.tensor([1.0, -1.0], requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
xs = torch.tensor([[1.0, 2.0], [2.0, 0.5], [-1.0, 1.0]])
ys = torch.tensor([1.0, 0.0, 2.0])
trace = []
for step in range(20):
    loss = ((xs @ w + b - ys) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad.zero_()
    b.data -= 0.1 * b.grad.data
    b.grad = None
    trace.append(loss.item())
results = {"trace": trace, "w": w, "b": b, "loss_format": f"{loss:.4f}"}
