"""Numba's on-disk cache of the kernels: consistent with their sources, and never in the way.

Numba checks only each kernel's own source file when it loads a cached kernel, not the kernels it
calls in other files, so a cached conv kernel would keep an old micro-kernel compiled in after
``gemm.py`` changed. ``drop_stale_cache`` stamps the cache folder with a hash of every kernel source
and deletes the kernels' cache files when the hash differs. ``simd`` calls it on import, before any
kernel can be loaded (every kernel module imports ``simd``).

The kernels are defined with this module's ``njit`` (Numba's, plus a registry): where Numba finds
no writable cache folder (``NUMBA_CACHE_DIR`` read-only, a read-only install) it refuses
``cache=True`` ("no locator available"); the kernel is then compiled in memory, with one warning.
``drop_kernel_files``, ``disable_caching`` and ``module_is_cached`` serve ``compiler``'s recovery
from damaged cache files and its choice between compiling now and in the background.
"""
from __future__ import annotations

import hashlib
import os
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = "autograd_lite_kernels.stamp"
NOT_COMPILED = ("__init__.py", "compiler.py", "reference.py", "threads.py")  # no Numba code inside
_dispatchers = []
_warned = []


def warn_once(message, stacklevel=3):
    """The single warning a process gets about the kernels' cache (the first problem says why)."""
    if not _warned:
        _warned.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel + 1)


def njit(**options):
    """``numba.njit(**options)`` that registers the kernel and, when ``cache=True`` is refused
    for want of a writable cache folder, compiles it in memory instead."""
    import numba

    def decorate(function):
        try:
            dispatcher = numba.njit(**options)(function)
        except RuntimeError as error:  # "cannot cache function ...: no locator available"
            if not options.get("cache"):
                raise
            warn_once(f"autograd-lite: Numba has no writable cache folder ({error}); the "
                      "kernels are compiled in memory in each process (set NUMBA_CACHE_DIR to a "
                      "writable folder to keep them)")
            dispatcher = numba.njit(**dict(options, cache=False))(function)
        _dispatchers.append(dispatcher)
        return dispatcher
    return decorate


def cache_folder():
    """The folder Numba caches the kernels in, or None (caching off or JIT disabled)."""
    for dispatcher in _dispatchers:
        path = getattr(getattr(dispatcher, "_cache", None), "_cache_path", None)
        if path:
            return path
    return None


def disable_caching():
    """Compile every kernel in memory from now on (their cache files are not read any more)."""
    from numba.core.caching import NullCache
    for dispatcher in _dispatchers:
        if hasattr(dispatcher, "_cache"):
            dispatcher._cache = NullCache()


def module_is_cached(module_name) -> bool:
    """True if the kernels of ``module_name`` (e.g. ``"conv"``) have index files in the cache
    (stale ones are gone: ``drop_stale_cache``), or if the JIT is off (nothing to compile)."""
    from numba.core import config
    if config.DISABLE_JIT:
        return True
    folder = cache_folder()
    try:
        return folder is not None and any(name.startswith(module_name + ".") and
                                          name.endswith(".nbi") for name in os.listdir(folder))
    except OSError:
        return False


def sources_digest() -> str:
    digest = hashlib.sha1()
    for name in sorted(f for f in os.listdir(HERE) if f.endswith(".py") and f not in NOT_COMPILED):
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
    try:
        os.makedirs(folder, exist_ok=True)
        if not drop_kernel_files(folder):
            return False
        with open(stamp, "w") as handle:
            handle.write(expected)
    except OSError:
        return False
    return True


def drop_kernel_files(folder) -> bool:
    """Delete the kernels' ``.nbi``/``.nbc`` files in ``folder``; False if that failed."""
    prefixes = tuple(f[:-3] + "." for f in os.listdir(HERE) if f.endswith(".py"))
    try:
        for name in os.listdir(folder):
            if name.startswith(prefixes) and name.endswith((".nbi", ".nbc")):
                os.remove(os.path.join(folder, name))
    except OSError:
        return False
    return True
