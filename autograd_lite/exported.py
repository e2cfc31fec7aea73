"""Writes through ``t.numpy()`` between forward and backward: found, not silently wrong.

The version counter sees every in-place *method*, but NumPy cannot report a write into an array
that ``t.numpy()`` handed out (``x.numpy()[0] = 5``). So an exported memory is fingerprinted
while such an array can still be written to, and a saved tensor is compared at backward with
its bytes when it was saved:

* ``t.numpy()`` hands out a new array over the tensor's memory whose NumPy base is a small
  ``_Holder``: every view made from that array keeps the holder alive, so the holder lives
  exactly as long as something the user holds can write through the export. The version
  counter (shared by ``t``, its ``detach()`` and its views) gets an ``_Export`` record: the
  CRC-32 of the memory at its first export, and the current ``_Epoch``, the span during which
  exported arrays are alive (weak references to their holders). The first export after all of
  an epoch's arrays are gone starts a new epoch and tells the old one the CRC at that moment.
* a node that saves an exported tensor records, per saved position, the tensor's CRC when an
  epoch is alive (a write may follow), else the dead epoch itself (no write through an export
  can follow until another export, whose CRC the epoch will then hold);
* ``ctx.saved_tensors`` recomputes the CRC and raises if the bytes differ from those the save
  saw: the node's own CRC; the CRC of the first export after a save made during a dead epoch
  (none: nothing to compare); the memory's first export's CRC for a save before any export.

The bytes a save saw and those at the first export after it are the same unless the tensor was
changed in place in between, which its version counter reports first. Only exported memories pay:
a CRC per save and per backward use while an export is alive (400 KB: 70-110 us on the Intel
Xeon, family 6 model 167, we measure on), a CRC per new epoch, and a few weak-reference tests per
save after that (the MLP step at batch 64 took 771 us instead of 501 when every weight had been
exported once and fingerprinted for ever); other saved tensors cost one length test of their version counter
(which grows a second entry on export). A write through a *different view* of the exported
memory (``x.view(-1).numpy()``, when ``x`` was saved) is not compared: the fingerprint belongs
to the exported array.
"""
from __future__ import annotations

import weakref
import zlib

import numpy as np


def checksum(array):
    """CRC-32 of ``array``'s bytes in C order."""
    contiguous = np.ascontiguousarray(array)
    try:
        return zlib.crc32(memoryview(contiguous).cast("B"))
    except (TypeError, ValueError):  # 0-d or unusual buffers
        return zlib.crc32(contiguous.tobytes())


class _Holder:
    """The NumPy base of an array ``t.numpy()`` handed out (alive while any view of it is)."""
    __slots__ = ("__array_interface__", "array", "__weakref__")

    def __init__(self, array):
        self.array = array  # the memory stays alive with the exported array, as before
        self.__array_interface__ = array.__array_interface__


class _Epoch:
    """A span during which arrays exported from one memory are alive; ``next_crc``: the CRC at
    the first export after it ended (None until then)."""
    __slots__ = ("holders", "next_crc")

    def __init__(self):
        self.holders, self.next_crc = [], None

    def alive(self):
        if any(ref() is not None for ref in self.holders):
            return True
        self.holders.clear()
        return False


class _Export:
    """The version counter's record of an exported memory (``counter[1]``)."""
    __slots__ = ("array_id", "first_crc", "epoch")

    def __init__(self, array_id, crc):
        self.array_id, self.first_crc, self.epoch = array_id, crc, _Epoch()


def export(tensor):
    """``tensor.numpy()``: a new array over the tensor's memory, recorded (see the module
    docstring)."""
    counter, array = tensor._version_counter, tensor._data
    record = counter[1] if len(counter) > 1 else None
    if record is None or record.array_id != id(array):  # first export of this memory
        record = _Export(id(array), checksum(array))
        counter[1:] = [record]
    elif not record.epoch.alive():  # every array of the last epoch is gone: a new epoch
        record.epoch.next_crc = checksum(array)
        record.epoch = _Epoch()
    holder = _Holder(array)
    holders = record.epoch.holders
    if len(holders) >= 8:  # (t.numpy() called again and again while one array lives)
        holders[:] = [ref for ref in holders if ref() is not None]
    holders.append(weakref.ref(holder))
    return np.asarray(holder)


def fingerprints(saved):
    """At save time: ``{position: CRC or dead _Epoch}`` for the saved tensors whose memory was
    exported, or None."""
    found = None
    for position, tensor in enumerate(saved):
        counter = getattr(tensor, "_version_counter", None)
        if counter is not None and len(counter) > 1 and counter[1].array_id == id(tensor._data):
            if found is None:
                found = {}
            epoch = counter[1].epoch
            found[position] = checksum(tensor._data) if epoch.alive() else epoch
    return found


def check(node, position, tensor):
    """At backward: raise if a saved tensor's memory was written through an export since the
    save."""
    counter = tensor._version_counter
    if len(counter) == 1 or counter[1].array_id != id(tensor._data):
        return
    recorded = node._saved_checksums
    if recorded and position in recorded:
        expected = recorded[position]
        if expected.__class__ is _Epoch:  # saved while no export was alive
            expected = expected.next_crc
            if expected is None:  # and none since: nothing can have written
                return
    else:  # saved before the memory's first export
        expected = counter[1].first_crc
    if checksum(tensor._data) != expected:
        raise RuntimeError(
            f"one of the tensors needed for the gradient of {node.name()} (shape "
            f"{tuple(tensor._data.shape)}, dtype {tensor._data.dtype}) was changed through the array "
            "that .numpy() returned after it was saved for backward, so the gradient would be wrong. "
            "Change tensors between forward and backward with their in-place methods (t[0] = 5, "
            "t.add_(...)), or write into t.numpy().copy(), or run the forward pass again.")
