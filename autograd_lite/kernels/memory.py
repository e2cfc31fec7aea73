"""Keep large temporaries in the heap: glibc's malloc settings for a training loop.

glibc serves allocations above ``M_MMAP_THRESHOLD`` (128 KiB to start with) with fresh ``mmap`` pages
and returns them to the OS on ``free``; the heap top is trimmed above ``M_TRIM_THRESHOLD``. A training
step allocates and frees the same large arrays (activations, gradients, kernel buffers) every time,
so each step page-faults all of them back in, which on this machine doubled the time of a CNN step
(33 ms instead of 66 ms with one thread). ``keep_large_blocks`` raises both thresholds so freed blocks
stay in the heap and the next step reuses them: memory stays at the peak of a step instead of going
back to the OS between steps.

It is process-wide (every library in the process, PyTorch included, allocates through the same
malloc), is applied once when the first kernel runs, and is skipped with
``AUTOGRAD_LITE_MALLOC_TUNING=0`` or on a C library without ``mallopt`` (not glibc).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024       # glibc's largest accepted value on 64-bit systems
TRIM_THRESHOLD = 1024 * 1024 * 1024

_done = []


def keep_large_blocks() -> bool:
    """Raise glibc's mmap and trim thresholds once; True if they are (now) raised."""
    if _done:
        return _done[0]
    applied = False
    if os.environ.get("AUTOGRAD_LITE_MALLOC_TUNING", "1") != "0":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _done.append(applied)
    return applied
