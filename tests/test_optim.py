"""Optimizers against torch.optim: 25 float64 steps for every option combination, parameter groups,
state_dict round trips (also from PyTorch's own state_dict), argument errors."""
import copy
import itertools

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import optim

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 25


def _grid(**options):
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


def _sgd_cases():
    out = []
    for kw in _grid(momentum=[0.0, 0.9], dampening=[0.0, 0.5], nesterov=[False, True],
                    weight_decay=[0.0, 0.1], maximize=[False, True]):
        if kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
            continue
        out.append(("SGD", dict(lr=0.05, **kw)))
    return out


CASES = (
    _sgd_cases()
    + [("RMSprop", dict(lr=0.01, **kw)) for kw in _grid(
        alpha=[0.99, 0.9], momentum=[0.0, 0.5], centered=[False, True], weight_decay=[0.0, 0.1])]
    + [("RMSprop", dict(lr=0.01, eps=1e-3, maximize=True))]
    + [("Adam", dict(lr=0.01, **kw)) for kw in _grid(
        betas=[(0.9, 0.999), (0.8, 0.95)], amsgrad=[False, True], weight_decay=[0.0, 0.1],
        maximize=[False, True])]
    + [("AdamW", dict(lr=0.01, **kw)) for kw in _grid(
        amsgrad=[False, True], weight_decay=[0.0, 1e-2, 0.3], eps=[1e-8, 1e-3])]
    + [("Adagrad", dict(lr=0.05, **kw)) for kw in _grid(
        lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1], initial_accumulator_value=[0.0, 0.5],
        maximize=[False, True])]
    + [("Adadelta", dict(**kw)) for kw in _grid(
        lr=[1.0, 0.3], rho=[0.9, 0.5], weight_decay=[0.0, 0.1], eps=[1e-6, 1e-3])]
)


def _gradient(values, step, index):
    """A gradient that depends on the parameter (so trajectories diverge if an update is wrong)
    and on the step; parameter 2 gets no gradient on every third step (it must not move)."""
    if index == 2 and step % 3 == 0:
        return None
    return np.cos(values * (1 + index)) + 0.3 * values + 0.2 * np.sin(step + np.arange(values.size)
                                                                      ).reshape(values.shape)


def _make(name, kwargs, initial):
    ours = [ag.Tensor(a.copy(), requires_grad=True) for a in initial]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in initial]
    return ours, theirs, getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(theirs, **kwargs)


def _step_both(ours, theirs, opt_ours, opt_theirs, step):
    opt_ours.zero_grad()
    opt_theirs.zero_grad()
    for i, (p, q) in enumerate(zip(ours, theirs)):
        grad = _gradient(p.detach().numpy(), step, i)
        if grad is not None:
            p.grad = ag.Tensor(grad.copy())
            q.grad = torch.tensor(grad)
    opt_ours.step()
    opt_theirs.step()


def _assert_same(ours, theirs, message=""):
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-9, atol=1e-9, err_msg=message)


def _initial(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in SHAPES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", _sgd_cases(), ids=[f"{n}-{k}" for n, k in _sgd_cases()])
def test_sgd_gives_torchs_bits(name, kwargs, dtype):
    """SGD rounds as torch.optim.SGD does: p.add_(g, alpha=-lr), and weight decay and Nesterov's
    step, each a fused multiply-add (one rounding). 25 steps, float32 and float64, with a
    parameter of 12,000 elements (two BLAS calls, blas.AXPY_PIECE): PyTorch's bits."""
    initial = [a.astype(dtype) for a in _initial()] + [
        np.random.default_rng(1).standard_normal((120, 100)).astype(dtype)]
    ours, theirs, opt_ours, opt_theirs = _make(name, kwargs, initial)
    for step in range(STEPS):
        opt_ours.zero_grad()
        opt_theirs.zero_grad()
        for i, (p, q) in enumerate(zip(ours, theirs)):
            grad = _gradient(q.detach().numpy(), step, i)
            if grad is not None:
                p.grad = ag.Tensor(grad.astype(dtype))
                q.grad = torch.from_numpy(grad.astype(dtype))
        opt_ours.step()
        opt_theirs.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.detach().numpy().view(np.uint8), q.detach().numpy().view(np.uint8))


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_25_steps_match_torch(name, kwargs):
    ours, theirs, opt_ours, opt_theirs = _make(name, kwargs, _initial())
    for step in range(STEPS):
        _step_both(ours, theirs, opt_ours, opt_theirs, step)
        _assert_same(ours, theirs, f"step {step}")
    assert not np.allclose(ours[0].detach().numpy(), _initial()[0])


def test_parameter_groups_with_their_own_settings():
    initial = _initial(1)
    ours = [ag.Tensor(a.copy(), requires_grad=True) for a in initial]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in initial]
    groups = lambda ps: [{"params": ps[:1]},  # noqa: E731
                         {"params": ps[1:], "lr": 0.2, "momentum": 0.5, "nesterov": True}]
    opt_ours = optim.SGD(groups(ours), lr=0.01, momentum=0.9)
    opt_theirs = torch.optim.SGD(groups(theirs), lr=0.01, momentum=0.9)
    assert opt_ours.param_groups[0]["momentum"] == 0.9 and opt_ours.param_groups[1]["lr"] == 0.2
    for step in range(STEPS):
        _step_both(ours, theirs, opt_ours, opt_theirs, step)
    _assert_same(ours, theirs)
    extra = ag.Tensor(np.ones(2), requires_grad=True)
    opt_ours.add_param_group({"params": [extra], "lr": 1.0})
    extra.grad = ag.Tensor(np.ones(2))
    opt_ours.step()
    np.testing.assert_allclose(extra.detach().numpy(), np.zeros(2))
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt_ours.add_param_group({"params": [extra]})


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)), ("RMSprop", dict(momentum=0.5, centered=True)),
    ("Adam", dict(amsgrad=True, weight_decay=0.1)), ("AdamW", dict(lr=0.01)), ("Adagrad", dict()),
    ("Adadelta", dict(weight_decay=0.1))])
def test_state_dict_round_trip_resumes_identically(name, kwargs):
    initial = _initial(2)
    ours, theirs, opt_ours, opt_theirs = _make(name, kwargs, initial)
    for step in range(10):
        _step_both(ours, theirs, opt_ours, opt_theirs, step)
    saved = copy.deepcopy(opt_ours.state_dict())
    assert sorted(saved["state"]) == sorted(opt_theirs.state_dict()["state"])
    assert [g["params"] for g in saved["param_groups"]] == \
        [g["params"] for g in opt_theirs.state_dict()["param_groups"]]
    # a fresh optimizer on copies of the parameters, resumed from the saved state
    resumed = [ag.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    opt_resumed = getattr(optim, name)(resumed, lr=123.0)
    opt_resumed.load_state_dict(saved)
    # and one resumed from PyTorch's own state_dict
    from_torch = [ag.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in ours]
    opt_from_torch = getattr(optim, name)(from_torch)
    opt_from_torch.load_state_dict(opt_theirs.state_dict())
    for step in range(10, STEPS):
        for params, opt in ((resumed, opt_resumed), (from_torch, opt_from_torch)):
            opt.zero_grad()
            for i, p in enumerate(params):
                grad = _gradient(p.detach().numpy(), step, i)
                if grad is not None:
                    p.grad = ag.Tensor(grad)
            opt.step()
        _step_both(ours, theirs, opt_ours, opt_theirs, step)
    for a, b, c in zip(ours, resumed, from_torch):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-12, atol=1e-12)
    _assert_same(ours, theirs)
    # the loaded state is a copy, not shared with the source
    first_state = next(iter(opt_resumed.state.values()))
    for key, value in first_state.items():
        if isinstance(value, np.ndarray):
            assert not any(np.shares_memory(value, v) for s in opt_ours.state.values()
                           for v in s.values() if isinstance(v, np.ndarray))


def test_load_state_dict_checks_group_sizes():
    a, b = ag.Tensor(np.ones(2), requires_grad=True), ag.Tensor(np.ones(3), requires_grad=True)
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter group"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid lr value: -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "Invalid momentum value"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Invalid eps value"),
    (lambda p: optim.AdamW(p, lr=-1), "Invalid lr value"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "Invalid alpha value"),
    (lambda p: optim.RMSprop(p, momentum=-0.5), "Invalid momentum value"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value"),
    (lambda p: optim.SGD([{"params": p, "lr": -5}], lr=0.1), "Invalid lr value: -5"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD([p[0], p[0]], lr=0.1), "more than one parameter group"),
])
def test_invalid_arguments_raise_value_error_naming_them(make, match):
    params = [ag.Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(ValueError, match=match):
        make(params)


def test_non_leaf_and_type_errors():
    x = ag.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(x, lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] is a \(name, parameter\) pair \('weight'\): "
                       r"pass model.parameters\(\), not model.named_parameters\(\)"):
        optim.SGD([("weight", x)], lr=0.1)
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match=r"got a method \(not its result\): pass model.parameters\(\)"):
        optim.SGD(model.parameters, lr=0.1)
    with pytest.raises(TypeError, match=r"got a Module: pass model.parameters\(\)"):
        optim.SGD(model, lr=0.1)


def test_step_updates_in_place_bumps_version_and_runs_closure():
    p = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    data, version = p.detach().numpy(), p._version
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.detach().numpy().__array_interface__["data"] == data.__array_interface__["data"]
    assert p._version > version  # (updated in place)
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0])
    assert ag.is_grad_enabled()
    opt.zero_grad()
    assert p.grad is None


def test_momentum_as_exponential_average_is_dampening_equal_momentum():
    """The course's v = beta v + (1 - beta) g is SGD(momentum=beta, dampening=beta), except for the
    first step, where PyTorch (and we) start the buffer at g itself."""
    p = ag.Tensor(np.zeros(1), requires_grad=True)
    opt = optim.SGD([p], lr=1.0, momentum=0.9, dampening=0.9)
    velocity, position = 0.0, 0.0
    for step in range(5):
        p.grad = ag.Tensor(np.ones(1))
        opt.step()
        velocity = 1.0 if step == 0 else 0.9 * velocity + 0.1 * 1.0
        position -= velocity
    np.testing.assert_allclose(p.detach().numpy(), [position])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_pytorchs_implementation_switches_are_accepted_and_change_nothing(name):
    """foreach=, fused=, capturable= choose among PyTorch's implementations of a step: each class
    takes those its torch.optim twin takes (read from PyTorch's signature) and updates the same
    bits with them; other keywords, fused with foreach, and differentiable=True are refused."""
    import inspect
    switches = [k for k in inspect.signature(getattr(torch.optim, name).__init__).parameters
                if k in ("foreach", "fused", "capturable", "differentiable")]
    assert "foreach" in switches and "differentiable" in switches
    plain, _, opt_plain, _ = _make(name, {"lr": 0.01}, _initial())
    for values in ({k: False for k in switches}, {k: None if k in ("foreach", "fused") else False
                                                  for k in switches},
                   {k: True for k in switches if k not in ("foreach", "differentiable")}):
        switched, _, opt_switched, _ = _make(name, {"lr": 0.01, **values}, _initial())
        for step in range(3):
            for opt, params in ((opt_plain, plain), (opt_switched, switched)):
                opt.zero_grad()
                for i, p in enumerate(params):
                    p.grad = ag.Tensor(np.cos(p.detach().numpy() + step + i))
                opt.step()
        for p, q in zip(plain, switched):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        plain, _, opt_plain, _ = _make(name, {"lr": 0.01}, _initial())
    params = [ag.Tensor(np.ones(2), requires_grad=True)]
    for key in {"foreach", "fused", "capturable", "differentiable"} - set(switches):
        with pytest.raises(TypeError, match=f"{name}.__init__.. got an unexpected keyword argument '{key}'"):
            getattr(optim, name)(params, **{key: False})
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(optim, name)(params, differentiable=True)
    if "fused" in switches:
        with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
            getattr(optim, name)(params, fused=True, foreach=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_on_empty_and_scalar_parameters_gives_torchs_bits(dtype):
    """A 0-d parameter and empty ones (a layer with no inputs) update as in PyTorch, with every
    SGD option that rounds through BLAS (weight decay, Nesterov's momentum)."""
    shapes = [(), (0,), (3, 0), (1,)]
    initial = [np.full(shape, 2.0 + i, dtype) for i, shape in enumerate(shapes)]
    kwargs = dict(lr=0.5, momentum=0.9, nesterov=True, weight_decay=0.1)
    ours, theirs, opt_ours, opt_theirs = _make("SGD", kwargs, initial)
    for step in range(3):
        for p, q in zip(ours, theirs):
            grad = np.full(p.shape, 0.3 + step, dtype)
            p.grad = ag.Tensor(grad.copy())
            q.grad = torch.from_numpy(grad.copy())
        opt_ours.step()
        opt_theirs.step()
    for p, q in zip(ours, theirs):
        assert p.shape == tuple(q.shape)
        np.testing.assert_array_equal(p.detach().numpy().reshape(-1).view(np.uint8),
                                      q.detach().numpy().reshape(-1).view(np.uint8))
