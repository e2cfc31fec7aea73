"""Dropout2d/Dropout1d, Identity, Unflatten, ModuleDict, ParameterList, ParameterDict and LazyLinear:
behaviour, state_dict keys and repr against PyTorch; the optimizer with lazy layers."""
import math
import warnings

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import nn.functional as F
import optim

RNG = np.random.default_rng(13)


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    ag.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    x = ag.tensor(RNG.uniform(1, 2, (8, 16, 5, 4)), requires_grad=True)
    y = layer(x)
    out = y.detach().numpy()
    per_channel = out.reshape(8, 16, -1)
    dropped = (per_channel == 0).all(-1)
    kept = np.isclose(per_channel, 2 * x.detach().numpy().reshape(8, 16, -1)).all(-1)
    assert (dropped | kept).all() and 0.3 < dropped.mean() < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept[..., None, None], 2.0, 0.0)
                                  * np.ones((1, 1, 5, 4)))
    layer.eval()
    assert layer(x) is x
    assert repr(layer) == repr(torch.nn.Dropout2d(0.5))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        three_d = F.dropout2d(ag.ones(4, 6, 10), 0.5).numpy()
    assert ((three_d == 0).all(-1) | (three_d == 2).all(-1)).all()   # channels of (N, C, L)


def test_dropout1d_unbatched_and_batched():
    ag.manual_seed(1)
    for shape in [(6, 30), (3, 6, 30)]:
        out = nn.Dropout1d(0.5)(ag.ones(*shape)).numpy()
        assert ((out == 0).all(-1) | (out == 2).all(-1)).all()
        assert 0 < (out == 0).mean() < 1
    with pytest.raises(ValueError, match=r"\(N, C, L\) or \(C, L\)"):
        F.dropout1d(ag.ones(2, 3, 4, 5))
    assert repr(nn.Dropout1d(0.2)) == repr(torch.nn.Dropout1d(0.2))


def test_identity_and_unflatten():
    x = ag.tensor(RNG.standard_normal((2, 12)), requires_grad=True)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == repr(torch.nn.Identity())
    layer = nn.Unflatten(1, (2, 3, 2))
    y = layer(x)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy().reshape(2, 2, 3, 2))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 12)))
    assert nn.Unflatten(-1, (-1, 4))(x).shape == (2, 3, 4)
    assert repr(layer) == repr(torch.nn.Unflatten(1, (2, 3, 2)))
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 2, 2)))
    assert model(ag.zeros(5, 3, 2, 2)).shape == (5, 3, 2, 2)
    with pytest.raises(ValueError, match=r"\(5, 3\) does not multiply to the size 12"):
        nn.Unflatten(1, (5, 3))(x)


def test_module_dict_registers_children_like_torch():
    ours = nn.ModuleDict({"conv": nn.Conv2d(1, 2, 3), "head": nn.Linear(2, 3)})
    theirs = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(1, 2, 3), "head": torch.nn.Linear(2, 3)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("Conv2D", "Conv2d") == repr(theirs)
    assert list(ours) == ["conv", "head"] and "head" in ours and len(ours) == 2
    ours["act"] = nn.ReLU()
    ours.update([("drop", nn.Dropout())])
    assert list(ours.keys()) == ["conv", "head", "act", "drop"]
    assert isinstance(ours.pop("act"), nn.ReLU) and "act" not in ours
    del ours["drop"]
    assert [name for name, _ in ours.named_parameters()] == ["conv.weight", "conv.bias",
                                                            "head.weight", "head.bias"]
    with pytest.raises(KeyError, match=r"no module 'missing' \(keys: \['conv', 'head'\]\)"):
        ours["missing"]
    ours.clear()
    assert len(ours) == 0 and list(ours.parameters()) == []


def test_parameter_list_and_dict_register_parameters():
    class Model(nn.Module):
        def __init__(self, lib):
            super().__init__()
            self.plist = lib.ParameterList([lib.Parameter(np.ones((2, 3))), ag.tensor(np.zeros(2))]) \
                if lib is nn else lib.ParameterList([lib.Parameter(torch.ones(2, 3)),
                                                     torch.zeros(2)])
            self.pdict = lib.ParameterDict({"scale": lib.Parameter(
                np.ones(4) if lib is nn else torch.ones(4))})

    ours = Model(nn)
    # a plain Tensor placed in a ParameterList becomes a Parameter (as in PyTorch)
    ours.plist.append(ag.tensor(np.full(3, 2.0)))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.plist)
    assert list(ours.state_dict()) == ["plist.0", "plist.1", "plist.2", "pdict.scale"]

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.plist = torch.nn.ParameterList([torch.ones(2, 3), torch.zeros(2), torch.ones(3)])
            self.pdict = torch.nn.ParameterDict({"scale": torch.ones(4)})
    assert list(ours.state_dict()) == list(TorchModel().state_dict())
    assert len(list(ours.parameters())) == 4
    assert ours.plist[-1].shape == (3,) and ours.plist[0:2][1].shape == (2,)
    assert repr(ours.plist) == ("ParameterList(\n  (0): Parameter containing: [float64 of size 2x3]"
                                "\n  (1): Parameter containing: [float64 of size 2]\n  (2): "
                                "Parameter containing: [float64 of size 3]\n)")
    loss = (ours.plist[0].sum() + ours.pdict["scale"].sum()) * 2
    loss.backward()
    np.testing.assert_array_equal(ours.pdict["scale"].grad.numpy(), np.full(4, 2.0))
    ours.pdict["bias"] = nn.Parameter(np.zeros(1))
    assert list(ours.pdict.keys()) == ["scale", "bias"] and "bias" in ours.pdict
    with pytest.raises(KeyError, match="without '.'"):
        ours.pdict["a.b"] = nn.Parameter(np.zeros(1))
    with pytest.raises(TypeError, match="must be a Parameter or a Tensor, got str"):
        ours.plist.append("weights")
    with pytest.raises(IndexError, match="index 7 is out of range for 3"):
        ours.plist[7]


def test_lazy_linear_matches_linear_after_the_first_call():
    lazy = nn.LazyLinear(3)
    assert repr(lazy) == repr(torch.nn.LazyLinear(3))
    assert isinstance(lazy.weight, nn.UninitializedParameter) and repr(lazy.weight) == \
        "<UninitializedParameter>"
    weight, bias = lazy.weight, lazy.bias
    x = ag.tensor(RNG.standard_normal((4, 7)), dtype=ag.float32)
    y = lazy(x)
    assert y.shape == (4, 3) and type(lazy) is nn.Linear and lazy.in_features == 7
    assert lazy.weight is weight and weight.shape == (3, 7) and bias.shape == (3,)
    bound = 1 / math.sqrt(7)
    assert 0 < np.abs(weight.detach().numpy()).max() <= bound
    assert np.abs(bias.detach().numpy()).max() <= bound
    assert repr(lazy) == repr(torch.nn.Linear(7, 3))
    np.testing.assert_allclose(y.detach().numpy(), x.numpy() @ weight.detach().numpy().T
                               + bias.detach().numpy(), rtol=1e-6)
    assert list(lazy.state_dict()) == ["weight", "bias"]
    no_bias = nn.LazyLinear(2, bias=False)
    no_bias(ag.zeros(1, 5))
    assert no_bias.bias is None and no_bias.weight.shape == (2, 5)


def test_optimizer_built_before_materialisation_trains_the_same_objects():
    """Chosen behaviour (nn.lazy): building the optimizer first is fine, because the parameters
    are materialised in place; step() before any forward pass raises."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.LazyConv2d(2, 3), nn.Flatten(), nn.LazyLinear(1))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match=r"param_groups\[0\]\['params'\]\[0\] is an "
                                           "uninitialized parameter of a Lazy layer"):
        optimizer.step()
    x = ag.tensor(RNG.standard_normal((4, 1, 5, 5)).astype(np.float32))
    loss = (model(x) ** 2).mean()
    before = [p.detach().numpy().copy() for p in [model[0].weight, model[2].weight]]
    loss.backward()
    optimizer.step()
    after = [model[0].weight.detach().numpy(), model[2].weight.detach().numpy()]
    assert [p.shape for p in optimizer.param_groups[0]["params"]] == [(2, 1, 3, 3), (2,), (1, 18),
                                                                     (1,)]
    for old, new in zip(before, after):
        assert old.shape == new.shape and not np.allclose(old, new)


def test_lazy_layer_errors():
    with pytest.raises(ValueError, match="no feature dimension"):
        nn.LazyLinear(2)(ag.tensor(1.0))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\)"):
        nn.LazyConv2d(2, 3)(ag.zeros(5, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LazyLinear(2)   # no warning at construction
