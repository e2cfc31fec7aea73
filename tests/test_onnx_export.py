"""ag.onnx.export: the model's recorded graph written as ONNX, checked by onnx.checker and run by
ONNX Runtime, whose outputs must equal ours (float32, 1e-5) for the course's MLP and CNN with a
dynamic batch axis, and for every activation and the other mapped ops."""
import numpy as np
import onnx
import onnxruntime
import pytest

import autograd_lite as ag
import nn
from autograd_lite.onnx import UnsupportedOperatorError

RNG = np.random.default_rng(11)


def run_onnx(path, **feeds):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check(model, example, path, batch_sizes=(1, 5), atol=1e-5, dynamic=True, data=None):
    ag.onnx.export(model, example, path, input_names=["input"], output_names=["output"],
                   dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None)
    onnx.checker.check_model(onnx.load(str(path)))
    model.eval()
    for batch in batch_sizes if dynamic else (example.shape[0],):
        x = data(batch) if data else RNG.standard_normal((batch,) + tuple(example.shape[1:])).astype(np.float32)
        with ag.no_grad():
            ours = model(ag.tensor(x)).numpy()
        theirs, = run_onnx(path, input=x)
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=atol)


def test_course_mlp_with_a_dynamic_batch(tmp_path):
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3),
                          nn.Softmax(dim=1))
    model.train()
    check(model, ag.randn(2, 4), tmp_path / "mlp.onnx", batch_sizes=(1, 7, 32))  # exported in eval mode
    model.train()
    ag.onnx.export(model, ag.randn(2, 4), tmp_path / "again.onnx")
    assert model.training  # the mode is restored


def test_course_cnn_with_a_dynamic_batch(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 3 * 3, 32), nn.Tanh(), nn.Linear(32, 10),
                          nn.LogSoftmax(dim=1))
    check(model, ag.randn(2, 1, 14, 14), tmp_path / "cnn.onnx", batch_sizes=(1, 3, 9))


ACTIVATIONS = [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(),
               nn.Softplus(), nn.Softplus(beta=2.0), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
               nn.Softmax(dim=-1), nn.LogSoftmax(dim=-1)]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda m: repr(m))
def test_every_activation(tmp_path, activation):
    model = nn.Sequential(nn.Linear(5, 6), activation)
    check(model, ag.randn(3, 5), tmp_path / "act.onnx", batch_sizes=(2, 4))


class Arithmetic(nn.Module):
    """Elementwise arithmetic, matmul, reshape, transpose, concat, indexing, clamp, reductions."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(ag.tensor(RNG.standard_normal((6, 6)).astype(np.float32)))

    def forward(self, x):
        y = (x @ self.w) * 0.5 - x / 3.0 + 1.0
        y = ag.cat([y, -y.abs()], dim=1).reshape(-1, 3, 4).permute(0, 2, 1)
        y = y[:, 1:, :].clamp(-1.0, 2.0) ** 2
        return y.sum(dim=2) + ag.maximum(y, y * 0.3).mean(dim=2) + y.exp().log()[:, :, 0]


def test_arithmetic_and_shape_ops(tmp_path):
    check(Arithmetic(), ag.randn(2, 6), tmp_path / "arith.onnx", batch_sizes=(1, 4))


class Unmapped(ag.Function):
    """A user's op with forward and backward but no ``onnx`` method."""

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return grad


def test_an_op_without_mapping_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(UnsupportedOperatorError, match="op Unmapped has no ONNX mapping"):
        ag.onnx.export(lambda x: Unmapped.apply(model(x)), ag.randn(2, 3), tmp_path / "x.onnx")


def test_batchnorm_in_eval_and_layernorm(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 5 * 5, 6), nn.LayerNorm(6), nn.BatchNorm1d(6), nn.Linear(6, 2))
    model.train()
    for _ in range(3):  # running statistics that are not the initial ones
        model(ag.randn(8, 2, 5, 5))
    check(model, ag.randn(2, 2, 5, 5), tmp_path / "norm.onnx", batch_sizes=(1, 6), atol=1e-4)


def test_embedding_reads_its_indices_from_the_input(tmp_path):
    model = nn.Sequential(nn.Embedding(20, 5, padding_idx=0), nn.Flatten(), nn.Linear(15, 3))
    check(model, ag.tensor(RNG.integers(0, 20, (2, 3))), tmp_path / "emb.onnx", batch_sizes=(1, 4),
          data=lambda batch: RNG.integers(0, 20, (batch, 3)))
