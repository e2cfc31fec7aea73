"""Loaders stay proportionate and files stay clean: IDX headers checked before allocating, bounded
safetensors headers, damaged metadata named, PyTorch's bfloat16/float16/float8 files, atomic saves
without stray temporary files, file modes from the umask, load_csv's bad lines."""
from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from safetensors.torch import save_file as torch_save_file

import autograd_lite as ag
from autograd_lite.data.idx import IDXFormatError, read_idx
from autograd_lite import serialization_io


# ----------------------------------------------------------------------------- IDX
def _gzip_of_zeros(path, header, zero_bytes):
    """A gzip file holding ``header`` and then ``zero_bytes`` zeros (a multiple of 1 MiB), as one
    gzip member per MiB (valid gzip: members are concatenated), so nothing large is built."""
    member = gzip.compress(bytes(1 << 20), compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(zero_bytes >> 20):
            handle.write(member)


def _peak_allocation(function):
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_small_gzip_declaring_600_mib_fails_fast_without_allocating(tmp_path):
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    header = bytes([0, 0, 0x08, 3]) + np.array([60000, 100, 100], ">u4").tobytes()  # 600 MB uint8
    _gzip_of_zeros(path, header, 300 << 20)  # 300 MiB of zeros: a 0.3 MiB file
    assert os.path.getsize(path) < 400 << 10

    def read():
        with pytest.raises(IDXFormatError, match=r"shape \(60000, 100, 100\).*600000000 bytes.*a gzip "
                                                 r"file of \d+ bytes can hold at most"):
            read_idx(path)
    assert _peak_allocation(read) < 2 << 20


def test_a_gzip_idx_whose_data_stops_early_allocates_only_what_it_holds(tmp_path):
    path = tmp_path / "short.gz"
    header = bytes([0, 0, 0x08, 2]) + np.array([1000, 10000], ">u4").tobytes()  # 10 MB promised
    path.write_bytes(gzip.compress(header + np.random.default_rng(0).bytes(1 << 20)))  # 1 MiB present

    def read():
        with pytest.raises(IDXFormatError, match="truncated.*only 1048576 bytes follow"):
            read_idx(path)
    assert _peak_allocation(read) < 4 << 20


def test_a_raw_idx_file_is_checked_against_its_size_before_reading(tmp_path):
    path = tmp_path / "raw-idx1"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + np.array([4_000_000_000], ">u4").tobytes() + b"\0" * 10)

    def read():
        with pytest.raises(IDXFormatError, match=r"truncated: the header promises shape "
                                                 r"\(4000000000,\).*only 10 bytes follow"):
            read_idx(path)
    assert _peak_allocation(read) < 1 << 20


def test_idx_round_trip_and_trailing_bytes_still_work(tmp_path):
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    ag.data.write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "b.gz").write_bytes(gzip.compress(gzip.decompress((tmp_path / "a.gz").read_bytes()) + b"x"))
    with pytest.raises(IDXFormatError, match="unexpected trailing bytes"):
        read_idx(tmp_path / "b.gz")


# ----------------------------------------------------------------------------- safetensors header
def _write_with_header(path, header, data=b""):
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def test_an_oversized_header_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.safetensors"
    _write_with_header(path, {"__metadata__": {"autograd_lite.structure": "[" + "0," * (3 << 20) + "0]"}})

    def load():
        with pytest.raises(ValueError, match=r"its header \(tensor list and metadata\) is \d+ bytes, "
                                             r"more than max_header_bytes=4194304"):
            ag.load(path)
    assert _peak_allocation(load) < 1 << 20


def test_a_larger_limit_can_be_passed_for_a_trusted_file(tmp_path):
    path = tmp_path / "ok.safetensors"
    ag.save({"w": ag.ones(2)}, path, metadata={"note": "x" * 5000})
    with pytest.raises(ValueError, match="max_header_bytes=1000"):
        ag.load(path, max_header_bytes=1000)
    assert ag.load(path, max_header_bytes=10_000)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("key,obj", [("autograd_lite.structure", {"epoch": 3, "w": ag.ones(2)}),
                                     ("autograd_lite.order", {"w": ag.ones(2), "b": ag.zeros(1)})])
def test_damaged_metadata_json_names_the_entry(tmp_path, key, obj):
    path = tmp_path / "ckpt.safetensors"
    ag.save(obj, path)
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    header["__metadata__"][key] = header["__metadata__"][key][:-3] + "{{{"
    header["__metadata__"].pop("autograd_lite.sha256")
    _write_with_header(path, header, raw[8 + size:])
    with pytest.raises(ValueError, match=rf"ckpt.safetensors is corrupted: its .*'{key}'.* not valid "
                                         r"JSON"):
        ag.load(path)


# ----------------------------------------------------------------------------- PyTorch's dtypes
def test_bfloat16_float16_and_float8_files_written_by_pytorch_load(tmp_path):
    path = tmp_path / "half.safetensors"
    values = torch.tensor([0.0, -1.5, 3.140625, 448.0, -0.001953125, 1e-3, float("inf"), float("nan")])
    every_e4m3 = torch.arange(256, dtype=torch.uint8).view(torch.float8_e4m3fn)
    every_e5m2 = torch.arange(256, dtype=torch.uint8).view(torch.float8_e5m2)
    torch_save_file({"bf16": values.to(torch.bfloat16).reshape(2, 4), "f16": values.half(),
                     "e4m3": every_e4m3, "e5m2": every_e5m2, "f32": values}, str(path))
    serialization_io._warned_widening = False
    with pytest.warns(UserWarning, match=r"BF16.*F8_E4M3.*F8_E5M2.*loaded as float32.*shown once"):
        loaded = ag.load(path)
    for name, expected in [("bf16", values.to(torch.bfloat16).reshape(2, 4)), ("e4m3", every_e4m3),
                           ("e5m2", every_e5m2)]:
        assert loaded[name].dtype == np.float32
        np.testing.assert_array_equal(loaded[name].numpy(), expected.float().numpy(), err_msg=name)
    assert loaded["f16"].dtype == np.float16
    np.testing.assert_array_equal(loaded["f16"].numpy(), values.half().numpy())
    assert list(loaded) == ["bf16", "e4m3", "e5m2", "f16", "f32"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the note is shown once per process
        ag.load(path)


def test_a_dtype_autograd_lite_cannot_hold_is_refused_by_name(tmp_path):
    path = tmp_path / "c.safetensors"
    torch_save_file({"z": torch.zeros(2, dtype=torch.complex64)}, str(path))
    with pytest.raises(ValueError, match=r"tensor 'z' has dtype C64, which autograd-lite cannot load"):
        ag.load(path)


# ----------------------------------------------------------------------------- saving
def _stray_files(folder):
    return sorted(name for name in os.listdir(folder) if ".ag-save-" in name)


def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "w.safetensors"
    ag.save({"w": ag.ones(2)}, target)

    def fail(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        ag.save({"w": ag.zeros(2)}, target)
    monkeypatch.undo()
    assert _stray_files(tmp_path) == []
    assert ag.load(target)["w"].tolist() == [1.0, 1.0]  # the old file is intact


def test_a_save_killed_midway_leaves_a_file_the_next_save_removes(tmp_path):
    target = tmp_path / "w.safetensors"
    script = ("import os, sys, autograd_lite as ag; os.fsync = lambda fd: os._exit(9); "
              f"ag.save({{'w': ag.ones(1000)}}, {str(target)!r})")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    assert subprocess.run([sys.executable, "-c", script], env=environment).returncode == 9
    leftovers = _stray_files(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".w.safetensors.ag-save-")
    (tmp_path / "other.safetensors.keep").write_bytes(b"unrelated")
    ag.save({"w": ag.zeros(3)}, target)
    assert _stray_files(tmp_path) == [] and (tmp_path / "other.safetensors.keep").exists()
    assert ag.load(target)["w"].tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        ag.save({"w": ag.ones(2)}, tmp_path / "w.safetensors")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "w.safetensors").st_mode) == 0o666 & ~umask


def test_files_saved_by_safetensors_itself_load_as_before(tmp_path):
    save_file({"a": np.arange(3, dtype=np.int32)}, str(tmp_path / "a.safetensors"))
    assert ag.load(tmp_path / "a.safetensors")["a"].tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- load_csv
def test_load_csv_names_file_and_line_of_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"1,2,a\n3,4,b\n5,\xff6,a\n")
    with pytest.raises(ValueError, match=r"data.csv line 3, byte 3 of the line: not utf-8 text"):
        ag.data.load_csv(path)
    with pytest.raises(ValueError, match=r"data.csv line 3, column 1: '\xff6' is not a number"):
        ag.data.load_csv(path, encoding="latin-1")


def test_load_csv_names_file_and_line_of_an_over_long_field_or_line(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b'1,2,a\n3,4,b\n"' + b"9" * 200_000 + b'",6,a\n')
    with pytest.raises(ValueError, match=r"long.csv line 3: field larger than field limit"):
        ag.data.load_csv(path)
    path.write_bytes(b"1,2,a\n" + b"7" * (2 << 20) + b",6,a\n")
    with pytest.raises(ValueError, match=r"long.csv line 2 is longer than 1048576 bytes"):
        ag.data.load_csv(path)
