"""The Keras-style summary table."""
import numpy as np
import pytest

import autograd_lite as ag
import nn


def test_summary_of_the_course_cnn():
    model = nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                          nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 64),
                          nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10))
    model[0].weight.requires_grad_(False)
    printed = []
    text = model.summary((1, 28, 28), print_fn=printed.append)
    assert printed == [text]
    lines = text.splitlines()
    assert lines[0] == 'Model: "Sequential"'
    assert "Layer (type)" in lines[2] and "Output Shape" in lines[2] and "Param #" in lines[2]
    rows = [line for line in lines if line.startswith(" ") and "(" in line and "Layer" not in line]
    assert len(rows) == 11
    assert rows[0].split() == ["0", "(Conv2D)", "(None,", "32,", "26,", "26)", "320"]
    assert rows[3].split()[-1] == "18,496"
    assert "(None, 64, 5, 5)" in rows[5]
    assert rows[6].split()[-3:] == ["(None,", "1600)", "0"]
    assert rows[7].split()[-1] == "102,464"
    assert rows[10].split()[-3:] == ["(None,", "10)", "650"]
    total = 320 + 18496 + 102464 + 650
    assert f"Total params: {total:,}" in lines
    assert f"Trainable params: {total - 288:,}" in lines
    assert "Non-trainable params: 288" in lines


def test_summary_leaves_modes_and_random_state_alone():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    ag.manual_seed(0)
    model.summary((4,), print_fn=None)
    after_summary = ag.rand(3).detach().numpy()
    ag.manual_seed(0)
    assert np.array_equal(after_summary, ag.rand(3).detach().numpy())   # dropout drew nothing
    assert model.training and model[1].training


def test_summary_of_a_custom_module_with_own_parameters():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(2, np.float32))
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x) * self.scale

    text = Scaled().summary((3,), print_fn=None)
    assert "fc (Linear)" in text and "(Scaled)" in text and "Total params: 10" in text


def test_summary_takes_keras_batch_none_and_names_a_bad_shape():
    model = nn.Sequential(nn.Linear(4, 2))
    assert model.summary((None, 4), print_fn=None) == model.summary((4,), print_fn=None) \
        == model.summary(4, print_fn=None)
    with pytest.raises(ValueError, match=r"input_shape must be positive ints without the batch "
                                         r"dimension, e.g. \(1, 28, 28\), got \(4, None\)"):
        model.summary((4, None), print_fn=None)


def test_summary_counts_normalisation_buffers_as_non_trainable_like_keras():
    """Keras: BatchNormalization(16) has 64 parameters, 32 of them (moving mean and variance)
    non-trainable; LayerNormalization and Embedding have only trainable weights."""
    model = nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(24, 16), nn.BatchNorm1d(16),
                          nn.LayerNorm(16), nn.Linear(16, 2))
    text = model.summary((3,), dtype=np.int64, print_fn=None)
    rows = {line.split()[0]: line.split() for line in text.splitlines()
            if line.startswith(" ") and line.split()[0].isdigit()}
    assert rows["0"][-1] == "400" and rows["0"][-4:-1] == ["(None,", "3,", "8)"]
    assert rows["3"][-1] == "64"     # 16 weight + 16 bias + 16 running_mean + 16 running_var
    assert rows["4"][-1] == "32"
    total = 400 + (24 * 16 + 16) + 64 + 32 + (16 * 2 + 2)
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 32:,}" in text
    assert "Non-trainable params: 32" in text
