"""Datasets: indexable collections of samples, as in ``torch.utils.data``.

A dataset has ``__len__`` and ``__getitem__(i)`` returning one sample (for a ``TensorDataset``, a tuple
with the i-th row of each tensor). Datasets that can fetch many samples at once with one NumPy
fancy-index also offer ``get_batch(indices)``; ``DataLoader`` uses it when present, so a batch of a
``TensorDataset`` costs one indexing per tensor instead of one Python call per sample.
"""
from __future__ import annotations

import math

import numpy as np

from ..random import generator as _default_generator
from ..tensor import Tensor


class Dataset:
    """Base class: subclasses implement ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are the rows (first dimension) of the given tensors: ``ds[i] == (t0[i], t1[i], ...)``.

    Accepts Tensors, NumPy arrays or nested lists (converted as ``ag.Tensor`` does). All must have the
    same length along dimension 0. Samples carry no graph: they are data, not parameters.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        for position, t in enumerate(self.tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {position} is 0-dimensional; every tensor "
                                 "needs a first dimension that indexes the samples")
        lengths = [t.shape[0] for t in self.tensors]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise ValueError(f"TensorDataset: size mismatch between tensors along dimension 0: got "
                             f"shapes {shapes}")

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, (int, np.integer)) and not -n <= index < n:
            raise IndexError(f"TensorDataset: index {index} is out of range for a dataset of length {n}")
        return tuple(Tensor._make(np.asarray(t._data[index])) for t in self.tensors)

    def get_batch(self, indices):
        """The samples at ``indices`` already stacked: one tuple of Tensors with a batch dimension."""
        return tuple(Tensor._make(t._data[indices]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: indices must be 1-D, got shape {self.indices.shape}")
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of length {n}")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        inner = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        from .loader import default_collate
        return default_collate([self.dataset[int(i)] for i in inner])


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are either counts summing to ``len(dataset)`` or fractions summing to 1; fractions are
    floored and the remaining samples handed out one at a time from the first subset on, as PyTorch
    does. The permutation comes from ``generator`` (a ``numpy.random.Generator``) or from the
    framework's generator, so ``ag.manual_seed`` makes the split reproducible.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths):
        if any(x < 0 for x in lengths) or not math.isclose(sum(lengths), 1.0):
            raise ValueError(f"random_split: fractions must be non-negative and sum to 1, got {lengths}")
        counts = [int(math.floor(n * x)) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths must be non-negative counts summing to the dataset's "
                         f"length {n} (or fractions summing to 1), got {lengths}")
    order = (generator or _default_generator()).permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets
