"""Rendering through graphviz's ``dot``: files, Jupyter, and a clear error when ``dot`` is missing.

``BackpropGraph`` is a ``graphviz.Digraph`` (everything graphviz offers still works: ``.source``,
``.render()``, ``.pipe()``) that also shows inline in Jupyter through ``_repr_svg_`` and saves to a
path whose suffix picks the format (``.svg``, ``.png``, ``.pdf``; ``.dot``/``.gv`` write the DOT source
and need no ``dot`` binary).
"""
from __future__ import annotations

import os

import graphviz

INSTALL_HINT = (
    "graphviz's `dot` program was not found on PATH; it is needed to render SVG/PNG/PDF. Install it "
    "with your system's package manager: `apt-get install graphviz` (Debian/Ubuntu), `brew install "
    "graphviz` (macOS), `conda install -c conda-forge graphviz`, or the installer from "
    "https://graphviz.org/download/ (Windows: add its bin folder to PATH). The DOT source is still "
    "available without it: `graph.source`, or save_graph(graph, 'graph.dot').")

_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".jpg": "jpg", ".jpeg": "jpeg",
            ".dot": "dot", ".gv": "dot"}


class DotNotFoundError(graphviz.ExecutableNotFound):
    """``dot`` is missing: says how to install it and that the DOT source is still available."""

    def __init__(self, detail=None):
        RuntimeError.__init__(self, INSTALL_HINT + (f" ({detail})" if detail else ""))


class BackpropGraph(graphviz.Digraph):
    """The ``graphviz.Digraph`` returned by ``draw_graph`` and the stepper."""

    no_layout = False  # every node and edge pinned (a folded layout): ``neato -n2`` draws it as is

    def pipe(self, *args, **kwargs):
        if self.no_layout:
            kwargs.setdefault("neato_no_op", 2)
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError(error.args[0] if error.args else None) from None

    def render(self, *args, **kwargs):
        if self.no_layout:
            kwargs.setdefault("neato_no_op", 2)
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise DotNotFoundError(error.args[0] if error.args else None) from None

    def _repr_svg_(self):
        return self.pipe(format="svg", encoding="utf-8")

    def _repr_html_(self):
        """Jupyter: the graph in the same frame as the stepper's walk, scaled to the cell's width
        (the SVG itself; ``_repr_svg_`` stays the plain fallback)."""
        svg = self._repr_svg_()
        svg = svg[svg.find("<svg"):] if "<svg" in svg else svg
        return ('<div class="agw-graph" style="border:1px solid #d5d8dc;border-radius:6px;'
                'padding:4px;background:#fff;max-width:100%;overflow:auto">'
                f'<style>.agw-graph svg{{max-width:100%;height:auto}}</style>{svg}</div>')

    def write(self, path, format=None):
        """Save to ``path`` (format from its suffix unless given); returns the path."""
        return save_graph(self, path, format)


def save_graph(graph, path, format=None):
    """Write ``graph`` (a ``graphviz.Digraph``, or a Tensor: its ``draw_graph`` with the default
    options) to ``path``: SVG, PNG, PDF, or DOT source.

    The format comes from the suffix of ``path`` unless ``format`` is given. Returns ``path``.
    Raises ``DotNotFoundError`` (with install instructions) when rendering needs a missing ``dot``.
    """
    from ..tensor import Tensor
    if isinstance(graph, Tensor):
        from .draw import draw_graph
        graph = draw_graph(graph)
    elif not (hasattr(graph, "pipe") and hasattr(graph, "source")):
        raise TypeError(f"save_graph: expected a graph from ag.draw_graph (or a Tensor to draw), got "
                        f"{type(graph).__name__}")
    path = os.fspath(path)
    if format is None:
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in _FORMATS:
            raise ValueError(f"save_graph: cannot tell the format from {path!r}: use a suffix among "
                             f"{sorted(_FORMATS)} or pass format=")
        format = _FORMATS[suffix]
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    if format in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(graph.source)
        return path
    try:
        data = graph.pipe(format=format)
    except graphviz.ExecutableNotFound as error:
        if isinstance(error, DotNotFoundError):
            raise
        raise DotNotFoundError(error.args[0] if error.args else None) from None
    with open(path, "wb") as handle:
        handle.write(data)
    return path
