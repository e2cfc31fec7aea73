"""One random generator for the whole framework, so ``ag.manual_seed(n)`` makes initialisation,
dropout and shuffling reproducible."""
from __future__ import annotations

import numpy as np

_state = {"generator": np.random.default_rng()}


def manual_seed(seed: int):
    """Reseed the generator behind initialisation, dropout, shuffling and ``ag.randn`` & co."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _state["generator"] = np.random.default_rng(int(seed))
    return _state["generator"]


def generator() -> np.random.Generator:
    return _state["generator"]
