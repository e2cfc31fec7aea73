"""The common losses with their reductions."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(5)
pred = torch.tensor(rng.standard_normal((6, 3)), requires_grad=True)
target = torch.tensor(rng.standard_normal((6, 3)))
classes = torch.tensor(rng.integers(0, 3, 6))
probs = torch.sigmoid(torch.tensor(rng.standard_normal((6, 3))))
binary = torch.tensor(rng.integers(0, 2, (6, 3)).astype(np.float64))
values = {
    "mse": nn.MSELoss()(pred, target),
    "mse_sum": nn.MSELoss(reduction="sum")(pred, target),
    "l1": nn.L1Loss()(pred, target),
    "huber": nn.HuberLoss(delta=0.5)(pred, target),
    "smooth_l1": F.smooth_l1_loss(pred, target),
    "bce": nn.BCELoss()(probs, binary),
    "bce_logits": nn.BCEWithLogitsLoss()(pred, binary),
    "ce": nn.CrossEntropyLoss()(pred, classes),
    "ce_none": F.cross_entropy(pred, classes, reduction="none"),
    "nll": nn.NLLLoss()(F.log_softmax(pred, dim=1), classes),
}
total = sum(v.sum() for v in values.values())
total.backward()
results = dict(values, grad=pred.grad)
