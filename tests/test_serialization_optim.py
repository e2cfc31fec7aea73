"""Training checkpoints: ``ag.save`` / ``ag.load`` of optimizer and scheduler state (nested dicts,
tuples, Python numbers) without pickle. Resuming from a file must continue bit for bit like a run
that was never interrupted, for every optimizer; the settings must match what torch.optim holds;
damaged files must raise; values that can't be stored must be refused by name."""
import copy
import json
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import autograd_lite as ag
import nn
import optim
from optim import lr_scheduler
from training_data import blobs, mlp

X, Y = blobs(n=48)

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),                                           # no per-parameter state
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=False)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.95), amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=1.0, rho=0.8)),
]
IDS = [f"{name}-{'-'.join(kwargs)}" for name, kwargs in OPTIMIZERS]


def _optimizer(name, kwargs, params, **overrides):
    """Two groups (the last layer at half the rate) so that group lists round-trip too."""
    params = list(params)
    settings = dict(kwargs, **overrides)
    groups = [{"params": params[:-2]}, {"params": params[-2:], "lr": settings["lr"] / 2}]
    return getattr(optim, name)(groups, **settings)


def _train(model, opt, steps, start=0, scheduler=None):
    loss_fn = nn.CrossEntropyLoss()
    for step in range(start, start + steps):
        batch = slice((step % 3) * 16, (step % 3 + 1) * 16)
        opt.zero_grad()
        loss = loss_fn(model(ag.Tensor(X[batch])), ag.Tensor(Y[batch]))
        loss.backward()
        opt.step()
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        elif scheduler is not None:
            scheduler.step()


def _assert_identical(ours, expected, path="root"):
    """Same structure, same Python/NumPy types, bit-identical values."""
    assert type(ours) is type(expected), f"{path}: {type(ours).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(ours) == list(expected), path
        for key in expected:
            _assert_identical(ours[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(ours) == len(expected), path
        for i, (a, b) in enumerate(zip(ours, expected)):
            _assert_identical(a, b, f"{path}.{i}")
    elif isinstance(expected, (ag.Tensor, np.ndarray, np.generic)):
        a, b = (np.asarray(v.detach().numpy() if isinstance(v, ag.Tensor) else v) for v in (ours, expected))
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(expected, float):
        assert (math.isnan(ours) and math.isnan(expected)) or \
            (ours == expected and math.copysign(1, ours) == math.copysign(1, expected)), path
    else:
        assert ours == expected, path


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=IDS)
def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(name, kwargs, tmp_path):
    reference = mlp(seed=0)
    _train(reference, _optimizer(name, kwargs, reference.parameters()), 6)

    model = mlp(seed=0)
    opt = _optimizer(name, kwargs, model.parameters())
    _train(model, opt, 3)
    path = tmp_path / "checkpoint.safetensors"
    ag.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    ag.save(opt.state_dict(), tmp_path / "optimizer.safetensors")
    saved_state = copy.deepcopy(opt.state_dict())
    _assert_identical(ag.load(tmp_path / "optimizer.safetensors"), saved_state)  # alone, too

    resumed = mlp(seed=1)                                      # other weights, other settings
    opt_resumed = _optimizer(name, kwargs, resumed.parameters(), lr=0.5)
    checkpoint = ag.load(path)
    assert checkpoint["epoch"] == 3 and type(checkpoint["epoch"]) is int
    resumed.load_state_dict(checkpoint["model"])
    opt_resumed.load_state_dict(checkpoint["optimizer"])
    _assert_identical(opt_resumed.state_dict(), saved_state)
    _train(resumed, opt_resumed, 3, start=checkpoint["epoch"])
    for ours, expected in zip(resumed.parameters(), reference.parameters()):
        np.testing.assert_array_equal(ours.detach().numpy(), expected.detach().numpy())


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=IDS)
def test_loaded_settings_and_state_names_are_torch_optims(name, kwargs, tmp_path):
    model = mlp(seed=0)
    opt = _optimizer(name, kwargs, model.parameters())
    theirs = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in model.parameters()]
    opt_theirs = getattr(torch.optim, name)(
        [{"params": theirs[:-2]}, {"params": theirs[-2:], "lr": kwargs["lr"] / 2}], **kwargs)
    _train(model, opt, 1)
    for p, q in zip(model.parameters(), theirs):
        q.grad = torch.tensor(p.grad.detach().numpy())
    opt_theirs.step()
    ag.save(opt.state_dict(), tmp_path / "optimizer.safetensors")
    loaded, expected = ag.load(tmp_path / "optimizer.safetensors"), opt_theirs.state_dict()
    for ours, group in zip(loaded["param_groups"], expected["param_groups"]):
        for key, value in ours.items():
            assert key in group, f"{key} is not a torch.optim {name} setting"
            assert value == group[key], key     # (defaults may differ in type: 0.0 vs 0)
    assert sorted(loaded["state"]) == sorted(expected["state"])
    for index, buffers in loaded["state"].items():
        assert sorted(buffers) == sorted(expected["state"][index])


SCHEDULED = [
    ("SGD", dict(lr=0.1, momentum=0.9), lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5)),
    ("Adam", dict(lr=0.01), lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=1e-4)),
    ("Adam", dict(lr=0.01), lambda o: lr_scheduler.CyclicLR(o, base_lr=0.001, max_lr=0.01,
                                                            step_size_up=2)),   # moves betas[0]
    ("RMSprop", dict(lr=0.01), lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9),      # a custom scale_fn is code: not saved, kept on load
     lambda o: lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                     scale_fn=lambda x: 0.8 ** x, scale_mode="iterations")),
]


@pytest.mark.parametrize("name,kwargs,make_scheduler", SCHEDULED,
                         ids=["StepLR", "CosineAnnealingLR", "CyclicLR", "ReduceLROnPlateau",
                              "CyclicLR-scale_fn"])
def test_resuming_with_a_scheduler(name, kwargs, make_scheduler, tmp_path):
    reference = mlp(seed=0)
    opt_reference = getattr(optim, name)(reference.parameters(), **kwargs)
    scheduler_reference = make_scheduler(opt_reference)
    _train(reference, opt_reference, 7, scheduler=scheduler_reference)

    model = mlp(seed=0)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    scheduler = make_scheduler(opt)
    _train(model, opt, 4, scheduler=scheduler)
    path = tmp_path / "checkpoint.safetensors"
    ag.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": 4}, path)

    resumed = mlp(seed=1)                     # the usual recipe: build everything, then load
    opt_resumed = getattr(optim, name)(resumed.parameters(), **kwargs)
    scheduler_resumed = make_scheduler(opt_resumed)
    checkpoint = ag.load(path)
    resumed.load_state_dict(checkpoint["model"])
    opt_resumed.load_state_dict(checkpoint["optimizer"])
    scheduler_resumed.load_state_dict(checkpoint["scheduler"])
    _train(resumed, opt_resumed, 3, start=checkpoint["epoch"], scheduler=scheduler_resumed)
    for ours, expected in zip(resumed.parameters(), reference.parameters()):
        np.testing.assert_array_equal(ours.detach().numpy(), expected.detach().numpy())
    assert scheduler_resumed.get_last_lr() == scheduler_reference.get_last_lr()
    _assert_identical(opt_resumed.state_dict()["param_groups"],
                      opt_reference.state_dict()["param_groups"])
    _assert_identical(scheduler_resumed.state_dict(), scheduler_reference.state_dict())


class _Config:
    pass


def test_python_values_round_trip_with_their_types(tmp_path):
    opt = optim.Adam([ag.Tensor(np.ones(2), requires_grad=True)])
    values = {
        "floats": [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan],
        "ints": [0, -1, 2 ** 70], "flags": [True, False, None], "text": ["", "é ✓", "__ag__"],
        "tuples": (1, (2.0, "a"), ()), "empty": [[], {}],
        "int_keys": {0: "zero", 3: {1: (0.9, 0.999)}}, "tag_key": {"__ag__": "tuple", "items": 1},
        "numpy": [np.float32(1.5), np.int64(7), np.bool_(True), np.array(3.0),
                  np.arange(6, dtype=np.float16).reshape(2, 3)],
        "tensors": [ag.Tensor(np.array([1.0, np.nan, -np.inf])), ag.Tensor(np.zeros((0, 3)))],
        "a.b": ag.Tensor(np.ones(1)), "a": {"b": ag.Tensor(np.zeros(1))},   # the same dotted name
        "plateau": lr_scheduler.ReduceLROnPlateau(opt).state_dict(),          # best = inf
    }
    path = tmp_path / "values.safetensors"
    ag.save(values, path)
    loaded = ag.load(path)
    _assert_identical(loaded, values)
    assert loaded["plateau"]["best"] == math.inf
    assert sorted(load_file(str(path))) == sorted(["a.b", "a.b#2", "numpy.0", "numpy.1", "numpy.2",
                                                    "numpy.3", "numpy.4", "tensors.0", "tensors.1"])
    loaded["numpy"][4][0, 0] = 9.0                       # writable arrays of their own
    assert values["numpy"][4][0, 0] == 0


def test_a_checkpoint_is_plain_safetensors_data(tmp_path, monkeypatch):
    model = mlp(seed=0)
    opt = optim.Adam(model.parameters(), lr=0.01)
    _train(model, opt, 2)
    path = tmp_path / "checkpoint.safetensors"
    ag.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path)

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle was used")
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, no_pickle)
    assert ag.load(path)["epoch"] == 2

    tensors = load_file(str(path))                      # any safetensors reader sees the tensors
    assert sorted(tensors) == sorted(
        [f"model.{key}" for key in model.state_dict()]
        + [f"optimizer.state.{i}.{buffer}" for i in range(4) for buffer in ("exp_avg", "exp_avg_sq")])
    np.testing.assert_array_equal(tensors["optimizer.state.0.exp_avg"], opt.state[
        next(iter(model.parameters()))]["exp_avg"])
    with safe_open(str(path), framework="numpy") as reader:
        structure = reader.metadata()["autograd_lite.structure"]
    document = json.loads(structure, parse_constant=lambda name: pytest.fail(name))  # strict JSON
    assert document["format"] == 1 and document["root"]["epoch"] == 2
    group = document["root"]["optimizer"]["param_groups"][0]
    assert group["lr"] == 0.01 and group["betas"] == {"__ag__": "tuple", "items": [0.9, 0.999]}
    assert group["params"] == [0, 1, 2, 3]
    assert path.read_bytes()[8:9] == b"{"


def test_a_damaged_checkpoint_raises(tmp_path):
    model = mlp(seed=0)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    _train(model, opt, 1)
    path = tmp_path / "checkpoint.safetensors"
    ag.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    data = path.read_bytes()
    assert data.count(b'\\"lr\\": 0.01') == 1            # the JSON sits escaped in the header
    path.write_bytes(data.replace(b'\\"lr\\": 0.01', b'\\"lr\\": 0.02'))  # a setting, same length
    with pytest.raises(ValueError, match="checksum"):
        ag.load(path)
    flipped = bytearray(data)
    flipped[-5] ^= 0x10                                  # a bit of the last tensor
    path.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum"):
        ag.load(path)
    path.write_bytes(data[:len(data) - 40])
    with pytest.raises(ValueError, match="truncated"):
        ag.load(path)
    # hand-made files without a checksum: the structure itself is checked
    for structure, message in [('{"format": 1, "root": {"w": {"__ag__": "array", "key": "v"}}}',
                                "missing or repeated tensor 'v'"),
                               ('{"format": 1, "root": {}}', r"does not mention the tensor\(s\) \['w'\]"),
                               ('{"format": 1, "root": {"w": {"__ag__": "set", "key": "w"}}}',
                                "unknown tag 'set'"),
                               ('{"format": 1, "root": NaN}', "not valid JSON"),
                               ('{"format": 2, "root": {}}', "format 2")]:
        save_file({"w": np.ones(2)}, str(path), metadata={"autograd_lite.structure": structure})
        with pytest.raises(ValueError, match=message):
            ag.load(path)


def test_values_that_cannot_be_stored_are_refused_by_name(tmp_path):
    path = tmp_path / "refused.safetensors"
    loop = {"a": []}
    loop["a"].append(loop)
    cases = [({"optimizer": {"param_groups": [{"lr": 0.1, "closure": lambda: 0}]}},
              TypeError, r"key 'optimizer\.param_groups\.0\.closure' is a function"),
             ({"config": _Config()}, TypeError, "key 'config' is a _Config object"),
             ({"raw": b"\x00"}, TypeError, "key 'raw' is a bytes object"),
             ({"z": [1 + 2j]}, TypeError, "key 'z.0' is a complex object"),
             ({"z": np.array([1j]), "epoch": 1}, TypeError, "key 'z' has unsupported dtype complex128"),
             ({"pairs": {(1, 2): 3}}, TypeError, r"key \(1, 2\) in 'pairs' is a tuple"),
             (loop, ValueError, "'a.0' contains itself")]
    for value, error, message in cases:
        with pytest.raises(error, match=message):
            ag.save(value, path)
        assert not path.exists()
    with pytest.raises(ValueError, match="'autograd_lite.order' is reserved"):
        ag.save({"w": np.ones(1)}, path, metadata={"autograd_lite.order": "[]"})
    with pytest.raises(TypeError, match="optimizer.state_dict"):
        ag.save(optim.SGD(mlp().parameters(), lr=0.1), path)


def test_a_flat_state_dict_keeps_the_flat_layout(tmp_path):
    model = mlp(seed=0)
    path = tmp_path / "weights.safetensors"
    ag.save(model.state_dict(), path)
    with safe_open(str(path), framework="numpy") as reader:
        assert set(reader.metadata()) == {"autograd_lite.order", "autograd_lite.sha256"}
        assert sorted(reader.keys()) == sorted(model.state_dict())
    loaded = ag.load(path)
    assert type(loaded) is OrderedDict and list(loaded) == list(model.state_dict())
    assert all(type(value) is ag.Tensor for value in loaded.values())
