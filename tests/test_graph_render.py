"""Rendering backprop graphs with graphviz's dot: files, Jupyter, the course CNN, a missing dot."""
import re
import struct

import graphviz
import numpy as np
import pytest

import autograd_lite as ag
import nn


def two_layer_loss():
    x = ag.Tensor(np.array([0.5, -1.0]), name="x")
    w = ag.Tensor(np.array([[1.0, 2.0], [-0.5, 0.25]]), requires_grad=True, name="w")
    net = ag.linear(x, w)
    net.name = "net"
    loss = net.sigmoid().sum()
    loss.name = "loss"
    return loss


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_save_svg_png_pdf_and_dot(tmp_path):
    loss = two_layer_loss()
    loss.backward()
    graph = ag.draw_graph(loss, rules=True)
    svg = (tmp_path / "g.svg")
    graph.write(svg)
    text = svg.read_text()
    assert "<svg" in text and ">net<" in text and ">loss<" in text and "grad:" in text
    ag.save_graph(graph, tmp_path / "sub" / "g.png")
    width, height = png_size((tmp_path / "sub" / "g.png").read_bytes())
    assert width > 300 and height > 100
    graph.write(tmp_path / "g.pdf")
    assert (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
    graph.write(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == graph.source
    graph.write(tmp_path / "g.out", format="svg")
    assert "<svg" in (tmp_path / "g.out").read_text()
    with pytest.raises(ValueError, match="cannot tell the format"):
        graph.write(tmp_path / "g.bmpx")


def test_save_graph_takes_the_tensor_itself(tmp_path):
    loss = two_layer_loss()
    ag.save_graph(loss, tmp_path / "g.dot")  # drawn with the default options
    assert (tmp_path / "g.dot").read_text() == ag.draw_graph(loss).source
    with pytest.raises(TypeError, match="save_graph: expected a graph from ag.draw_graph .* got str"):
        ag.save_graph("loss", tmp_path / "g.svg")


def test_jupyter_shows_it_inline():
    graph = ag.draw_graph(two_layer_loss())
    svg = graph._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "image/svg+xml" in graph._repr_mimebundle_()


def test_missing_dot_says_how_to_install_and_that_source_is_available(tmp_path, monkeypatch):
    graph = ag.draw_graph(two_layer_loss())
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    for attempt in (lambda: graph.write(tmp_path / "g.png"), graph._repr_svg_,
                    lambda: graph.pipe(format="svg")):
        with pytest.raises(ag.DotNotFoundError) as info:
            attempt()
        message = str(info.value)
        assert "apt-get install graphviz" in message and "brew install graphviz" in message
        assert "graph.source" in message and "graph.dot" in message
        assert isinstance(info.value, graphviz.ExecutableNotFound)
    graph.write(tmp_path / "still.dot")  # the DOT source needs no dot binary
    assert (tmp_path / "still.dot").read_text().startswith("digraph")


def course_cnn():
    return nn.Sequential(nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Conv2D(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def test_course_cnn_collapsed_renders_legibly(tmp_path):
    ag.manual_seed(0)
    model = course_cnn()
    images = ag.randn(2, 1, 28, 28)
    images.name = "images"
    loss = nn.CrossEntropyLoss()(model(images), ag.Tensor(np.array([3, 7])))
    loss.backward()
    graph = ag.draw_graph(loss, model=model, collapse_modules=True, direction="TB", aspect=None)
    modules = [line for line in graph.body if re.match(r"\s*mod\d+ \[", line)]
    assert len(modules) == 11  # ten layers and the loss module
    body = "\n".join(modules)
    for text in ("<B>0</B>", "Conv2D", "weight (32, 1, 3, 3)", "320 parameters", "MaxPool2D",
                 "<B>7</B>", "102,464 parameters", "|grad weight| = "):
        assert text in body
    edges = [line for line in graph.body if "->" in line]
    assert len(edges) == 12 and any("(2, 32, 26, 26)" in e for e in edges)
    assert any("(2, 1600)" in e for e in edges)
    graph.attr(dpi="96")
    width, height = png_size(graph.pipe(format="png"))
    assert height > 3 * width  # one column of layers, not a wide tangle
    assert width < 900 and height < 2500  # readable at 100 % zoom
    full = ag.draw_graph(loss, model=model)  # the uncollapsed graph still draws
    assert len([line for line in full.body if re.match(r"\s*op\d+ \[", line)]) > 10
    full.write(tmp_path / "cnn_full.svg")


def test_four_dimensional_values_render(tmp_path):
    model = nn.Sequential(nn.Conv2D(1, 2, 3), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                          nn.Linear(2, 3))
    loss = nn.CrossEntropyLoss()(model(ag.randn(2, 1, 4, 4)), ag.Tensor(np.array([0, 2])))
    stepper = ag.BackwardStepper(loss, model=model, max_elements=64)
    graph = stepper.run()[2].graph()
    assert "[[[[" in graph.source  # (2, 2, 1, 1) values printed in full, no blank rows
    assert "<svg" in graph._repr_svg_()
    assert "<B>CrossEntropy</B>" in graph.source and "<B>Conv2d</B>" in graph.source
