"""Classification with TensorDataset, DataLoader (no shuffle), Adam and CrossEntropyLoss."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(2)
features = rng.standard_normal((96, 5)).astype(np.float32)
labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (features[:, 2] > 1).astype(np.int64)
dataset = TensorDataset(torch.tensor(features), torch.tensor(labels))
loader = DataLoader(dataset, batch_size=16, shuffle=False)
model = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
epoch_losses = []
for epoch in range(5):
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    epoch_losses.append(total / len(dataset))
with torch.no_grad():
    accuracy = (model(torch.tensor(features)).argmax(dim=1) == torch.tensor(labels)).float().mean()
results = {"epoch_losses": epoch_losses, "accuracy": accuracy, "batches": len(loader)}
