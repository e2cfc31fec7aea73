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

Every cache file is checked before Numba reads it: a damaged ``.nbc`` (object code) can still
unpickle and then crash LLVM's reader or run garbage machine code, which no ``except`` can catch. The
kernels' cache files (``ChecksummedCacheFile``) end with a SHA-256 of their contents, written with them in
one atomic replace (Numba writes a temporary file and renames it, so concurrent processes and the
compile helper never see half a file). A file whose digest does not match is deleted before it is
unpickled, the kernel compiles again (Numba sees a cache miss) and the process gets one warning.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = "autograd_lite_kernels.stamp"
TRAILER = b"autograd-lite sha256:"  # then the 32-byte digest of everything before it
NOT_COMPILED = ("__init__.py", "blas.py", "compiler.py", "launch_timing.py",  # no Numba code
                "reference.py", "threads.py")                                    # inside
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
        _checksum_files(dispatcher)
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


def sources_digest(settings="") -> str:
    """Hash of every kernel source and of the ``settings`` they were compiled with."""
    digest = hashlib.sha1(settings.encode())
    for name in sorted(f for f in os.listdir(HERE) if f.endswith(".py") and f not in NOT_COMPILED):
        with open(os.path.join(HERE, name), "rb") as source:
            digest.update(name.encode() + source.read())
    return digest.hexdigest()


def drop_stale_cache(folder, settings="") -> bool:
    """Delete the kernels' ``.nbi``/``.nbc`` files in ``folder`` unless its stamp matches the
    sources and ``settings`` (module constants the kernels bake in, such as the vector width);
    True if files were dropped. A read-only folder is left alone (Numba then compiles in memory,
    which stays correct)."""
    expected = sources_digest(settings)
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


# ----------------------------------------------------------------------------- checksummed files
def _checksum_files(dispatcher):
    """Make the dispatcher's cache read and write ``ChecksummedCacheFile``s (a subclass that adds
    no state: only the file format changes)."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and not isinstance(cache_file, ChecksummedCacheFile):
        cache_file.__class__ = _checksummed_class(type(cache_file))


_classes = {}


def _checksummed_class(base):
    """``ChecksummedCacheFile`` over Numba's ``IndexDataCacheFile`` (defined on first use, so that
    importing this module does not import Numba)."""
    if base not in _classes:
        _classes[base] = type("ChecksummedCacheFile", (ChecksummedCacheFile, base), {})
    return _classes[base]


def sealed(payload: bytes) -> bytes:
    """``payload`` followed by ``TRAILER`` and its SHA-256 (pickle stops reading at the end of its
    own data, so Numba's reader never sees the trailer)."""
    return payload + TRAILER + hashlib.sha256(payload).digest()


def is_sealed(data: bytes) -> bool:
    """True if ``data`` ends with the trailer and digest of what comes before them."""
    end = len(data) - 32 - len(TRAILER)
    return (end >= 0 and data[end:end + len(TRAILER)] == TRAILER
            and hashlib.sha256(data[:end]).digest() == data[end + len(TRAILER):])


class ChecksummedCacheFile:
    """Mixin for Numba's ``IndexDataCacheFile``: files are written sealed (``sealed``), and an
    index (``.nbi``) or data (``.nbc``) file is read only if ``is_sealed``; otherwise it is
    deleted and reads as a cache miss (Numba compiles the kernel and writes the file again)."""

    @contextlib.contextmanager
    def _open_for_write(self, filepath):
        buffer = io.BytesIO()
        yield buffer                                   # what Numba writes, kept in memory
        with super()._open_for_write(filepath) as handle:   # temporary file, then os.replace
            handle.write(sealed(buffer.getvalue()))

    def _verified(self, path) -> bool:
        """True if the file at ``path`` is missing or sealed; a damaged one is deleted."""
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return True
        if is_sealed(data):
            return True
        try:
            os.remove(path)
        except OSError:
            pass
        folder, name = os.path.split(path)
        warn_once(f"autograd-lite: the Numba cache in {folder} could not be read ({name} does not "
                  "match its checksum); the file was deleted and its kernel compiled again",
                  stacklevel=2)
        return False

    def _load_index(self):
        if not self._verified(self._index_path):
            return {}
        return super()._load_index()

    def _load_data(self, name):
        if not self._verified(self._data_path(name)):
            return None                                  # a cache miss: Numba compiles
        return super()._load_data(name)
