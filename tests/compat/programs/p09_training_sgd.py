"""Linear regression trained with a plain loop: SGD, MSELoss, zero_grad/backward/step."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(1)
X = torch.tensor(rng.standard_normal((64, 3)).astype(np.float32))
true_w = torch.tensor([[2.0], [-1.0], [0.5]])
y = X @ true_w + 0.3
model = nn.Linear(3, 1)
with torch.no_grad():
    model.weight.fill_(0.0)
    model.bias.fill_(0.0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.MSELoss()
losses = []
for epoch in range(50):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
results = {"losses": losses, "weight": model.weight, "bias": model.bias}
