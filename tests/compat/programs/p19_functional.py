"""torch.nn.functional: linear, conv2d, pooling, dropout in eval, softmax, one_hot."""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(6)
x = torch.tensor(rng.standard_normal((2, 3, 6, 6)))
w = torch.tensor(rng.standard_normal((4, 3, 3, 3)))
b = torch.tensor(rng.standard_normal(4))
conv = F.conv2d(x, w, b, stride=1, padding=1)
results = {
    "conv": conv,
    "max_pool": F.max_pool2d(conv, 2),
    "avg_pool": F.avg_pool2d(conv, 2),
    "linear": F.linear(torch.flatten(conv, 1)[:, :5], torch.tensor(rng.standard_normal((2, 5)))),
    "dropout_eval": F.dropout(conv, p=0.5, training=False).sum(),
    "softmax": F.softmax(conv.mean(dim=(2, 3)), dim=1),
    "one_hot": F.one_hot(torch.tensor([0, 2, 1]), num_classes=3),
}
