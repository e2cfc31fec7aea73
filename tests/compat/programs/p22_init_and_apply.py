"""Deterministic nn.init functions applied through Module.apply."""
import torch
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.3)
        nn.init.zeros_(m.bias)


model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
model.apply(init_weights)
eye = torch.empty(3, 3)
nn.init.eye_(eye)
ones = torch.empty(2, 2)
nn.init.ones_(ones)
x = torch.tensor([[1.0, 2.0, 3.0]])
results = {"out": model(x), "eye": eye, "ones": ones,
           "gain_relu": nn.init.calculate_gain("relu"), "gain_tanh": nn.init.calculate_gain("tanh")}
