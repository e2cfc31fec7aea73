"""The file side of ``ag.save`` / ``ag.load``: a bounded header read, tensors in dtypes NumPy lacks,
and saves that are atomic, clean up after themselves and respect the umask.

* **Header.** A safetensors file starts with an 8-byte little-endian length and that many bytes of
  JSON. ``read_header`` refuses a header above ``max_header_bytes`` (default 4 MiB, far above the
  ~100 bytes per tensor a model needs) *before* reading it, so a damaged or hostile length cannot
  make ``load`` allocate hundreds of MiB.
* **Reduced precision.** PyTorch writes bfloat16 (``BF16``) and float8 (``F8_E4M3`` = PyTorch's
  ``float8_e4m3fn``, ``F8_E5M2``) tensors, which NumPy cannot hold. They load as float32 (exactly:
  every such value is a float32) with one warning per process; float16 loads as float16.
  bfloat16 is the upper half of a float32, so ``bits << 16`` viewed as float32 is the value.
  E5M2 is the upper byte of a float16. E4M3fn (1 sign, 4 exponent bits with bias 7, 3 mantissa
  bits, no infinities, NaN = S.1111.111) is decoded through a 256-entry table:
  (-1)^s 2^(e-7) (1 + m/8) for e > 0, (-1)^s 2^-6 (m/8) for e = 0.
* **Saving.** The bytes go to ``.<name>.ag-save-<pid>-<random>.tmp`` in the target's folder, are
  flushed to disk and renamed over the target, so a reader never sees half a file. The temporary
  file is removed if writing fails; one left by a killed process (its pid no longer running) is
  removed by the next save to the same target. Files are created with mode 0666 minus the umask,
  as ``open()`` does.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import warnings

import numpy as np

DEFAULT_MAX_HEADER_BYTES = 4 << 20
_WIDENED = {"BF16", "F8_E4M3", "F8_E5M2"}
_warned_widening = False


def read_header(path, size, max_header_bytes):
    """The parsed JSON header of the safetensors file at ``path`` (``size`` bytes long)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ValueError(f"ag.load: {path} is not a safetensors file ({size} bytes: too short to "
                             "hold a header; truncated?)")
        header_size = int.from_bytes(head, "little")
        if header_size + 8 > size:
            raise ValueError(f"ag.load: {path} is truncated or not a safetensors file: its header "
                             f"claims {header_size} bytes but the file has {size}")
        if header_size > max_header_bytes:
            raise ValueError(f"ag.load: {path}: its header (tensor list and metadata) is "
                             f"{header_size} bytes, more than max_header_bytes={max_header_bytes}; "
                             "the file is damaged, or pass a larger max_header_bytes if you trust it")
        text = handle.read(header_size)
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"ag.load: {path} is corrupted: its header is not valid JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"ag.load: {path} is corrupted: its header is not a JSON object")
    return header


def widened_entries(header):
    """Names of the tensors stored in a dtype NumPy lacks, which load as float32."""
    return [name for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict) and entry.get("dtype") in _WIDENED]


def read_widened(path, header, names):
    """{name: float32 array} for the bfloat16/float8 tensors ``names`` of the file at ``path``."""
    global _warned_widening
    data_start = 8 + len(_header_bytes(path))
    out = {}
    with open(path, "rb") as handle:
        for name in names:
            entry = header[name]
            dtype, shape, (begin, end) = entry["dtype"], tuple(entry["shape"]), entry["data_offsets"]
            width = 2 if dtype == "BF16" else 1
            count = int(np.prod(shape, dtype=np.int64))
            if end - begin != count * width or begin < 0:
                raise ValueError(f"ag.load: {path} is corrupted: tensor '{name}' ({dtype}, shape "
                                 f"{list(shape)}) has {end - begin} bytes of data, expected {count * width}")
            handle.seek(data_start + begin)
            raw = handle.read(end - begin)
            if len(raw) != end - begin:
                raise ValueError(f"ag.load: {path} is truncated inside tensor '{name}'")
            out[name] = _decode(dtype, raw).reshape(shape)
    if names and not _warned_widening:
        _warned_widening = True
        warnings.warn(f"ag.load: {path} holds {sorted({header[n]['dtype'] for n in names})} tensors "
                      f"({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}), which NumPy "
                      "cannot store: they are loaded as float32 (exact). This note is shown once.",
                      stacklevel=3)
    return out


def _header_bytes(path):
    with open(path, "rb") as handle:
        return handle.read(int.from_bytes(handle.read(8), "little"))


def _decode(dtype, raw):
    if dtype == "BF16":
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    codes = np.frombuffer(raw, dtype=np.uint8)
    if dtype == "F8_E5M2":
        return (codes.astype(np.uint16) << 8).view(np.float16).astype(np.float32)
    return _E4M3_TABLE[codes]


def _e4m3_table():
    codes = np.arange(256)
    sign = np.where(codes & 0x80, -1.0, 1.0)
    exponent, mantissa = (codes >> 3) & 0xF, codes & 0x7
    value = np.where(exponent > 0, 2.0 ** (exponent - 7) * (1 + mantissa / 8), 2.0 ** -6 * mantissa / 8)
    value = sign * value
    value[(exponent == 15) & (mantissa == 7)] = np.nan
    return value.astype(np.float32)


_E4M3_TABLE = _e4m3_table()


# ---------------------------------------------------------------------------------- saving
def _temporary_pattern(target):
    return re.compile(r"\." + re.escape(os.path.basename(target)) + r"\.ag-save-(\d+)-[0-9a-f]+\.tmp\Z")


def _running(pid):
    if pid == os.getpid():
        return False  # an earlier failed save of this process: not in progress any more
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def remove_stale_temporaries(target):
    """Delete temporary files of earlier, interrupted saves to ``target`` (not those of a save
    still running in another process)."""
    folder = os.path.dirname(os.path.abspath(target))
    pattern = _temporary_pattern(target)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if match and not _running(int(match.group(1))):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


def write_atomically(target, payload):
    """Write the bytes ``payload`` to ``target`` through a temporary file in the same folder."""
    target = os.fspath(target)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"ag.save: the folder {folder!r} of {target!r} does not exist")
    if os.path.isdir(target):
        raise IsADirectoryError(f"ag.save: {target!r} is a directory; give a file name")
    remove_stale_temporaries(target)
    temporary = os.path.join(folder, f".{os.path.basename(target)}.ag-save-{os.getpid()}-"
                                     f"{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # minus the umask
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
