"""Writes through ``t.numpy()`` between forward and backward: found, not silently wrong.

The version counter sees every in-place *method*, but NumPy cannot report a write into an array
that ``t.numpy()`` handed out (``x.numpy()[0] = 5``). So an exported array is fingerprinted:

* ``t.numpy()`` records, once per memory (the version counter shared by ``t``, its ``detach()``
  and its views), the CRC-32 of the array it returns;
* a node that saves such a tensor for backward records the tensor's CRC at that moment;
* ``ctx.saved_tensors`` recomputes it and raises if the bytes changed (the node's own CRC when it
  saved after the export, else the export's, which dates from after the save).

Only exported memories pay (one CRC per save and per backward use); other saved tensors cost one
length test of their version counter (which grows a second entry on export). A write through a *different view* of the
exported memory (``x.view(-1).numpy()``, when ``x`` was saved) is not compared: the fingerprint
belongs to the exported array.
"""
from __future__ import annotations

import zlib

import numpy as np

def checksum(array):
    """CRC-32 of ``array``'s bytes in C order."""
    contiguous = np.ascontiguousarray(array)
    try:
        return zlib.crc32(memoryview(contiguous).cast("B"))
    except (TypeError, ValueError):  # 0-d or unusual buffers
        return zlib.crc32(contiguous.tobytes())


def mark_exported(tensor):
    """``tensor.numpy()`` is handing out its array: fingerprint it (first export of this memory)."""
    counter, array = tensor._version_counter, tensor._data
    if len(counter) == 1:
        counter.append((id(array), checksum(array)))


def fingerprints(saved):
    """At save time: ``{position: crc}`` for the saved tensors whose array was exported, or None."""
    found = None
    for position, tensor in enumerate(saved):
        counter = getattr(tensor, "_version_counter", None)
        if counter is not None and len(counter) > 1 and counter[1][0] == id(tensor._data):
            if found is None:
                found = {}
            found[position] = checksum(tensor._data)
    return found


def check(node, position, tensor):
    """At backward: raise if the exported array of a saved tensor was written since it was saved."""
    counter = tensor._version_counter
    if len(counter) == 1 or counter[1][0] != id(tensor._data):
        return
    recorded = node._saved_checksums
    expected = recorded[position] if recorded and position in recorded else counter[1][1]
    if checksum(tensor._data) != expected:
        raise RuntimeError(
            f"one of the tensors needed for the gradient of {node.name()} (shape "
            f"{tuple(tensor._data.shape)}, dtype {tensor._data.dtype}) was changed through the array "
            "that .numpy() returned after it was saved for backward, so the gradient would be wrong. "
            "Change tensors between forward and backward with their in-place methods (t[0] = 5, "
            "t.add_(...)), or write into t.numpy().copy(), or run the forward pass again.")
