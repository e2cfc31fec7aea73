"""A custom autograd Function that saves its output for backward."""
import torch


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


x = torch.tensor([0.1, -0.7, 1.2], dtype=torch.float64, requires_grad=True)
out = Exp.apply(x)
(out * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
ok = torch.autograd.gradcheck(Exp.apply, (torch.tensor([0.3, -0.2], dtype=torch.float64,
                                                       requires_grad=True),))
results = {"out": out, "grad": x.grad, "gradcheck": ok}
