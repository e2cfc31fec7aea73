"""A custom nn.Module: parameters, state_dict keys, forward and backward with copied weights."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


rng = np.random.default_rng(0)
model = MLP()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.5))
x = torch.tensor(rng.standard_normal((5, 4)).astype(np.float32))
out = model(x)
out.pow(2).mean().backward()
results = {
    "out": out,
    "n_params": sum(p.numel() for p in model.parameters()),
    "keys": list(model.state_dict().keys()),
    "fc1_weight_grad": model.fc1.weight.grad,
    "fc2_bias_grad": model.fc2.bias.grad,
    "names": [name for name, _ in model.named_parameters()],
}
