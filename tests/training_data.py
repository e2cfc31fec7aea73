"""Small data and models shared by the training tests."""
import numpy as np

import autograd_lite as ag
import nn


def blobs(n=120, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.standard_normal((n, features)) * 0.7 + np.eye(classes, features)[y] * 2.5
    return x.astype(np.float32), y


def mlp(features=4, classes=3, hidden=8, seed=0):
    ag.manual_seed(seed)
    return nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, classes))


def params_of(model):
    return [p.detach().numpy().copy() for p in model.parameters()]
