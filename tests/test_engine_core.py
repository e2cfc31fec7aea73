"""The engine's core contracts: thread-local grad mode, what a graph keeps after backward, `.data`
and `.numpy()` as in PyTorch, custom Functions as PyTorch documents them, piecewise ops recorded
as themselves (with PyTorch's NaN/inf behaviour)."""
import gc
import os
import threading
import weakref

import numpy as np
import pytest
import torch

import autograd_lite as ag
import nn
import optim

RNG = np.random.default_rng(7)


# ----------------------------------------------------------------------------- grad mode per thread
def _train(steps, seed=0):
    ag.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = optim.SGD(model.parameters(), lr=0.05)
    x = ag.tensor(np.random.default_rng(seed).standard_normal((16, 4)), dtype=ag.float32)
    y = (x[:, :1] * 2.0).detach()
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_no_grad_in_one_thread_never_changes_another_threads_training():
    serial = _train(1000)
    stop, errors = threading.Event(), []
    evaluator = nn.Linear(4, 1)
    x = ag.randn(8, 4)

    def evaluate():
        try:
            while not stop.is_set():
                with ag.no_grad():
                    out = evaluator(x)
                    assert not out.requires_grad and not ag.is_grad_enabled()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=evaluate)
    thread.start()
    try:
        concurrent = _train(1000)
    finally:
        stop.set()
        thread.join()
    assert not errors
    for a, b in zip(serial, concurrent):
        np.testing.assert_array_equal(a, b)
    assert ag.is_grad_enabled()


def test_grad_mode_is_restored_when_an_exception_escapes():
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("boom")
    assert ag.is_grad_enabled()
    with pytest.raises(KeyError):
        with ag.set_grad_enabled(False):
            raise KeyError("boom")
    assert ag.is_grad_enabled()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(ag.is_grad_enabled()))
    with ag.no_grad():
        thread.start()
        thread.join()
    assert seen == [True]  # a new thread starts with recording on


def test_inference_mode_context_and_decorator():
    x = ag.ones(3, requires_grad=True)
    with ag.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ag.inference_mode()
    def double(t):
        return t * 2
    assert not double(x).requires_grad


# ----------------------------------------------------------------------------- what a graph keeps
def test_a_node_keeps_only_what_backward_saved():
    x = ag.tensor(RNG.standard_normal(5), requires_grad=True)
    constant = ag.tensor(RNG.standard_normal(5))
    hidden = x + constant          # Add saves nothing
    loss = hidden.sum()
    probe_hidden, probe_constant = weakref.ref(hidden), weakref.ref(constant)
    del hidden, constant
    gc.collect()
    assert probe_hidden() is None and probe_constant() is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.ones(5))


def test_second_backward_raises_pytorchs_error_unless_retain_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * (np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = ag.relu(x).sum()  # ReLU keeps a mask (an attribute of ctx): freed too
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


def test_keeping_every_loss_keeps_almost_nothing():
    """history.append(loss) for 10,000 steps of an MLP: under 10 KiB a step (PyTorch: about 0)."""
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x, y = ag.randn(16, 8), ag.tensor(RNG.integers(0, 3, 16))
    history = []

    def run(steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            history.append(loss)

    run(100)  # warm up allocator caches
    gc.collect()
    before = _resident_bytes()
    run(10_000)
    gc.collect()
    per_step = (_resident_bytes() - before) / 10_000
    assert per_step < 10 * 1024, f"each kept loss keeps {per_step / 1024:.1f} KiB"
    assert len(history) == 10_100


def _resident_bytes():
    with open("/proc/self/statm") as statm:  # Linux: pages of resident memory in field 2
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ----------------------------------------------------------------------------- .data and .numpy()
def test_data_is_a_detached_tensor_sharing_memory_outside_the_version_counter():
    p = ag.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert isinstance(d, ag.Tensor) and not d.requires_grad and d.grad_fn is None
    version = p._version
    with ag.no_grad():
        pass
    p.data.add_(1.0)  # allowed even while recording: .data is outside autograd
    assert p._version == version
    np.testing.assert_array_equal(p.detach().numpy(), [2.0, 3.0])
    assert p.data.size(0) == 2 and abs((p.data ** 2).sum().item() - 13.0) < 1e-6
    p.data = ag.tensor([5.0, 6.0, 7.0])
    assert p.shape == (3,) and p.requires_grad


def test_numpy_refuses_a_tensor_that_requires_grad_with_pytorchs_message():
    p = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad. "
                                            r"Use tensor.detach\(\).numpy\(\) instead."):
        p.numpy()
    array = p.detach().numpy()
    array[0] = 4.0
    assert p.item() == 4.0  # shares memory, like PyTorch
    assert p.numpy(force=True)[0] == 4.0


# ----------------------------------------------------------------------------- custom Functions
class TwoOutputs(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x ** 2

    @staticmethod
    def backward(ctx, g_double, g_square):
        x, = ctx.saved_tensors
        return g_double * 2 + g_square * 2 * x, None  # an extra trailing None is allowed


def test_multi_output_functions_back_propagate_used_and_unused_outputs():
    x = ag.tensor([1.0, -3.0], requires_grad=True)
    double, square = TwoOutputs.apply(x)
    (double.sum() + square.sum()).backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), [2 + 2, 2 - 6])
    x.grad = None
    TwoOutputs.apply(x)[1].sum().backward()  # the unused output's gradient is materialised as zeros
    np.testing.assert_allclose(x.grad.detach().numpy(), [2, -6])


def test_set_materialize_grads_false_passes_none():
    seen = []

    class Pair(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 1, x * 1

        @staticmethod
        def backward(ctx, a, b):
            seen.append((a is None, b is None))
            return a if a is not None else b

    x = ag.tensor([1.0], requires_grad=True)
    Pair.apply(x)[0].sum().backward()
    assert seen == [(False, True)]


def test_needs_input_grad_non_differentiable_and_setup_context_style():
    class SortWithIndices(ag.Function):
        @staticmethod
        def forward(x):
            order = np.argsort(x.detach().numpy(), kind="stable")
            return ag.tensor(x.detach().numpy()[order]), ag.tensor(order)

        @staticmethod
        def setup_context(ctx, inputs, output):
            values, order = output
            ctx.mark_non_differentiable(order)
            ctx.order = order.detach().numpy()
            ctx.seen = ctx.needs_input_grad

        @staticmethod
        def backward(ctx, grad, _):
            out = np.zeros_like(grad.detach().numpy())
            out[ctx.order] = grad.detach().numpy()
            return ag.tensor(out)

    x = ag.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, order = SortWithIndices.apply(x)
    assert values.requires_grad and not order.requires_grad
    (values * ag.tensor([1.0, 10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [100.0, 1.0, 10.0])


def test_mark_dirty_and_save_for_backward_errors():
    class AddOneInPlace(ag.Function):
        @staticmethod
        def forward(ctx, x):
            x._data += 1.0
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    a = ag.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    version = b._version
    out = AddOneInPlace.apply(b)
    assert out is b and b._version == version + 1 and b.grad_fn.name() == "AddOneInPlace"
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.detach().numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        AddOneInPlace.apply(ag.tensor([1.0], requires_grad=True))

    class SavesANumber(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 2.0)
            return x * 2

    with pytest.raises(TypeError, match="save_for_backward can only save tensors.*argument 1 is a float"):
        SavesANumber.apply(a)


def test_next_functions_and_name_like_pytorch():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).exp()
    (mul, index), = y.grad_fn.next_functions
    assert y.grad_fn.name() == "Exp" and index == 0 and mul.name() == "Mul"
    accumulate, constant = mul.next_functions
    assert accumulate[0].variable is x and constant == (None, 0)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    assert len((tx * 2).exp().grad_fn.next_functions[0][0].next_functions) == 2


# ----------------------------------------------------------------------------- piecewise primitives
SPECIAL = [-np.inf, -2.0, -1.0, 0.0, 1.0, 2.0, np.inf, np.nan]
PIECEWISE = [
    ("relu", lambda m, t: m.relu(t), "ReLU"),
    ("abs", lambda m, t: m.abs(t), "Abs"),
    ("clamp", lambda m, t: m.clamp(t, -1.0, 1.0), "Clamp"),
    ("maximum", lambda m, t: m.maximum(t, m.zeros_like(t) + 1.0), "Maximum"),
    ("minimum", lambda m, t: m.minimum(t, m.zeros_like(t) + 1.0), "Minimum"),
    ("leaky_relu", lambda m, t: (nn.functional if m is ag else torch.nn.functional).leaky_relu(t, 0.1),
     "LeakyReLU"),
    ("elu", lambda m, t: (nn.functional if m is ag else torch.nn.functional).elu(t, 0.7), "ELU"),
]


@pytest.mark.parametrize("name,fn,op", PIECEWISE, ids=[p[0] for p in PIECEWISE])
def test_piecewise_ops_are_recorded_as_themselves_with_pytorchs_special_values(name, fn, op):
    x = ag.tensor(np.array(SPECIAL), requires_grad=True)
    tx = torch.tensor(np.array(SPECIAL), requires_grad=True)
    out, tout = fn(ag, x), fn(torch, tx)
    assert out.grad_fn.name() == op
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    ours, theirs = x.grad.detach().numpy(), tx.grad.numpy()
    if name == "elu":  # PyTorch's ELU gradient at NaN is 1 in its scalar loop and NaN in its
        ours, theirs = ours[:-1], theirs[:-1]  # vectorised one (8+ elements): either is defensible
    np.testing.assert_array_equal(ours, theirs)


def test_the_graph_is_a_function_of_its_inputs():
    """Replaying the recorded nodes on new inputs gives the op's value there (no baked-in mask)."""
    x = ag.tensor([-1.0, 2.0], requires_grad=True)
    y = ag.relu(x).abs().clamp(0.0, 1.5)
    nodes = []
    node = y.grad_fn
    while node is not None:
        nodes.append(node)
        node = node.next_functions[0][0] if node.next_functions[0][0].__class__ is not \
            ag.function.AccumulateGrad else None
    assert [n.name() for n in reversed(nodes)] == ["ReLU", "Abs", "Clamp"]
    value = ag.tensor([3.0, -4.0])
    for node in reversed(nodes):
        value = type(node).apply(value, *node.inputs[1:])
    np.testing.assert_array_equal(value.numpy(), [1.5, 0.0])


# The ops marked _stores_only_saved are released by dropping their saved tensors only: check that
# their forward really keeps nothing else on ctx (a new attribute there would outlive backward).
_LEAN_CASES = {
    "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b, "Neg": lambda a, b: -a, "Exp": lambda a, b: a.exp(),
    "Log": lambda a, b: (a * a + 1).log(), "Tanh": lambda a, b: a.tanh(),
    "Sigmoid": lambda a, b: a.sigmoid(), "Sum": lambda a, b: a.sum(1),
    "Reshape": lambda a, b: a.reshape(6), "Permute": lambda a, b: a.permute(1, 0),
    "Expand": lambda a, b: a[:1].expand(4, 3), "MatMul": lambda a, b: a @ b.T,
    "Linear": lambda a, b: ag.linear(a, b),
}


def test_every_op_marked_stores_only_saved_keeps_nothing_else_on_ctx():
    from autograd_lite.autodiff import _BOOKKEEPING
    from autograd_lite.ops import STORES_ONLY_SAVED
    assert sorted(cls.__name__.replace("LinearFn", "Linear") for cls in STORES_ONLY_SAVED) == \
        sorted(_LEAN_CASES)
    rng = np.random.default_rng(0)
    for name, fn in _LEAN_CASES.items():
        a = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True)
        b = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True)
        out = fn(a, b)
        node = out.grad_fn
        while node.name() != name:  # the op under test may sit below a GetItem or a Mul
            node = next(n for n, _ in node.next_functions if n is not None and hasattr(n, "inputs"))
        assert node.__class__._stores_only_saved
        extra = set(vars(node)) - _BOOKKEEPING
        assert not extra, f"{name} keeps {extra} on ctx: remove it from STORES_ONLY_SAVED"
        out.sum().backward()
        assert set(vars(node)) <= _BOOKKEEPING and node._saved is None


def test_ops_marked_records_nothing_record_no_node_inside_their_forward(monkeypatch):
    """_record leaves recording on around the forward of these ops (they compute on arrays only):
    a Tensor op inside one of them would record a node of its own, nested in the outer one."""
    from autograd_lite import function
    from autograd_lite.ops import STORES_ONLY_SAVED
    original, depth, nested = function._record, [0], []

    def recording(cls, args, mode):
        depth[0] += 1
        if depth[0] > 1:
            nested.append(cls.__name__)
        try:
            return original(cls, args, mode)
        finally:
            depth[0] -= 1
    monkeypatch.setattr(function, "_record", recording)
    assert all(cls._records_nothing for cls in STORES_ONLY_SAVED)
    rng = np.random.default_rng(0)
    for name, fn in _LEAN_CASES.items():
        a = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True)
        b = ag.tensor(rng.normal(size=(2, 3)), requires_grad=True)
        fn(a, b).sum().backward()
        assert a.grad is not None
    from autograd_lite.ops.losses import CrossEntropyIndices
    from nn import functional as F
    assert CrossEntropyIndices._records_nothing  # the fused loss makes the same claim
    logits = ag.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    F.cross_entropy(logits, np.array([0, 2, 1, 0])).backward()
    assert logits.grad is not None
    assert nested == []
    assert depth == [0]
