"""Gradient clipping by norm and by value inside a training step."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(7)
model = nn.Linear(4, 2)
with torch.no_grad():
    model.weight.copy_(torch.tensor(rng.standard_normal((2, 4)).astype(np.float32) * 3))
    model.bias.zero_()
x = torch.tensor(rng.standard_normal((8, 4)).astype(np.float32) * 5)
loss = model(x).pow(2).sum()
loss.backward()
norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
clipped = model.weight.grad.clone()
nn.utils.clip_grad_value_(model.parameters(), clip_value=0.05)
results = {"norm": norm, "clipped": clipped, "value_clipped": model.weight.grad}
