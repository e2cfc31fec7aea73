"""Saving and loading a state_dict; the reloaded model computes the same outputs."""
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(4)
model = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
x = torch.tensor(rng.standard_normal((4, 3)).astype(np.float32))
path = os.path.join(tempfile.mkdtemp(), "model.pt")
torch.save(model.state_dict(), path)
clone = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 2))
clone.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
clone.eval()
with torch.no_grad():
    same = torch.allclose(model(x), clone(x))
results = {"same": same, "out": clone(x).detach(), "keys": sorted(clone.state_dict())}
