"""Sequential built from an OrderedDict, ModuleList in a loop, parameter counting and repr names."""
from collections import OrderedDict

import torch
import torch.nn as nn

model = nn.Sequential(OrderedDict([("hidden", nn.Linear(3, 4)), ("act", nn.Tanh()),
                                   ("out", nn.Linear(4, 1))]))


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x


stack = Stack()
with torch.no_grad():
    for i, p in enumerate(stack.parameters()):
        p.fill_(0.1 * (i + 1))
    for i, p in enumerate(model.parameters()):
        p.fill_(-0.05 * (i + 1))
results = {
    "keys": list(model.state_dict().keys()),
    "stack_keys": list(stack.state_dict().keys()),
    "children": [name for name, _ in model.named_children()],
    "stack_out": stack(torch.tensor([[1.0, -1.0]])),
    "model_out": model(torch.tensor([[1.0, 2.0, 3.0]])),
    "n_modules": len(list(stack.modules())),
    "hidden_is_linear": isinstance(model.hidden, nn.Linear),
}
