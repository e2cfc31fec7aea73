"""Train/eval switching with Dropout: eval is deterministic; accuracy under no_grad."""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(8)
model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 2))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
x = torch.tensor(rng.standard_normal((10, 4)).astype(np.float32))
labels = torch.tensor(rng.integers(0, 2, 10))
model.eval()
with torch.no_grad():
    logits = model(x)
    predictions = logits.argmax(dim=1)
    accuracy = (predictions == labels).sum().item() / len(labels)
results = {"training_flag": model.training, "logits": logits, "predictions": predictions,
           "accuracy": accuracy, "dropout_training": model[2].training}
