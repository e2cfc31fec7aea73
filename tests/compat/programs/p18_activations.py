"""Activation modules and functions on the same inputs, with gradients."""
import torch
import torch.nn as nn
import torch.nn.functional as F

x = torch.linspace(-3, 3, 13, dtype=torch.float64, requires_grad=True)
outs = {
    "relu": nn.ReLU()(x), "leaky": nn.LeakyReLU(0.2)(x), "elu": nn.ELU()(x), "selu": nn.SELU()(x),
    "gelu": nn.GELU()(x), "gelu_tanh": F.gelu(x, approximate="tanh"), "silu": nn.SiLU()(x),
    "softplus": nn.Softplus()(x), "sigmoid": torch.sigmoid(x), "tanh": torch.tanh(x),
    "softmax": nn.Softmax(dim=0)(x), "log_softmax": F.log_softmax(x, dim=0),
}
sum(o.sum() for o in outs.values()).backward()
results = dict(outs, grad=x.grad)
