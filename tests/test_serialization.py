"""ag.save / ag.load: safetensors round trips, exchange with PyTorch, and clear errors for damaged
or foreign files (which are never executed)."""
import os
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as torch_load_file, save_file as torch_save_file

import autograd_lite as ag
import nn


def _model():
    return nn.Sequential(nn.Conv2D(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def _torch_model():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(3 * 4 * 4, 5))


def test_round_trip_keeps_values_dtypes_and_order(tmp_path):
    state = {"z.weight": ag.randn(3, 2), "a.bias": np.arange(4, dtype=np.float64),
             "count": np.array(7, dtype=np.int64), "mask": np.array([True, False]),
             "half": np.ones((2, 2), np.float16)}
    path = tmp_path / "weights.safetensors"
    ag.save(state, path, metadata={"epoch": "3"})
    loaded = ag.load(path)
    assert list(loaded) == list(state)
    for name, value in state.items():
        array = value.detach().numpy() if isinstance(value, ag.Tensor) else value
        assert isinstance(loaded[name], ag.Tensor)
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name].detach().numpy(), array)
    loaded["a.bias"].detach().numpy()[0] = 5.0  # writable, owned arrays
    with open(path, "rb") as handle:
        header_size = int.from_bytes(handle.read(8), "little")
        assert handle.read(1) == b"{" and header_size > 0   # safetensors layout, not pickle


def test_model_round_trip_and_exchange_with_pytorch(tmp_path):
    ag.manual_seed(0)
    ours = _model()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    path = tmp_path / "ours.safetensors"
    ag.save(ours.state_dict(), path)

    again = _model()
    again.load_state_dict(ag.load(path))
    np.testing.assert_array_equal(again(ag.Tensor(x)).detach().numpy(), ours(ag.Tensor(x)).detach().numpy())

    theirs = _torch_model()
    theirs.load_state_dict(torch_load_file(str(path)))      # PyTorch reads our file
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours(ag.Tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)

    torch_path = tmp_path / "theirs.safetensors"
    torch_save_file(_torch_model().state_dict(), str(torch_path))   # and we read PyTorch's
    from_torch = ag.load(torch_path)
    assert sorted(from_torch) == sorted(ours.state_dict())
    ours.load_state_dict(from_torch)


def test_truncated_file_raises(tmp_path):
    path = tmp_path / "w.safetensors"
    ag.save({"w": np.ones((10, 10))}, path)
    data = path.read_bytes()
    for cut in (4, 20, len(data) - 8):
        path.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated"):
            ag.load(path)


def test_corrupted_files_raise(tmp_path):
    path = tmp_path / "w.safetensors"
    ag.save({"w": np.ones((10, 10))}, path)
    data = bytearray(path.read_bytes())
    damaged_header = bytearray(data)
    damaged_header[10:14] = b"\xff\xfe\x00{"
    path.write_bytes(bytes(damaged_header))
    with pytest.raises(ValueError, match="corrupted"):
        ag.load(path)
    damaged_data = bytearray(data)
    damaged_data[-3] ^= 0x40      # a flipped bit in the tensor bytes: only the checksum sees it
    path.write_bytes(bytes(damaged_data))
    with pytest.raises(ValueError, match="checksum"):
        ag.load(path)
    with pytest.raises(FileNotFoundError):
        ag.load(tmp_path / "missing.safetensors")


class _Exploit:
    def __reduce__(self):
        return (open, (os.environ["AG_TEST_MARKER"], "w"))


def test_a_pickle_is_rejected_without_running_it(tmp_path, monkeypatch):
    marker = tmp_path / "executed"
    monkeypatch.setenv("AG_TEST_MARKER", str(marker))
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Exploit()}))
    with pytest.raises(ValueError):
        ag.load(path)
    assert not marker.exists()


def test_save_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        ag.save(_model(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="key 'step.a'.*function"):   # nested dicts of numbers
        ag.save({"step": {"a": print}}, tmp_path / "m.safetensors")  # save; a function does not
    with pytest.raises(TypeError, match="str to str"):
        ag.save({"w": np.ones(1)}, tmp_path / "m.safetensors", metadata={"epoch": 3})


@pytest.mark.parametrize("value", [
    ag.tensor([[1.5, -2.0]]), [ag.ones(2), ag.zeros(3, dtype=ag.int64)], (ag.ones(1), [ag.zeros(2)], 3),
    {"weights": [ag.ones(2)], "nested": {"a": (ag.zeros(1),)}, "epoch": 4}, [],
])
def test_any_tensor_list_tuple_or_dict_round_trips_with_its_types(tmp_path, value):
    path = tmp_path / "value.safetensors"
    ag.save(value, path)
    loaded = ag.load(path, weights_only=True, map_location="cpu")

    def check(got, want):
        assert type(got) is type(want) or isinstance(want, dict) and isinstance(got, dict)
        if isinstance(want, ag.Tensor):
            assert got.dtype == want.dtype and got.tolist() == want.tolist()
        elif isinstance(want, (list, tuple)):
            assert len(got) == len(want)
            for g, w in zip(got, want):
                check(g, w)
        elif isinstance(want, dict):
            assert list(got) == list(want)
            for key in want:
                check(got[key], want[key])
        else:
            assert got == want

    check(loaded, value)


def test_load_accepts_cpu_map_locations_and_refuses_gpus(tmp_path):
    path = tmp_path / "t.safetensors"
    ag.save({"w": ag.ones(2)}, path)
    for location in ("cpu", ag.device("cpu"), {"cuda:0": "cpu"}, lambda storage, where: storage):
        assert ag.load(path, map_location=location)["w"].tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="CPU .*only.*device=\"cpu\""):
        ag.load(path, map_location="cuda:0")
    with pytest.raises(TypeError, match="got int|dict, list or tuple|got set"):
        ag.save({1, 2}, path)
