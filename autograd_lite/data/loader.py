"""``DataLoader``: iterate over a dataset in mini-batches, optionally shuffled.

Each pass (``for batch in loader``) draws a fresh permutation from the framework's random generator
when ``shuffle=True``, so ``ag.manual_seed(n)`` before training makes the whole sequence of batches
reproducible, as ``torch.manual_seed`` does for ``torch.utils.data.DataLoader``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..random import generator as _default_generator
from ..tensor import Tensor


class DataLoader:
    """``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
    generator=None, num_workers=0, pin_memory=False)``.

    Yields batches made by ``collate_fn`` (default: ``default_collate``, which stacks samples along a
    new first dimension). With ``drop_last=True`` a last batch smaller than ``batch_size`` is left
    out; ``len(loader)`` is the number of batches per pass. ``generator`` (a
    ``numpy.random.Generator``) replaces the framework's generator for shuffling. ``num_workers``
    and ``pin_memory`` are accepted so that PyTorch code runs unchanged: batches are always made in
    the main process (a batch of a ``TensorDataset`` is one NumPy fancy-index per tensor).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, num_workers=0, pin_memory=False):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or \
                num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got "
                             f"{num_workers!r}")
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.generator = generator

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or _default_generator()).permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        fetch = getattr(self.dataset, "get_batch", None) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fetch is not None:
                yield fetch(indices)
            else:
                yield collate([self.dataset[int(i)] for i in indices])

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})")


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Tensors and arrays are stacked along a new dimension 0; Python numbers become a 1-D Tensor
    (ints as int64, floats as float32); tuples, lists and dicts are collated field by field;
    strings are returned as a list.
    """
    if not samples:
        raise ValueError("default_collate: empty list of samples")
    first = samples[0]
    if isinstance(first, Tensor):
        return Tensor._make(np.stack([s._data for s in samples]))
    if isinstance(first, (np.ndarray, np.generic)):
        return Tensor._make(np.stack(samples))
    if isinstance(first, (numbers.Number, np.bool_)):
        return Tensor(list(samples))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: every sample must have the same number of fields, got "
                             f"{sorted({len(s) for s in samples})}")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        if hasattr(first, "_fields"):  # a namedtuple keeps its type
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; pass a "
                    "collate_fn")
