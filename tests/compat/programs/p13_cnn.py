"""A small CNN (Conv2d, ReLU, MaxPool2d, Flatten, Linear) with copied weights: loss and gradients."""
import numpy as np
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)


rng = np.random.default_rng(3)
net = Net().double()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.3))
images = torch.tensor(rng.standard_normal((6, 1, 8, 8)))
targets = torch.tensor(rng.integers(0, 3, 6))
loss = nn.functional.cross_entropy(net(images), targets)
loss.backward()
results = {"loss": loss, "conv_grad": net.conv.weight.grad, "fc_grad": net.fc.weight.grad,
           "out_shape": list(net(images).shape)}
