"""Weights on disk: ``ag.save(state_dict, path)`` and ``ag.load(path)`` in the safetensors format.

A safetensors file is an 8-byte little-endian header length, a JSON header (name -> dtype, shape,
byte range; plus string metadata) and the raw little-endian bytes. It holds data only, so loading a
file can never run code (unlike pickle), and PyTorch reads it with ``safetensors.torch.load_file``.

``save`` also records the key order and a SHA-256 of the tensors in the metadata; ``load`` restores
the order and, when the checksum is present, verifies it, so a file whose bytes were damaged raises
instead of loading wrong weights. Files written by other tools (no checksum) load as they are.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load"]

_CHECKSUM_KEY = "autograd_lite.sha256"
_ORDER_KEY = "autograd_lite.order"
_SUPPORTED_KINDS = "fiub"


def _array(name, value):
    if isinstance(value, Tensor):
        array = value.data
    elif isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    elif hasattr(value, "__array__") and not isinstance(value, (str, bytes, dict)):
        array = np.asarray(value.detach() if hasattr(value, "detach") else value)
    else:
        raise TypeError(f"ag.save: value for key '{name}' is a {type(value).__name__}; only tensors "
                        "and arrays can be saved (safetensors stores tensors, not Python objects)")
    if array.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(f"ag.save: key '{name}' has unsupported dtype {array.dtype}")
    return array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d shapes


def _checksum(arrays):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = arrays[name]
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    return digest.hexdigest()


def save(state_dict, path, metadata=None):
    """Write a mapping {name: Tensor or array} (e.g. ``model.state_dict()``) to ``path``.
    ``metadata`` is an optional {str: str} stored in the header."""
    from safetensors.numpy import save_file
    if hasattr(state_dict, "state_dict") and not hasattr(state_dict, "items"):
        raise TypeError("ag.save takes a state dict: pass model.state_dict(), not the model")
    if not hasattr(state_dict, "items"):
        raise TypeError(f"ag.save: expected a mapping of names to tensors, got "
                        f"{type(state_dict).__name__}")
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"ag.save: keys must be strings, got {name!r}")
        arrays[name] = _array(name, value)
    meta = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"ag.save: metadata must map str to str, got {key!r}: {value!r}")
        meta[key] = value
    meta[_ORDER_KEY] = json.dumps(list(arrays))
    meta[_CHECKSUM_KEY] = _checksum(arrays)
    save_file(dict(arrays), os.fspath(path), metadata=meta)


def load(path):
    """Read a safetensors file into an ordered {name: Tensor}; raises ValueError naming the file
    when it is truncated, corrupted or not a safetensors file."""
    from safetensors import SafetensorError, safe_open
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ag.load: no such file: {path}")
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) < 8:
        raise ValueError(f"ag.load: {path} is not a safetensors file ({size} bytes: too short to "
                         "hold a header; truncated?)")
    header_size = int.from_bytes(head, "little")
    if header_size + 8 > size:
        raise ValueError(f"ag.load: {path} is truncated or not a safetensors file: its header "
                         f"claims {header_size} bytes but the file has {size}")
    try:
        with safe_open(path, framework="numpy") as reader:
            metadata = reader.metadata() or {}
            arrays = {name: reader.get_tensor(name) for name in reader.keys()}
    except (SafetensorError, OSError, ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"ag.load: {path} is truncated or corrupted (not a valid safetensors "
                         f"file): {error}") from None
    expected = metadata.get(_CHECKSUM_KEY)
    if expected is not None and _checksum(arrays) != expected:
        raise ValueError(f"ag.load: {path} is corrupted: the checksum of its tensors does not match "
                         "the one recorded when it was saved")
    order = json.loads(metadata[_ORDER_KEY]) if _ORDER_KEY in metadata else sorted(arrays)
    if sorted(order) != sorted(arrays):
        order = sorted(arrays)
    out = OrderedDict()
    for name in order:
        array = arrays[name]
        if not array.flags.writeable:
            array = array.copy()
        out[name] = Tensor(array)
    return out
