"""LaTeX export, the two languages, draw_network, stable frames and the GIF palette."""
import io
import os
import re
import sys

import numpy as np
import pytest
from PIL import Image

import autograd_lite as ag
import nn
from autograd_lite.teaching import language

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand as course  # noqa: E402


def course_graph():
    x = course.named(ag.Tensor(np.array(course.X)), "x")
    y = course.named(ag.Tensor(np.array(course.Y)), "y")
    params = course.make_parameters()
    with ag.retain_grads():
        return course.forward(x, y, params)["loss"], params


def course_model():
    model = nn.Sequential(nn.Linear(4, 2), nn.ReLU(), nn.Linear(2, 3), nn.Sigmoid())
    for layer, weight, bias in ((model[0], course.W1, course.B1), (model[2], course.W2, course.B2)):
        layer.weight._data = np.array(weight)
        layer.bias._data = np.array(bias)
    return model


# ----------------------------------------------------------------------------- LaTeX
def _balanced(source):
    depth = 0
    for char in re.sub(r"\\[{}]", "", source):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_latex_document_is_well_formed_in_course_notation():
    loss, _ = course_graph()
    stepper = ag.BackwardStepper(loss)
    source = stepper.to_latex()
    assert source.startswith("\\documentclass") and source.rstrip().endswith("\\end{document}")
    assert source.isascii() or all(ord(c) < 128 for c in source.replace("ñ", "").replace("é", ""))
    assert _balanced(source)
    for env in ("document", "aligned", "bmatrix"):
        assert source.count(f"\\begin{{{env}}}") == source.count(f"\\end{{{env}}}") > 0
    assert source.count("\\[") == source.count("\\]") == sum(len(s.lines) for s in stepper.steps)
    assert "\\frac{\\partial L}{\\partial W^{[2]}}" in source
    assert "\\frac{\\partial L}{\\partial W^{[1]}}" in source
    assert "\\sigma'(\\mathrm{net}_{\\mathrm{o}})" in source
    assert "\\begin{bmatrix}-0.146 & 0.1149 & 0.1006\\end{bmatrix}" in source
    assert not re.search(r"[^\x00-\x7f]", source)  # no raw Unicode (σ, ², ᵀ) left for pdflatex
    body = stepper.to_latex(standalone=False)
    assert "\\documentclass" not in body and "\\frac{\\partial L}" in body
    display = stepper._repr_latex_()
    assert display.startswith("$$") and display.endswith("$$") and _balanced(display)
    spanish = stepper.to_latex(lang="es")
    assert "paso 1 de" in spanish and "La regla de la cadena" in spanish


def test_latex_symbols():
    from autograd_lite.teaching.latex import expression, symbol

    assert symbol("W2") == "W^{[2]}" and symbol("b1") == "b^{[1]}"
    assert symbol("net_h") == "\\mathrm{net}_{\\mathrm{h}}" and symbol("x") == "x"
    assert expression("dL/dW2") == "\\frac{\\partial L}{\\partial W^{[2]}}"
    assert expression("[[1, 2], [3, 4]]") == "\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}"


# ----------------------------------------------------------------------------- languages
def test_both_languages_render_everything():
    loss, _ = course_graph()
    english = ag.draw_graph(loss, rules=True).source
    spanish = ag.draw_graph(loss, rules=True, lang="es").source
    for word in (">legend<", ">parameter<", "constant (no grad)", "intermediate value", "no grad yet"):
        assert word in english and word not in spanish
    for word in ("leyenda", "parámetro", "constante (sin grad)", "valor intermedio", "aún sin grad",
                 "(grad difundido de vuelta)"):
        assert word in spanish
    stepper = ag.BackwardStepper(loss, lang="es")
    first = next(iter(stepper))
    assert str(first).startswith("paso 1 de 8: backward de Mul")
    assert stepper.initial_graph().source.count("antes de backward") == 1
    model = course_model()
    table = model.summary((4,), lang="es", print_fn=None)
    assert "Capa (tipo)" in table and "Parámetros totales: 19" in table
    assert "Layer (type)" in model.summary((4,), print_fn=None)
    from autograd_lite import plots

    figure = plots.plot_confusion_matrix([0, 1, 1], [0, 1, 0], lang="es")
    ax = figure.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Matriz de confusión",
                                                                 "predicho", "real")
    figure = plots.plot_history({"loss": [2, 1], "val_loss": [2.5, 1.5]}, lang="es")
    assert figure.axes[0].get_xlabel() == "época"
    assert [t.get_text() for t in figure.axes[0].get_legend().get_texts()] == ["entrenamiento",
                                                                                "validación"]


def test_global_language_default():
    loss, _ = course_graph()
    try:
        ag.teaching.set_language("es")
        assert "leyenda" in ag.draw_graph(loss).source
        assert ag.teaching.get_language() == "es"
        assert "leyenda" not in ag.draw_graph(loss, lang="en").source
    finally:
        ag.teaching.set_language("en")
    with pytest.raises(ValueError, match="lang must be one of"):
        ag.teaching.set_language("fr")
    assert all(len(pair) == 2 and all(pair) for pair in language.TEXTS.values())


# ----------------------------------------------------------------------------- network diagram
def test_draw_network_before_and_after(tmp_path):
    model = course_model()
    x, y = ag.tensor(np.array(course.X)), ag.tensor(np.array(course.Y))
    loss_fn = lambda out, target: 0.5 * ((target - out) ** 2).sum()  # noqa: E731
    before = ag.draw_network(model, x)
    after = ag.draw_network(model, x, target=y, loss_fn=loss_fn, lang="es")
    texts_before = [t.get_text() for t in before.figure.axes[0].texts]
    texts_after = [t.get_text() for t in after.figure.axes[0].texts]
    assert "net -0.431" in texts_before and "a 0.2" in texts_before and "-4.79" in texts_before
    assert not any(t.startswith("δ") for t in texts_before)
    # the course's deltas: delta_o = -dL/dnet_o, delta_h = -dL/dnet_h
    assert {"δ 0.146", "δ -0.115", "δ -0.101", "δ -0.117"} <= set(texts_after)
    assert "-4.79 (0)" in texts_after and "-0.99 (-0.029)" in texts_after
    assert "oculta 1 (ReLU)" in texts_after and "salida (Sigmoid)" in texts_after
    assert all(p.grad is None for p in model.parameters())
    width, height = before.figure.get_size_inches()
    assert abs(width / height - 16 / 9) < 1e-9
    for suffix in ("svg", "png", "pdf"):
        path = after.write(str(tmp_path / f"net.{suffix}"))
        assert os.path.getsize(path) > 1000
    assert "<svg" in after._repr_svg_()
    wide = ag.draw_network(nn.Sequential(nn.Linear(30, 20), nn.Tanh(), nn.Linear(20, 2)))
    texts = [t.get_text() for t in wide.figure.axes[0].texts]
    assert "… 14 more units not drawn" in texts and "… 4 more units not drawn" in texts
    with pytest.raises(ValueError, match="no nn.Linear"):
        ag.draw_network(nn.Sequential(nn.ReLU()))


# ----------------------------------------------------------------------------- frames
def test_frames_share_one_layout_and_constants_get_no_gradient_arrow(tmp_path):
    loss, _ = course_graph()
    stepper = ag.BackwardStepper(loss)
    frames = stepper.frames(captions=False)
    positions = []
    for graph in frames:
        layout = __import__("json").loads(graph.pipe(format="json", encoding="utf-8"))
        positions.append({o["name"]: o["pos"] for o in layout["objects"] if "pos" in o})
    assert all(p == positions[0] for p in positions[1:])
    sub = next(s for s in stepper.steps if s.op.title == "Sub")  # y - o: y is a constant
    source = sub.graph().source
    y_key = next(i.key for i in stepper.items.tensors.values() if i.name == "y")
    o_key = next(i.key for i in stepper.items.tensors.values() if i.name == "o")
    assert re.search(rf"\b{y_key} -> {sub.op.key} \[label=a\]", source)  # plain edge
    assert re.search(rf"\b{o_key} -> {sub.op.key} \[label=b color=\"#E74C3C\"", source)


def test_gif_keeps_the_legend_colours(tmp_path):
    weight = nn.Parameter(np.array([1.0, -2.0]))
    constant = ag.tensor([3.0, 4.0])
    path = ag.BackwardStepper((weight * constant).sum()).write_gif(str(tmp_path / "b.gif"), dpi=40)
    image = Image.open(path)
    colours = set()
    for number in range(image.n_frames):
        image.seek(number)
        colours |= {c for _, c in image.convert("RGB").getcolors(1 << 16)}
    for fill in ("#F2F3F4", "#FFFFFF", "#FFE9B3", "#E8DAEF", "#D5F5E3"):  # constant vs intermediate
        rgb = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, fill


def test_jupyter_shows_the_walk_and_the_graph_as_html():
    weight = nn.Parameter(np.array([1.0, -2.0]))
    loss = (weight * ag.tensor([3.0, 4.0])).sum()
    graph_html = ag.draw_graph(loss)._repr_html_()
    assert graph_html.startswith('<div class="agw-graph"') and "<svg" in graph_html
    stepper = ag.BackwardStepper(loss)
    html = stepper._repr_html_()
    assert html.startswith('<div class="agw"') and "<script>" in html and "<!DOCTYPE" not in html
    # without scripts every frame shows, each with its chain-rule lines (the static fallback)
    assert html.count('<pre class="static">') == html.count("<svg") == stepper.total + 1
    assert ".agw.js .frame{visibility:hidden" in html.replace("\n", "")
