"""One random generator for the whole framework, so ``ag.manual_seed(n)`` makes initialisation,
dropout and shuffling reproducible."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

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


_scope_lock = threading.RLock()


@contextlib.contextmanager
def use_generator(generator: np.random.Generator | None) -> Iterator[None]:
    """Within the block, initialisation, dropout and shuffling draw from ``generator``; on leaving
    it (even by an exception) the framework's generator is the one it was before, untouched, so a
    seeded piece of work (an estimator's ``fit(random_state=0)``) leaves no trace on the host's
    random stream. ``None`` changes nothing. Blocks in different threads run one at a time (the
    generator is process-wide, as PyTorch's default generator is)."""
    if generator is None:
        yield
        return
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"use_generator: expected a numpy.random.Generator or None, got "
                        f"{type(generator).__name__}")
    with _scope_lock:
        previous = _state["generator"]
        _state["generator"] = generator
        try:
            yield
        finally:
            _state["generator"] = previous


class Generator(np.random.Generator):
    """PyTorch's ``torch.Generator``: a random stream of its own, passed as ``generator=`` to
    ``randn``/``rand``/``randint``/``randperm``, ``DataLoader`` and ``random_split``. It is a NumPy
    ``Generator`` (PCG64), so NumPy's methods work on it too."""

    def __init__(self, device="cpu"):
        from .device import check_device
        check_device(device, "Generator(device)")
        self._initial_seed = int(np.random.SeedSequence().entropy % 2 ** 63)
        super().__init__(np.random.PCG64(self._initial_seed))

    def manual_seed(self, seed):
        """Restart the stream from ``seed``; returns the generator (``Generator().manual_seed(0)``)."""
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
        self._initial_seed = int(seed)
        self.bit_generator.state = np.random.PCG64(int(seed)).state
        return self

    def initial_seed(self):
        return self._initial_seed

    def seed(self):
        """Reseed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._initial_seed

    def get_state(self):
        return self.bit_generator.state

    def set_state(self, state):
        self.bit_generator.state = state
        return self
