"""Reader and writer for the IDX format of the MNIST files (``t10k-images-idx3-ubyte.gz`` & co).

An IDX file is a header followed by the array in C order, big-endian::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d sizes, each a big-endian uint32
    then        prod(sizes) elements

``read_idx`` checks every part of that (magic, type code, dimensions, exact length) and raises
``IDXFormatError`` naming the file and what is wrong, so a truncated download or a wrong file fails at
once instead of producing a garbled array. Gzip-compressed files are recognised by their content,
whatever their name.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/ (mirror of http://yann.lecun.com/exdb/mnist/)"

_TYPE_CODES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODE_OF_DTYPE = {dtype.newbyteorder("="): code for code, dtype in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """An IDX file whose content does not match the format or what its header promises."""


# Deflate cannot compress better than about 1032:1, so a gzip file of n bytes holds at most this many
# times n bytes: a header that declares more is refused before anything is decompressed.
_MAX_GZIP_RATIO = 1032
_CHUNK = 1 << 20  # decompress and read 1 MiB at a time


def _read_exactly(stream, count, path, what):
    try:
        data = stream.read(count)
    except (EOFError, OSError, zlib.error) as error:
        raise IDXFormatError(f"{path}: truncated or corrupt gzip data while reading {what} ({error}); "
                             "download the file again") from None
    return data


def read_idx(path, expected_ndim=None) -> np.ndarray:
    """The array stored in the IDX file at ``path`` (gzip or raw), in native byte order.

    ``expected_ndim`` (optional) is checked against the header: 3 for image files, 1 for labels.
    The header is read and checked first, and the size it declares against the file (a raw file's
    exact length; at most 1032 bytes per compressed byte for gzip), before any large buffer exists;
    the data is then decompressed 1 MiB at a time, so memory follows what the file really holds.
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        file_size = os.fstat(handle.fileno()).st_size
        compressed = handle.read(2) == _GZIP_MAGIC
        handle.seek(0)
        stream = gzip.GzipFile(fileobj=handle, mode="rb") if compressed else handle
        return _read_stream(stream, path, file_size, compressed, expected_ndim)


def _read_stream(stream, path, file_size, compressed, expected_ndim):
    magic = _read_exactly(stream, 4, path, "the magic number")
    if len(magic) < 4:
        raise IDXFormatError(f"{path}: {len(magic)} byte(s) is too short for an IDX file (a 4-byte "
                             "magic number and the dimensions come first)")
    zero0, zero1, type_code, ndim = magic
    if zero0 != 0 or zero1 != 0 or type_code not in _TYPE_CODES:
        raise IDXFormatError(
            f"{path}: not an IDX file: magic number 0x{magic.hex()} should be 0x0000TTDD with type "
            f"code TT in {{{', '.join(f'0x{c:02x}' for c in _TYPE_CODES)}}} and DD the number of "
            "dimensions")
    if ndim == 0:
        raise IDXFormatError(f"{path}: the header declares 0 dimensions")
    if expected_ndim is not None and ndim != expected_ndim:
        raise IDXFormatError(f"{path}: expected an IDX file with {expected_ndim} dimension(s) (magic "
                             f"0x0000{type_code:02x}{expected_ndim:02x}), the header declares {ndim}")
    header_size = 4 + 4 * ndim
    sizes = _read_exactly(stream, 4 * ndim, path, "the header")
    if len(sizes) < 4 * ndim:
        raise IDXFormatError(f"{path}: truncated inside the header: {ndim} dimensions need "
                             f"{header_size} bytes, the file has {4 + len(sizes)}")
    shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))
    dtype = _TYPE_CODES[type_code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    described = (f"the header promises shape {shape} of {dtype.newbyteorder('=')} ({expected} bytes "
                 "of data)")
    if not compressed and file_size - header_size != expected:
        actual = file_size - header_size
        if actual < expected:
            raise IDXFormatError(f"{path}: truncated: {described} but only {actual} bytes follow")
        raise IDXFormatError(f"{path}: {actual - expected} unexpected trailing bytes after the "
                             f"{expected} bytes of data promised by the header (shape {shape})")
    if compressed and expected + header_size > _MAX_GZIP_RATIO * file_size:
        raise IDXFormatError(f"{path}: {described}, but a gzip file of {file_size} bytes can hold at "
                             f"most about {_MAX_GZIP_RATIO * file_size} bytes: the header or the file "
                             "is damaged")
    data = bytearray()
    while len(data) <= expected:  # one byte more than promised reveals trailing data
        chunk = _read_exactly(stream, min(_CHUNK, expected + 1 - len(data)), path, "the data")
        if not chunk:
            break
        data += chunk
    if len(data) < expected:
        raise IDXFormatError(f"{path}: truncated: {described} but only {len(data)} bytes follow")
    if len(data) > expected:
        raise IDXFormatError(f"{path}: unexpected trailing bytes after the {expected} bytes of data "
                             f"promised by the header (shape {shape})")
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODE_OF_DTYPE:
        raise TypeError(f"write_idx: IDX has no type code for dtype {array.dtype}; use one of "
                        f"{sorted(str(d) for d in _CODE_OF_DTYPE)}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: IDX stores 1 to 255 dimensions, got {array.ndim}")
    code = _CODE_OF_DTYPE[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_TYPE_CODES[code]).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        payload = gzip.compress(payload)
    with open(path, "wb") as handle:
        handle.write(payload)


def _find(data_dir, stem):
    tried = [os.path.join(data_dir, stem + suffix) for suffix in (".gz", "")]
    for candidate in tried:
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"MNIST file {stem}(.gz) not found; looked for {' and '.join(tried)}. "
                            f"Download the IDX files from {MNIST_URL} into that directory.")


def load_mnist(data_dir, split="t10k"):
    """``(images, labels)`` of an MNIST split stored in ``data_dir`` as IDX files (gzip or raw).

    ``split`` is ``"t10k"`` (the 10,000 test images) or ``"train"`` (60,000). ``images`` is uint8 of
    shape (N, rows, cols), ``labels`` uint8 of shape (N,) with values 0-9; both are checked.
    """
    if split not in ("train", "t10k"):
        raise ValueError(f"load_mnist: split must be 'train' or 't10k', got {split!r}")
    images_path = _find(data_dir, f"{split}-images-idx3-ubyte")
    labels_path = _find(data_dir, f"{split}-labels-idx1-ubyte")
    images = read_idx(images_path, expected_ndim=3)
    labels = read_idx(labels_path, expected_ndim=1)
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise IDXFormatError(f"MNIST files hold uint8 data; got {images.dtype} images "
                             f"({images_path}) and {labels.dtype} labels ({labels_path})")
    if len(images) != len(labels):
        raise IDXFormatError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                             f"{len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise IDXFormatError(f"{labels_path}: labels must be digits 0-9, found {int(labels.max())}")
    return images, labels
