"""The module system against PyTorch: registration, traversal order and names, state_dict keys,
weights moving both ways, repr, modes, hooks, errors."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn


class Block(nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.fc1 = lib.Linear(4, 8)
        self.act = lib.ReLU()
        self.fc2 = lib.Linear(8, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(8, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.blocks = nn.ModuleList([Block(nn), Block(nn)])
        self.head = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))

    def forward(self, x):
        hidden = self.blocks[0](x) + self.blocks[1](x)
        return self.head(hidden * self.scale)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(3))
        self.blocks = torch.nn.ModuleList([TorchBlock(), TorchBlock()])
        self.head = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))


def _sequential_pair():
    ours = nn.Sequential(nn.Conv2D(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 10), nn.Dropout(0.5), nn.Linear(10, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * 4 * 4, 10), torch.nn.Dropout(0.5),
                                 torch.nn.Linear(10, 3))
    return ours, theirs


def test_named_parameters_and_state_dict_keys_match_torch():
    ours, theirs = Net(), TorchNet()
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.parameters())) == 1 + 2 * 3 + 4


def test_repr_matches_torch():
    ours, theirs = _sequential_pair()
    assert repr(ours) == repr(theirs).replace("Conv2d", "Conv2D").replace("MaxPool2d", "MaxPool2D")
    assert repr(Block(nn)) == repr(TorchBlock()).replace("TorchBlock", "Block")


@pytest.mark.parametrize("direction", ["torch_to_ours", "ours_to_torch"])
def test_weights_move_both_ways_with_equal_outputs_and_gradients(direction):
    ours, theirs = _sequential_pair()
    ours.double()
    theirs.double()
    if direction == "torch_to_ours":
        result = ours.load_state_dict(theirs.state_dict())   # PyTorch tensors go in as they are
    else:
        result = theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                                         for k, v in ours.state_dict().items()})
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    out_ours, out_theirs = ours(ag.Tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    target = np.array([0, 2])
    nn.CrossEntropyLoss()(out_ours, target).backward()
    torch.nn.CrossEntropyLoss()(out_theirs, torch.tensor(target)).backward()
    for (name, p), (_, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.detach().numpy(), p_t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_registration_and_unknown_attributes():
    layer = nn.Linear(3, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'.*'weight'"):
        layer.wieght
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = ag.zeros(2, 3)
    layer.extra = nn.Parameter(np.zeros(2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias", "extra"]
    del layer.extra
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias" not in layer.state_dict()

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Early()

    class Forgot(nn.Module):
        def __init__(self):
            self.size = 3

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match="did Forgot.__init__ call super"):
        Forgot()(ag.zeros(1))


def test_shared_parameter_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    t_shared = torch.nn.Linear(2, 2)
    t_model = torch.nn.Sequential(t_shared, torch.nn.ReLU(), t_shared)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in t_model.named_parameters()]


def test_train_eval_and_zero_grad():
    model = Net()
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    out = model(ag.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.detach().numpy().any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_sequential_and_modulelist_behave_like_lists():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2", "3"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    layers = nn.ModuleList([nn.Linear(1, 1)])
    layers.append(nn.Linear(1, 2)).extend([nn.Linear(2, 2)])
    layers.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["Tanh", "Linear", "Linear", "Linear"]
    assert list(layers.state_dict())[0] == "1.weight"
    with pytest.raises(NotImplementedError):
        layers(ag.zeros(1))


def test_load_state_dict_errors_and_non_strict():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    good = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    missing = dict(good)
    del missing["1.bias"]
    extra = dict(good, **{"2.weight": np.zeros((1, 1))})
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "1.bias"'):
        model.load_state_dict(missing)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "2.weight"'):
        model.load_state_dict(extra)
    wrong = dict(good, **{"0.weight": np.zeros((2, 4))})
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight.*\\(2, 4\\).*\\(2, 3\\)"):
        model.load_state_dict(wrong)
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(wrong, strict=False)   # as in PyTorch, shapes are always checked
    both = dict(extra)
    del both["1.bias"]
    result = model.load_state_dict(both, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["2.weight"]
    t_result = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)).load_state_dict(
        {k: torch.tensor(v) for k, v in both.items()}, strict=False)
    assert result.missing_keys == t_result.missing_keys
    assert result.unexpected_keys == t_result.unexpected_keys


def test_load_state_dict_copies_in_place_and_casts():
    model = nn.Linear(2, 2)
    weight = model.weight
    version = weight._version
    model.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert model.weight is weight and weight.dtype == np.float32
    assert np.array_equal(weight.detach().numpy(), np.ones((2, 2))) and weight._version > version
    state = model.state_dict()
    assert state["weight"].requires_grad is False
    assert np.shares_memory(state["weight"].detach().numpy(), weight.detach().numpy())


def test_forward_hooks_and_module_stack():
    from autograd_lite.function import _GradMode
    seen = []
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    handle = model[0].register_forward_hook(
        lambda m, inputs, out: seen.append((type(m).__name__, out.shape, len(_GradMode.module_stack))))
    x = ag.randn(4, 2, requires_grad=True)
    out = model(x)
    assert seen == [("Linear", (4, 3), 1)]     # the hook runs after the module is popped
    assert _GradMode.module_stack == []
    assert out._ctx.module is model[1]
    assert out._ctx.inputs[0]._ctx.module is model[0]
    handle.remove()
    model(x)
    assert len(seen) == 1


def test_module_stack_popped_after_an_error():
    from autograd_lite.function import _GradMode
    with pytest.raises(ValueError):
        nn.Sequential(nn.Linear(2, 3))(ag.zeros(1, 5))
    assert _GradMode.module_stack == []


def test_dtype_conversion_and_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2))
    assert model.double() is model and model[0].weight.dtype == np.float64
    assert model.float()[0].weight.dtype == np.float32
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    with pytest.raises(TypeError):
        model.to(np.int64)


def test_parameter_is_a_tensor():
    p = nn.Parameter(np.zeros((2, 3)))
    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert nn.Parameter(np.zeros(2), requires_grad=False).requires_grad is False
    y = (p * 2.0).sum()
    y.backward()
    np.testing.assert_array_equal(p.grad.detach().numpy(), np.full((2, 3), 2.0))


def test_apply_visits_children_first_and_deepcopy_is_independent():
    import copy
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert not model[0].weight.detach().numpy().any()
    clone = copy.deepcopy(model)
    clone[0].weight.detach().numpy()[...] = 1.0
    assert not model[0].weight.detach().numpy().any()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]


def test_sequential_insert_and_extend_like_torch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    assert ours.insert(1, nn.ReLU()) is ours and ours.extend([nn.Sigmoid()]) is ours
    theirs.insert(1, torch.nn.ReLU())
    theirs.extend([torch.nn.Sigmoid()])
    assert repr(ours).replace("Sequential", "") == repr(theirs).replace("Sequential", "")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.insert(-1, nn.Identity())  # negative positions count from the end, as in list.insert
    assert [type(m).__name__ for m in ours] == ["Linear", "ReLU", "Linear", "Identity", "Sigmoid"]
    with pytest.raises(TypeError, match="Sequential.insert: int is not a Module"):
        ours.insert(0, 3)
    with pytest.raises(IndexError, match="index 9 is out of range for 5 module"):
        ours.insert(9, nn.ReLU())


def test_non_persistent_buffers_and_device_arguments():
    class Normalize(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", ag.zeros(3))
            self.register_buffer("scratch", ag.ones(3), persistent=False)

    theirs = torch.nn.Module()
    theirs.register_buffer("mean", torch.zeros(3))
    theirs.register_buffer("scratch", torch.ones(3), persistent=False)
    module = Normalize()
    assert list(module.state_dict()) == list(theirs.state_dict()) == ["mean"]
    assert [name for name, _ in module.named_buffers()] == ["mean", "scratch"]
    assert module.load_state_dict({"mean": np.ones(3)}) == ([], [])
    assert module.to("cpu", non_blocking=True) is module and module.cpu() is module
    module.to("cpu", ag.float64)
    assert module.scratch.dtype == np.float64 and module.mean.tolist() == [1.0, 1.0, 1.0]
    assert module.to(dtype=ag.float32).mean.dtype == np.float32
    with pytest.raises(RuntimeError, match="got device 'cuda:0'"):
        module.to("cuda:0")
