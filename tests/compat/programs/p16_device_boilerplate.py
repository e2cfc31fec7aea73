"""The usual device boilerplate: pick CUDA when available, else the CPU, and move things there."""
import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Linear(2, 1).to(device)
x = torch.tensor([[1.0, 2.0]], device=device)
with torch.no_grad():
    model.weight.copy_(torch.tensor([[0.5, -0.25]]))
    model.bias.fill_(0.1)
y = model(x.to(device)).cpu()
results = {"device_type": device.type, "y": y, "cuda": torch.cuda.is_available(),
           "count": torch.cuda.device_count(), "x_device": str(x.device)}
