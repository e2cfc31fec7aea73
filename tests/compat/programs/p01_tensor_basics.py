"""Tensors: creation, arithmetic with broadcasting, reductions, indexing, dtypes."""
import numpy as np
import torch

data = np.arange(12, dtype=np.float32).reshape(3, 4) / 7.0
x = torch.tensor(data)
y = torch.ones(4) * 2.5
z = x * y - x / (y + 1) + x ** 2
results = {
    "z": z,
    "sum": z.sum(),
    "mean_dim0": z.mean(dim=0),
    "max_dim1": z.max(dim=1).values,
    "argmax_dim1": z.argmax(dim=1),
    "row": z[1],
    "column": z[:, 2],
    "masked": z[z > 1.0],
    "shape": list(z.shape),
    "dtype_is_float32": z.dtype == torch.float32,
    "zeros_like": torch.zeros_like(z).sum(),
    "arange": torch.arange(0, 10, 3),
    "linspace": torch.linspace(0, 1, 5),
    "eye": torch.eye(3),
    "full": torch.full((2, 2), 7.0),
}
