"""draw_graph and the stepper fit a slide: 16:9 by default, or the aspect ratio / size asked for."""
import json
import os
import re
import sys

import numpy as np
import pytest

import autograd_lite as ag
import nn
from autograd_lite.teaching import layout

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand as course  # noqa: E402

TOLERANCE = 0.01  # relative: graphviz rounds the picture's size to whole points
SLIDE_WIDTH = 13.333 * 72  # points: a 16:9 slide


def svg_size(graph):
    """(width, height) in points of the rendered picture, from the SVG's own attributes."""
    svg = graph.pipe(format="svg", encoding="utf-8")
    found = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return float(found.group(1)), float(found.group(2))


def node_count(graph):
    return len(re.findall(r"^\t(?:t|op|mod)\d+ \[", graph.source, re.M))


def boxes(graph):
    """The laid-out node rectangles (x0, y0, x1, y1) in points, from graphviz's JSON."""
    drawn = json.loads(graph.pipe(format="json", encoding="utf-8"))
    found = {}
    for obj in drawn["objects"]:
        if "pos" in obj and "width" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            w, h = float(obj["width"]) * 36, float(obj["height"]) * 36
            found[obj["name"]] = (x - w, y - h, x + w, y + h)
    return found


def assert_no_overlap(graph):
    rectangles = list(boxes(graph).items())
    for i, (name, (a0, b0, a1, b1)) in enumerate(rectangles):
        for other, (c0, d0, c1, d1) in rectangles[i + 1:]:
            overlap = min(a1, c1) - max(a0, c0), min(b1, d1) - max(b0, d0)
            assert min(overlap) <= 1.0, f"{name} and {other} overlap"


# --------------------------------------------------------------------- the graphs
def three_ops():
    a = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    b = ag.Tensor(np.array([3.0, -1.0]), requires_grad=True, name="b")
    with ag.retain_grads():
        loss = (a * b).exp().sum()
        loss.backward()
    return loss, None


def course_step():
    """The course's 4-2-3 MLP on one Iris row (examples/backprop_by_hand.py), after backward."""
    x = course.named(ag.Tensor(np.array(course.X)), "x")
    y = course.named(ag.Tensor(np.array(course.Y)), "y")
    with ag.retain_grads():
        loss = course.forward(x, y, course.make_parameters())["loss"]
        loss.backward()
    return loss, None


def forty_node_mlp():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6),
                          nn.Tanh(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6), nn.Tanh(),
                          nn.Linear(6, 3))
    x = ag.Tensor(rng.normal(size=(4, 4)).astype(np.float32), name="x")
    with ag.retain_grads():
        loss = nn.CrossEntropyLoss()(model(x), ag.Tensor(np.array([0, 1, 2, 0])))
        loss.backward()
    return loss, model


def chain_of_40_ops(backward=True, ops=40):
    h = ag.Tensor(np.array([0.5, -0.3, 0.8]), requires_grad=True, name="x")
    for i in range(ops - 1):
        h = h.tanh() if i % 2 else h * 1.1
    with ag.retain_grads():
        loss = h.sum()
        if backward:
            loss.backward()
    return loss, None


GRAPHS = {"three_ops": three_ops, "course_step": course_step, "forty_node_mlp": forty_node_mlp,
          "chain_of_40_ops": chain_of_40_ops}


@pytest.fixture(scope="module", params=list(GRAPHS))
def drawn(request):
    loss, model = GRAPHS[request.param]()
    return request.param, loss, model, ag.draw_graph(loss, model=model)


def test_graph_sizes_are_what_the_test_says():
    for make, low, high in ((three_ops, 6, 8), (forty_node_mlp, 35, 45)):
        loss, model = make()
        assert low <= node_count(ag.draw_graph(loss, model=model, aspect=None)) <= high
    loss, _ = chain_of_40_ops(backward=False)
    assert len(ag.BackwardStepper(loss).run()) == 40


def test_default_drawing_is_16_by_9_and_legible(drawn):
    name, loss, model, graph = drawn
    width, height = svg_size(graph)
    assert abs(width / height / (16 / 9) - 1) < TOLERANCE, (name, width, height)
    assert_no_overlap(graph)
    # shown on a 16:9 slide, the fitted drawing is drawn larger than the plain left-to-right one
    plain_width, plain_height = svg_size(ag.draw_graph(loss, model=model, aspect=None))
    plain_scale = min(SLIDE_WIDTH / plain_width, SLIDE_WIDTH * 9 / 16 / plain_height)
    scale = SLIDE_WIDTH / width
    assert scale >= plain_scale * 0.99
    if name != "chain_of_40_ops":  # measured: 0.71, 0.56 and 0.29 (37 nodes, values summarised)
        assert scale > {"three_ops": 0.6, "course_step": 0.5, "forty_node_mlp": 0.25}[name], scale
    else:  # 40 ops in one row would be drawn at 4 %: folded it is several times larger
        assert scale > 4 * plain_scale and graph.graph_attr["rankdir"] in ("LR", "TB")
        assert graph.no_layout  # folded: every node and edge pinned


def test_a_large_graph_prints_fewer_values_unless_told():
    """The 37-node MLP would be drawn too small with every 4 x 6 matrix in full: by default its
    matrices are summarised (mean/std/min/max); an explicit max_elements is obeyed."""
    loss, model = forty_node_mlp()
    assert "mean " in ag.draw_graph(loss, model=model).source
    full = ag.draw_graph(loss, model=model, max_elements=36)
    assert "mean " not in full.source and "[[" in full.source


def test_small_graph_stays_one_plain_row():
    loss, _ = three_ops()
    graph = ag.draw_graph(loss)
    assert graph.graph_attr["rankdir"] == "LR" and not graph.no_layout
    assert 'pos="' not in graph.source


def test_requested_aspect_and_size_are_honoured():
    loss, model = course_step()
    for aspect in (4 / 3, 9 / 16):
        width, height = svg_size(ag.draw_graph(loss, model=model, aspect=aspect))
        assert abs(width / height / aspect - 1) < TOLERANCE, (aspect, width, height)
    for size in ((8, 4.5), "6,8"):
        width, height = svg_size(ag.draw_graph(loss, model=model, size=size))
        limit = layout.parse_size(size)
        assert width <= limit[0] * 72 + 1 and height <= limit[1] * 72 + 1
        assert abs(width / height / (limit[0] / limit[1]) - 1) < TOLERANCE


def test_a_portrait_page_folds_the_chain_differently():
    loss, _ = chain_of_40_ops()
    tall = ag.draw_graph(loss, aspect=9 / 16)
    width, height = svg_size(tall)
    assert abs(width / height / (9 / 16) - 1) < TOLERANCE
    assert boxes(tall) != boxes(ag.draw_graph(loss))
    width, height = svg_size(ag.draw_graph(loss, size=(8, 4.5)))
    assert width <= 8 * 72 + 1 and height <= 4.5 * 72 + 1
    assert abs(width / height / (16 / 9) - 1) < TOLERANCE


def test_spanish_drawing_fits_too():
    loss, _ = course_step()
    graph = ag.draw_graph(loss, lang="es", rules=True)
    width, height = svg_size(graph)
    assert abs(width / height / (16 / 9) - 1) < TOLERANCE
    assert "leyenda" in graph.source


def test_bad_aspect_and_size_are_named():
    loss, _ = three_ops()
    with pytest.raises(ValueError, match="aspect must be a positive number"):
        ag.draw_graph(loss, aspect=-1)
    with pytest.raises(TypeError, match="aspect must be a number"):
        ag.draw_graph(loss, aspect="wide")
    with pytest.raises(ValueError, match=r"size must be \(width, height\) in inches"):
        ag.draw_graph(loss, size=(8,))
    with pytest.raises(ValueError, match="direction='UP' is not one of"):
        ag.draw_graph(loss, direction="up")


def test_stepper_frames_share_the_folded_layout_of_draw_graph():
    """The stepper folds with the same helper: a 24-op chain's frames are folded the same way for
    every step (pinned, identical node positions) and keep about the slide's shape."""
    loss, _ = chain_of_40_ops(backward=False, ops=24)
    stepper = ag.BackwardStepper(loss)
    frames = stepper.frames(captions=False)
    assert len(frames) == 25 and all(f.no_layout for f in frames)
    assert boxes(frames[1]) == boxes(frames[-1])
    width, height = svg_size(frames[-1])
    assert 1.2 < width / height < 2.6
    captioned = stepper.frames()  # with the chain-rule captions: one 16:9 canvas for every frame
    sizes = {tuple(round(v) for v in svg_size(frame)) for frame in captioned[::6]}
    assert len(sizes) == 1
    (width, height), = sizes
    assert width / height == pytest.approx(16 / 9, rel=0.01)
    unfolded = ag.BackwardStepper(chain_of_40_ops(backward=False, ops=24)[0], aspect=None)
    assert not unfolded.frames(captions=False)[-1].no_layout
