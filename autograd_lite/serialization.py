"""Weights and checkpoints on disk: ``ag.save(obj, path)`` and ``ag.load(path)`` in the safetensors
format, never pickle.

A safetensors file is an 8-byte little-endian header length, a JSON header (name -> dtype, shape,
byte range; plus string metadata) and the raw little-endian bytes. It holds data only, so loading a
file can never run code, and PyTorch reads its tensors with ``safetensors.torch.load_file``.

Two layouts, chosen by what is saved:

* **Flat** -- a mapping {str: Tensor or array}, e.g. ``model.state_dict()``: one safetensors entry
  per key, and ``load`` returns an ordered {name: Tensor}, exactly as PyTorch's tools expect.
* **Structured** -- anything else: a bare tensor (stored as ``value``), a list or tuple of
  tensors, or a nested mapping such as an optimizer's ``state_dict()``
  ({'state': {0: {'step': 3, 'exp_avg': array}}, 'param_groups': [{'lr': 0.1, 'betas': (0.9,
  0.999), ..., 'params': [0, 1]}]}), a scheduler's, or a checkpoint such as
  ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``. Every tensor,
  array and NumPy scalar becomes a safetensors entry named by its path, the keys joined by dots
  (``optimizer.state.0.exp_avg``; ``#2`` is appended if two paths spell the same name), and
  everything else -- the nesting, numbers, strings -- goes as JSON into the metadata entry
  ``autograd_lite.structure``: ``{"format": 1, "root": <value>}``, where a value is written as

      None, bool, int, str, finite float   the JSON literal (Python floats round-trip exactly)
      list                                  a JSON array
      dict with str keys                    a JSON object
      tuple                                 {"__ag__": "tuple", "items": [...]}
      dict with int keys (or a key          {"__ag__": "dict", "items": [[key, value], ...]}
        named "__ag__")
      inf, -inf, nan                        {"__ag__": "float", "value": "inf" | "-inf" | "nan"}
      Tensor / ndarray / NumPy scalar       {"__ag__": "tensor" | "array" | "scalar", "key": name}

  so ``load`` rebuilds the same structure with the same types: tuples stay tuples, ints ints,
  ndarrays ndarrays (writable copies), Tensors Tensors, NumPy scalars NumPy scalars; dicts come
  back as plain dicts. Any other value (a function, an arbitrary object, bytes, a complex number)
  is refused with a TypeError naming its path, as is a structure that contains itself.

Both layouts record a SHA-256 in the metadata (``autograd_lite.sha256``) over the tensors and, for
the structured layout, the structure JSON too, so a damaged number in the settings raises just like
a damaged tensor byte. Files written by other tools (no checksum) load as they are.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .arguments import check_device
from .serialization_io import (DEFAULT_MAX_HEADER_BYTES, read_header, read_widened, widened_entries,
                               write_atomically)
from .tensor import Tensor

__all__ = ["save", "load"]

_CHECKSUM_KEY = "autograd_lite.sha256"
_ORDER_KEY = "autograd_lite.order"
_STRUCTURE_KEY = "autograd_lite.structure"
_FORMAT = 1
_TAG = "__ag__"
_SUPPORTED_KINDS = "fiub"
_READABLE_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8",
                    "U64", "U32", "U16", "U8", "BOOL"}
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
_SUPPORTED_VALUES = ("tensors, arrays, NumPy scalars, None, bool, int, float, str, and lists, "
                     "tuples and dicts of these")


def _is_array_like(value):
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        return True
    return hasattr(value, "__array__") and not isinstance(value, (str, bytes, Mapping))


def _array(name, value):
    if isinstance(value, Tensor):
        array = value._data
    elif isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
    elif _is_array_like(value):
        array = np.asarray(value.detach() if hasattr(value, "detach") else value)
    else:
        raise TypeError(f"ag.save: value for key '{name}' is a {type(value).__name__}; only tensors "
                        "and arrays can be saved (safetensors stores tensors, not Python objects)")
    if array.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(f"ag.save: key '{name}' has unsupported dtype {array.dtype}")
    return array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d shapes


def _checksum(arrays, structure=None):
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = arrays[name]
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())
    if structure is not None:
        digest.update(b"structure|" + structure.encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------- structured
class _Encoder:
    """Turns a nested value into JSON-ready data, collecting its arrays under dotted path names."""

    def __init__(self):
        self.arrays = OrderedDict()
        self._open = set()  # ids of the containers being encoded (a cycle would recurse forever)

    def encode(self, value, path):
        if isinstance(value, Tensor):
            return self._tensor("tensor", value, path)
        if isinstance(value, np.ndarray):
            return self._tensor("array", value, path)
        if isinstance(value, np.generic):
            return self._tensor("scalar", value, path)
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            if math.isfinite(value):
                return value
            return {_TAG: "float", "value": "nan" if math.isnan(value) else repr(value)}
        if type(value) in (list, tuple) or isinstance(value, Mapping):
            if id(value) in self._open:
                raise ValueError(f"ag.save: the value at '{path}' contains itself")
            self._open.add(id(value))
            try:
                return self._container(value, path)
            finally:
                self._open.discard(id(value))
        if _is_array_like(value):
            return self._tensor("tensor", value, path)  # e.g. a PyTorch tensor: loads as a Tensor
        kind = "function" if inspect.isroutine(value) else f"{type(value).__name__} object"
        raise TypeError(f"ag.save: value for key '{path}' is a {kind}; a checkpoint can hold "
                        f"{_SUPPORTED_VALUES}")

    def _container(self, value, path):
        if isinstance(value, list):
            return [self.encode(item, _join(path, i)) for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {_TAG: "tuple",
                    "items": [self.encode(item, _join(path, i)) for i, item in enumerate(value)]}
        for key in value:
            if type(key) not in (str, int):
                raise TypeError(f"ag.save: key {key!r} in '{path or '<top level>'}' is a "
                                f"{type(key).__name__}; dict keys must be str or int")
        if all(type(key) is str for key in value) and _TAG not in value:
            return {key: self.encode(item, _join(path, key)) for key, item in value.items()}
        return {_TAG: "dict",
                "items": [[key, self.encode(item, _join(path, key))] for key, item in value.items()]}

    def _tensor(self, kind, value, path):
        path = path or "value"  # a bare tensor saved on its own
        name, copy = path, 2
        while name in self.arrays or name == "__metadata__":   # reserved by safetensors
            name, copy = f"{path}#{copy}", copy + 1
        self.arrays[name] = _array(path, value)
        return {_TAG: kind, "key": name}


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


class _Decoder:
    """The inverse of ``_Encoder``: rebuilds the value from the JSON and the file's arrays."""

    def __init__(self, arrays, where):
        self.arrays, self.where, self.used = arrays, where, set()

    def fail(self, what):
        raise ValueError(f"ag.load: {self.where} is corrupted: its structure metadata (entry "
                         f"'{_STRUCTURE_KEY}') {what}")

    def decode(self, data):
        if data is None or type(data) in (bool, int, float, str):
            return data
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if not isinstance(data, dict):
            self.fail(f"holds an unexpected {type(data).__name__}")
        tag = data.get(_TAG)
        if tag is None:
            return {key: self.decode(item) for key, item in data.items()}
        if tag == "tuple":
            return tuple(self.decode(item) for item in self._field(data, "items", list))
        if tag == "dict":
            out = {}
            for pair in self._field(data, "items", list):
                if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) in (str, int)):
                    self.fail(f"has a malformed dict item {pair!r}")
                out[pair[0]] = self.decode(pair[1])
            return out
        if tag == "float":
            text = self._field(data, "value", str)
            if text not in _NON_FINITE:
                self.fail(f"has an unknown float {text!r}")
            return _NON_FINITE[text]
        if tag in ("tensor", "array", "scalar"):
            name = self._field(data, "key", str)
            if name not in self.arrays or name in self.used:
                self.fail(f"refers to a missing or repeated tensor '{name}'")
            self.used.add(name)
            array = self.arrays[name]
            if tag == "scalar":
                return array[()]
            array = array if array.flags.writeable else array.copy()
            return Tensor(array) if tag == "tensor" else array
        self.fail(f"has an unknown tag {tag!r}")

    def _field(self, data, field, kind):
        value = data.get(field)
        if not isinstance(value, kind) or len(data) != 2:
            self.fail(f"has a malformed '{data.get(_TAG)}' entry")
        return value


def _refuse_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


# ---------------------------------------------------------------------------------- public API
def save(obj, path, metadata=None):
    """Write ``obj`` to ``path`` (safetensors). ``obj`` is {name: Tensor or array}
    (``model.state_dict()``, stored flat) or anything else built of tensors, arrays, numbers and
    strings in dicts, lists and tuples: a bare tensor, a list of tensors, ``opt.state_dict()``,
    ``{"model": ..., "optimizer": ..., "epoch": 3}`` (see the module docstring for the layout).
    ``metadata`` is an optional {str: str} stored in the header. The file appears complete or not
    at all (see ``serialization_io``), with the permissions ``open()`` would give it."""
    from safetensors.numpy import save as save_bytes
    if hasattr(obj, "state_dict") and not hasattr(obj, "items"):
        raise TypeError(f"ag.save takes a state dict: pass model.state_dict() or "
                        f"optimizer.state_dict(), not the {type(obj).__name__} itself")
    if not isinstance(obj, (Mapping, list, tuple)) and not _is_array_like(obj):
        raise TypeError(f"ag.save: expected a tensor, or a dict, list or tuple of them (a state "
                        f"dict, a checkpoint), got {type(obj).__name__}")
    meta = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"ag.save: metadata must map str to str, got {key!r}: {value!r}")
        if key.startswith("autograd_lite."):
            raise ValueError(f"ag.save: metadata key {key!r} is reserved for autograd_lite")
        meta[key] = value
    flat = isinstance(obj, Mapping) and all(type(key) is str for key in obj) and \
        all(_is_array_like(v) for v in obj.values())
    if flat:
        if "__metadata__" in obj:
            raise ValueError("ag.save: '__metadata__' is reserved by safetensors and can't be a "
                             "tensor name")
        arrays = OrderedDict((name, _array(name, value)) for name, value in obj.items())
        meta[_ORDER_KEY] = json.dumps(list(arrays))
        meta[_CHECKSUM_KEY] = _checksum(arrays)
    else:
        encoder = _Encoder()
        root = encoder.encode(obj, "")
        arrays = encoder.arrays
        structure = json.dumps({"format": _FORMAT, "root": root}, allow_nan=False)
        meta[_STRUCTURE_KEY] = structure
        meta[_CHECKSUM_KEY] = _checksum(arrays, structure)
    write_atomically(os.fspath(path), save_bytes(dict(arrays), metadata=meta))


def load(path, map_location=None, weights_only=True, mmap=None, *,
         max_header_bytes=DEFAULT_MAX_HEADER_BYTES, **ignored):
    """Read a file written by ``save`` (or any safetensors file, e.g. PyTorch's). A flat file gives
    an ordered {name: Tensor}; a structured one gives back the saved structure (a tensor, list,
    tuple or dict, as saved). Raises ValueError naming the file when it is truncated, corrupted or
    not a safetensors file, and refuses a header above ``max_header_bytes`` before reading it.
    bfloat16 and float8 tensors load as float32 (with a one-time note), float16 as float16; other
    dtypes NumPy cannot hold are refused by name. ``map_location`` (the CPU only), ``weights_only``
    and ``mmap`` are accepted as in PyTorch: a safetensors file only holds data."""
    from safetensors import SafetensorError, safe_open
    _check_map_location(map_location)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ag.load: no such file: {path}")
    header = read_header(path, os.path.getsize(path), max_header_bytes)
    for name, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if name != "__metadata__" and dtype not in _READABLE_DTYPES:
            raise ValueError(f"ag.load: {path}: tensor '{name}' has dtype {dtype}, which autograd-lite "
                             f"cannot load (it reads {', '.join(sorted(_READABLE_DTYPES))})")
    widened = widened_entries(header)
    try:
        arrays = read_widened(path, header, widened)
        with safe_open(path, framework="numpy") as reader:
            metadata = reader.metadata() or {}
            arrays.update((name, reader.get_tensor(name)) for name in reader.keys()
                          if name not in arrays)
    except (SafetensorError, OSError, ValueError, UnicodeDecodeError, KeyError, TypeError) as error:
        if str(error).startswith("ag.load"):
            raise
        raise ValueError(f"ag.load: {path} is truncated or corrupted (not a valid safetensors "
                         f"file): {error}") from None
    structure = metadata.get(_STRUCTURE_KEY)
    expected = metadata.get(_CHECKSUM_KEY)
    if expected is not None and _checksum(arrays, structure) != expected:
        raise ValueError(f"ag.load: {path} is corrupted: the checksum of its contents does not "
                         "match the one recorded when it was saved")
    if structure is not None:
        return _load_structure(path, structure, arrays)
    order = _metadata_json(path, metadata, _ORDER_KEY) if _ORDER_KEY in metadata else sorted(arrays)
    if not isinstance(order, list) or sorted(map(str, order)) != sorted(arrays):
        order = sorted(arrays)
    out = OrderedDict()
    for name in order:
        array = arrays[name]
        if not array.flags.writeable:
            array = array.copy()
        out[name] = Tensor(array)
    return out


def _check_map_location(map_location):
    """PyTorch's ``map_location``: a device, its name, a {saved: target} dict or a function; every
    target must be the CPU (a function is trusted to return the CPU, the only place tensors live)."""
    from .device import check_device
    if map_location is None or callable(map_location) and not isinstance(map_location, (str, bytes)):
        return
    targets = map_location.values() if isinstance(map_location, Mapping) else [map_location]
    for target in targets:
        check_device(target, "ag.load(map_location)")


def _metadata_json(path, metadata, key):
    try:
        return json.loads(metadata[key], parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"ag.load: {path} is corrupted: its metadata entry '{key}' is not valid "
                         f"JSON ({error})") from None


def _load_structure(path, structure, arrays):
    decoder = _Decoder(arrays, path)
    try:
        document = json.loads(structure, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        decoder.fail(f"is not valid JSON ({error})")
    if not isinstance(document, dict) or set(document) != {"format", "root"}:
        decoder.fail("lacks its 'format' and 'root' entries")
    if document["format"] != _FORMAT:
        raise ValueError(f"ag.load: {path} uses structure format {document['format']!r}; this "
                         f"version of autograd_lite reads format {_FORMAT}")
    try:
        value = decoder.decode(document["root"])
    except RecursionError:
        decoder.fail("is nested too deeply")
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        decoder.fail(f"does not mention the tensor(s) {unused}")
    return value
