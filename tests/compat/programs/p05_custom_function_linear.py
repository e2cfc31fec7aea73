"""A custom linear Function that checks ctx.needs_input_grad and handles an optional bias."""
import torch


class LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


torch.manual_seed(0)
inp = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=torch.float64, requires_grad=True)
weight = torch.tensor([[0.1, 0.2, 0.3], [-0.3, 0.1, 0.0]], dtype=torch.float64, requires_grad=True)
bias = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
out = LinearFunction.apply(inp, weight, bias)
(out ** 2).sum().backward()
no_bias = LinearFunction.apply(inp.detach(), weight)
results = {"out": out, "grad_input": inp.grad, "grad_weight": weight.grad, "grad_bias": bias.grad,
           "no_bias": no_bias}
