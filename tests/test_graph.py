"""draw_graph: the DOT structure (nodes, edges, labels, styles, options, modules)."""
import re

import numpy as np
import pytest

import autograd_lite as ag
import nn
from autograd_lite.function import _GradMode


def dot_nodes(graph):
    """{node id: attribute text} of the DOT body (the legend excluded)."""
    nodes = {}
    for line in graph.body:
        match = re.match(r"\s*(\w+) \[(.*)\]\s*$", line, re.S)
        if match and "->" not in line and match.group(1) != "legend":
            nodes[match.group(1)] = match.group(2)
    return nodes


def dot_edges(graph):
    return [tuple(m.groups()) for m in (re.match(r"\s*(\w+) -> (\w+)", line) for line in graph.body)
            if m]


def by_kind(nodes, prefix):
    return {k: v for k, v in nodes.items() if k.startswith(prefix)}


def small_graph():
    """L = sum(a * b + a) with named leaves: 3 ops (Mul, Add, Sum), 5 tensors."""
    a = ag.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True, name="a")
    b = ag.Tensor(np.array([0.5, 0.25, -1.0]), requires_grad=True, name="b")
    product = a * b
    product.name = "ab"
    loss = (product + a).sum()
    return a, b, product, loss


def test_one_node_per_tensor_and_per_op_with_edges_both_ways():
    a, b, product, loss = small_graph()
    graph = ag.draw_graph(loss)
    assert isinstance(graph, ag.graph.BackpropGraph) and "digraph" in graph.source
    nodes = dot_nodes(graph)
    ops, tensors = by_kind(nodes, "op"), by_kind(nodes, "t")
    assert len(ops) == 3 and len(tensors) == 5
    assert sorted(re.search(r"<B>(\w+)</B>", v).group(1) for v in ops.values()) == ["Add", "Mul", "Sum"]
    edges = dot_edges(graph)
    # Mul: a, b in, ab out; Add: ab, a in, sum-input out; Sum: 1 in, L out
    assert len(edges) == 3 + 3 + 2
    assert all((s in ops) != (t in ops) for s, t in edges)  # bipartite: tensor <-> op only


def test_tensor_labels_show_name_shape_dtype_value_and_grad_after_backward():
    a, b, product, loss = small_graph()
    before = ag.draw_graph(loss).source
    assert "<B>a</B>" in before and "<B>ab</B>" in before
    assert "(3,) float64" in before and "[1, -2, 3]" in before and "[0.5, 0.25, -1]" in before
    assert "no grad yet" in before and "grad:" not in before
    loss.backward()
    after = ag.draw_graph(loss).source
    # dL/da = b + 1, dL/db = a
    assert "[1.5, 1.25, 0]" in after and "[1, -2, 3]" in after
    assert "grad:" in after and "#C0392B" in after  # gradients in their own colour
    assert "grad not retained" in after  # intermediates without retain_grads say so


def test_retain_grads_shows_intermediate_gradients():
    a, b, product, loss = small_graph()
    with ag.graph.retaining_grads():
        loss.backward()
    nodes = dot_nodes(ag.draw_graph(loss))
    ab = next(v for v in nodes.values() if "<B>ab</B>" in v)
    assert "grad:" in ab and "[1, 1, 1]" in ab and "not retained" not in ab


def test_made_up_names_for_unnamed_tensors_and_names_mapping():
    x = ag.Tensor(np.ones(2), requires_grad=True)
    y = (x.exp() * 2.0).sum()
    source = ag.draw_graph(y).source
    assert re.search(r"<I><FONT[^>]*>leaf1</FONT></I>", source)  # made up: grey italics
    assert re.search(r"<I><FONT[^>]*>exp1</FONT></I>", source)
    assert re.search(r"<I><FONT[^>]*>L</FONT></I>", source)       # unnamed scalar output
    source = ag.draw_graph(y, names={"x_in": x, "loss": y}).source
    assert "<B>x_in</B>" in source and "<B>loss</B>" in source
    assert "<B>x_in</B>" in ag.draw_graph(y, names={x: "x_in"}).source


def test_large_values_are_summarised():
    x = ag.Tensor(np.arange(100, dtype=np.float64).reshape(10, 10), requires_grad=True, name="x")
    source = ag.draw_graph((x * 2.0).sum()).source
    assert "mean 49.5" in source and "min 0" in source and "max 99" in source
    small = ag.draw_graph((x * 2.0).sum(), max_elements=1000).source
    assert "[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]," in small


def test_kinds_have_distinct_styles_and_a_legend():
    x = ag.Tensor(np.array([1.0, 2.0]), name="x")                  # constant
    w = nn.Parameter(np.array([0.5, -0.5]))                         # parameter
    w.name = "w"
    s = ag.Tensor(np.array(2.0), requires_grad=True, name="s")      # leaf requiring grad
    hidden = x * w
    hidden.name = "hidden"
    out = (hidden * s).sum()
    out.name = "out"
    nodes = dot_nodes(ag.draw_graph(out))
    style = {re.search(r"<B>(\w+)</B>", v).group(1): re.search(r'fillcolor="([^"]+)"', v).group(1)
             for k, v in nodes.items() if k.startswith("t") and "<B>" in v}
    assert len({style["x"], style["w"], style["s"], style["hidden"], style["out"]}) == 5
    graph = ag.draw_graph(out)
    legend = next(line for line in graph.body if line.lstrip().startswith("legend"))
    for caption in ("parameter", "constant (no grad)", "leaf (requires grad)", "intermediate value",
                    "output", "op (forward)", "grad = dL/d(tensor)"):
        assert caption in legend
    assert not any(line.lstrip().startswith("legend") for line in ag.draw_graph(out, legend=False).body)


def test_options_direction_and_what_is_shown():
    a, b, product, loss = small_graph()
    loss.backward()
    assert "rankdir=TB" in ag.draw_graph(loss, direction="TB").source
    assert "rankdir=LR" in ag.draw_graph(loss).source
    bare = ag.draw_graph(loss, show_values=False, show_grads=False, show_shapes=False,
                         legend=False).source
    assert "float64" not in bare and "[1, -2, 3]" not in bare and "grad" not in bare
    assert "<B>a</B>" in bare
    with pytest.raises(ValueError, match="direction='SIDEWAYS'"):
        ag.draw_graph(loss, direction="sideways")
    with pytest.raises(ValueError, match="max_elements"):
        ag.draw_graph(loss, max_elements=-1)
    with pytest.raises(TypeError, match="expected a Tensor"):
        ag.draw_graph([loss, 3.0])
    with pytest.raises(TypeError, match="names="):
        ag.draw_graph(loss, names=["a"])
    with pytest.raises(TypeError, match="model= must be an nn.Module"):
        ag.draw_graph(loss, model=object())


def test_teaching_mode_rules_roles_and_recognised_relu():
    x = ag.Tensor(np.array([-1.0, 2.0]), requires_grad=True, name="x")
    y = (ag.relu(x) ** 2 - x).sigmoid().sum()
    plain = ag.draw_graph(y).source
    taught = ag.draw_graph(y, rules=True).source
    assert "d/da" not in plain
    assert "d/da = σ(a)·(1 - σ(a))" in taught and "d/da = 2·a" in taught
    assert "d/da = 1, d/db = -1" in taught and "d/da = 1 if a &gt; 0 else 0" in taught
    # relu is one recorded ReLU node (no mask constant in the graph)
    assert "<B>ReLU</B>" in plain and "recorded as" not in plain
    assert "<B>Mul</B>" not in plain and len(by_kind(dot_nodes(ag.draw_graph(y)), "t")) == 6
    assert re.search(r'-> op\d+ \[label=b\]', plain)  # Sub's inputs say which is a and which b


def test_linear_op_and_parameter_names_from_the_model():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = ag.randn(5, 3)
    x.name = "x"
    loss = model(x).sum()
    nodes = dot_nodes(ag.draw_graph(loss, model=model))
    labels = " ".join(nodes.values())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f"<B>{name}</B>" in labels
    assert "(4, 3) float32" in labels and labels.count("<B>Linear</B>") == 2
    assert "<B>ReLU</B>" in labels


def test_parameter_names_without_model_come_from_the_model_that_made_the_graph():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss_fn = nn.CrossEntropyLoss()  # also a module called from outside: it holds no parameter
    unrelated = nn.Linear(2, 2)
    unrelated(ag.randn(1, 2))
    loss = loss_fn(model(ag.randn(5, 3)), ag.tensor([0, 1, 1, 0, 1]))
    unrelated(ag.randn(1, 2))  # called last, but it made none of this graph
    labels = " ".join(dot_nodes(ag.draw_graph(loss)).values())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f"<B>{name}</B>" in labels
    assert ag.draw_graph(loss).source == ag.draw_graph(loss, model=model).source
    block = Block()
    nested = dot_nodes(ag.draw_graph(block(ag.randn(2, 3)).sum(), cluster_modules=True))
    assert "<B>features.0.weight</B>" in " ".join(nested.values())
    _, _, _, plain = small_graph()  # no module involved: names stay as given
    assert "<B>a</B>" in " ".join(dot_nodes(ag.draw_graph(plain)).values())


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.features(x)).sigmoid()  # sigmoid recorded by Block itself


def test_clusters_follow_the_module_tree():
    model = Block()
    loss = model(ag.randn(2, 3)).sum()
    source = ag.draw_graph(loss, model=model, cluster_modules=True).source
    assert "subgraph cluster_" in source
    for label in ("features.0 : Linear", "features.1 : Tanh", "head : Linear", "features"):
        assert f"label=\"{label}\"" in source or f"label={label}" in source
    # features.0 and features.1 nest inside features
    features = source.index("label=features")
    assert source.index("features.0 : Linear") > features
    # the model's own op (sigmoid) and the loss are outside every cluster
    assert "cluster" not in ag.draw_graph(loss, model=model).source


def test_collapse_draws_one_node_per_module_with_shapes_on_edges():
    model = Block()
    x = ag.randn(2, 3)
    x.name = "x"
    loss = model(x).sum()
    loss.backward()
    graph = ag.draw_graph(loss, model=model, collapse_modules=True)
    nodes = dot_nodes(graph)
    modules = by_kind(nodes, "mod")
    assert len(modules) == 3
    text = " ".join(modules.values())
    assert "weight (4, 3)" in text and "16 parameters" in text and "|grad weight|" in text
    assert all("0.weight" not in v for k, v in nodes.items() if k.startswith("t"))  # folded
    assert "(2, 4)" in " ".join(line for line in graph.body if "->" in line)
    ops = by_kind(nodes, "op")
    assert sorted(re.search(r"<B>(\w+)</B>", v).group(1) for v in ops.values()) == ["Sigmoid", "Sum"]


def test_module_stack_stand_in_gives_clusters_without_a_model():
    class StandIn:  # anything pushed on the module stack is a module for clustering
        def __init__(self, fn):
            self.fn = fn

        def __call__(self, x):
            _GradMode.module_stack.append(self)
            try:
                return self.fn(x)
            finally:
                _GradMode.module_stack.pop()

    double = StandIn(lambda t: t * 2.0)
    x = ag.Tensor(np.ones(3), requires_grad=True, name="x")
    loss = double(double(x)).sum()
    source = ag.draw_graph(loss, cluster_modules=True).source
    assert "label=StandIn" in source and source.count("subgraph cluster_") == 1
    collapsed = dot_nodes(ag.draw_graph(loss, collapse_modules=True))
    assert len(by_kind(collapsed, "mod")) == 1
    loss = StandIn(lambda t: t + 1.0)(double(x)).sum()  # two modules of one class get numbers
    source = ag.draw_graph(loss, cluster_modules=True).source
    assert "StandIn#1" in source and "StandIn#2" in source


def test_retaining_grads_context_manager_restores_the_setting():
    a, b, product, loss = small_graph()
    with ag.graph.retaining_grads():
        loss.backward()
    assert not _GradMode.retain_all
    np.testing.assert_allclose(product.grad.detach().numpy(), [1.0, 1.0, 1.0])
    a, b, product, loss = small_graph()
    loss.backward()
    assert product.grad is None
