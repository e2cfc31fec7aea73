"""Keep Numba's on-disk cache of the kernels consistent with their sources.

Numba checks only each kernel's own source file when it loads a cached kernel, not the kernels it
calls in other files, so a cached conv kernel would keep an old micro-kernel compiled in after
``gemm.py`` changed. ``drop_stale_cache`` stamps the cache folder with a hash of every kernel source
and deletes the kernels' cache files when the hash differs. ``simd`` calls it on import, before any
kernel can be loaded (every kernel module imports ``simd``).
"""
from __future__ import annotations

import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = "autograd_lite_kernels.stamp"


def sources_digest() -> str:
    digest = hashlib.sha1()
    for name in sorted(f for f in os.listdir(HERE) if f.endswith(".py")):
        with open(os.path.join(HERE, name), "rb") as source:
            digest.update(name.encode() + source.read())
    return digest.hexdigest()


def drop_stale_cache(folder) -> bool:
    """Delete the kernels' ``.nbi``/``.nbc`` files in ``folder`` unless its stamp matches the
    sources; True if files were dropped. A read-only folder is left alone (Numba then compiles in
    memory, which stays correct)."""
    expected = sources_digest()
    stamp = os.path.join(folder, STAMP)
    try:
        with open(stamp) as handle:
            if handle.read() == expected:
                return False
    except OSError:
        pass
    prefixes = tuple(f[:-3] + "." for f in os.listdir(HERE) if f.endswith(".py"))
    try:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.startswith(prefixes) and name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(folder, name))
        with open(stamp, "w") as handle:
            handle.write(expected)
    except OSError:
        return False
    return True
