"""Fitting a drawing to a slide: pick the rank direction, fold a long graph into rows, pad to shape.

Both ``draw_graph`` and ``BackwardStepper`` use this one helper. ``dot`` lays the graph out both
left-to-right and top-to-bottom; each layout may also be cut into k pieces of equal length laid
side by side (a left-to-right strip into rows stacked top to bottom, a top-to-bottom strip into
columns placed left to right). A folded layout is drawn by ``neato -n2`` with everything pinned:
each node and each edge inside a piece moves with its piece (dot's own splines), and an edge from
one piece to the next is routed around the drawing, out past the end of its row and in at the start
of the next (no spline routing by neato, which takes seconds for a hundred nodes). Of these
candidates the one drawn largest in a box of the target aspect ratio wins, that is the one with
the largest

    scale = min(aspect / width, 1 / height)       (width, height: the candidate's extent)

so its text reads largest on the slide (with a preference for the plain layout: see ``choose``).
``pad_to_aspect`` then adds white margins so the picture has the target aspect ratio exactly (the
layout itself is not stretched).

A direction given by the caller is kept (only folding is considered); module clusters cannot be
folded (``neato`` ignores clusters), so with them only the direction changes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

SLIDE_ASPECT = 16 / 9
GAP = 36.0          # points between folded rows (or columns)
MAX_PIECES = 8
SLIDE_HEIGHT = 7.5 * 72  # points: a 16:9 slide is 13.33 x 7.5 inches
LEGIBLE = 0.75      # drawn at 3/4 of its size on the slide, 14-point text still reads as 10.5
GAIN = 1.15         # what a less plain layout (turned, folded once more) must gain in scale


@dataclass
class Fit:
    """The chosen layout: ``direction`` (rankdir) and, for a folded graph (``pieces`` > 1), every
    node's pinned position (``positions``: {node name: (x, y) points}) and every edge's path
    (``edges``: {(tail, head, k-th such edge): (spline points, arrow tip, label position or
    None)}, points)."""
    direction: str
    pieces: int = 1
    positions: dict | None = None
    edges: dict | None = None
    scale: float = 1.0  # the drawing's size on the slide relative to its own (capped at LEGIBLE)


def target_aspect(aspect=None, size=None) -> float | None:
    """The width/height ratio to fit: from ``size`` ((w, h) inches or "w,h") when given, else
    ``aspect`` (a positive number, or None for no fitting)."""
    if size is not None:
        width, height = parse_size(size)
        return width / height
    if aspect is None:
        return None
    try:
        aspect = float(aspect)
    except (TypeError, ValueError):
        raise TypeError(f"draw_graph: aspect must be a number (width / height, e.g. 16/9) or None, "
                        f"got {aspect!r}") from None
    if not aspect > 0 or aspect == float("inf"):
        raise ValueError(f"draw_graph: aspect must be a positive number (width / height), got "
                         f"{aspect!r}")
    return aspect


def parse_size(size) -> tuple[float, float]:
    """``(w, h)`` inches, or graphviz's ``"w,h"`` (a trailing "!" is accepted), as two floats."""
    values = size
    if isinstance(size, str):
        values = size.rstrip("!").split(",")
    try:
        width, height = (float(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"draw_graph: size must be (width, height) in inches, e.g. (13.33, 7.5) "
                         f"or \"13.33,7.5\", got {size!r}") from None
    if not (width > 0 and height > 0):
        raise ValueError(f"draw_graph: size must be two positive numbers of inches, got {size!r}")
    return width, height


def layout_of(graph) -> dict:
    """``dot``'s (or the graph's engine's) layout as graphviz's JSON."""
    return json.loads(graph.pipe(format="json", encoding="utf-8"))


def _boxes(layout):
    """{node name: (x, y, width, height)} in points for every laid-out node."""
    boxes = {}
    for obj in layout.get("objects", ()):
        if "pos" in obj and "name" in obj and "width" in obj:
            x, y = (float(v) for v in obj["pos"].split(","))
            boxes[obj["name"]] = (x, y, float(obj["width"]) * 72, float(obj["height"]) * 72)
    return boxes


def extent(layout) -> tuple[float, float]:
    """(width, height) in points of the whole drawing (graphviz's bounding box)."""
    left, bottom, right, top = (float(v) for v in layout["bb"].split(","))
    return right - left, top - bottom


class _Frame:
    """Coordinates along the flow (u: the direction of the ranks) and across it (v: the direction
    in which the pieces of a folded strip are placed), for a left-to-right or top-to-bottom
    layout: LR folds into rows stacked downwards, TB into columns placed rightwards."""

    def __init__(self, along_x):
        self.along_x = along_x

    def to_uv(self, x, y):
        return (x, -y) if self.along_x else (-y, x)

    def to_xy(self, u, v):
        return (u, -v) if self.along_x else (v, -u)


def _fold_boxes(boxes, pieces, frame):
    """Cut the strip of node ``boxes`` into ``pieces`` of equal length; returns ({name: piece
    index}, shift(index) -> (du, dv), (low u, high u, low v, thickness), (width, height))."""
    uv = {}
    for name, (x, y, width, height) in boxes.items():
        u, v = frame.to_uv(x, y)
        half_u, half_v = (width / 2, height / 2) if frame.along_x else (height / 2, width / 2)
        uv[name] = (u, v, half_u, half_v)
    low = min(u - hu for u, _, hu, _ in uv.values())
    high = max(u + hu for u, _, hu, _ in uv.values())
    v_low = min(v - hv for _, v, _, hv in uv.values())
    thickness = max(v + hv for _, v, _, hv in uv.values()) - v_low
    piece = (high - low) / pieces
    index = {name: min(int((u - low) // piece), pieces - 1) for name, (u, _, _, _) in uv.items()}
    overhang = max(hu for _, _, hu, _ in uv.values())  # a node cut by a piece's edge sticks out

    def shift(i):
        return -i * piece, i * (thickness + GAP)

    length, across = piece, pieces * thickness + (pieces - 1) * GAP
    size = (length, across) if frame.along_x else (across, length)
    return index, shift, (low - overhang, low + piece + overhang, v_low, thickness), size


def _spline(pos):
    """graphviz's edge ``pos`` ("e,x,y x,y ...", "s,x,y ...") as ([points], end tip or None)."""
    points, tip = [], None
    for token in pos.split():
        parts = token.split(",")
        if parts[0] == "e":
            tip = (float(parts[1]), float(parts[2]))
        elif parts[0] != "s":
            points.append((float(parts[0]), float(parts[1])))
    return points, tip


def _polyline_spline(corners):
    """Bezier control points (3n+1) of the polyline through ``corners``."""
    points = [corners[0]]
    for (ax, ay), (bx, by) in zip(corners, corners[1:]):
        points += [(ax + (bx - ax) / 3, ay + (by - ay) / 3),
                   (ax + 2 * (bx - ax) / 3, ay + 2 * (by - ay) / 3), (bx, by)]
    return points


def _folded(layout, pieces, direction):
    """The Fit of ``layout`` cut into ``pieces``: nodes and the edges inside a piece moved with
    their piece; an edge from one piece to a later one is routed around the drawing: out past the
    end of its piece, through the gap before the head's piece, back past the start, and in."""
    frame = _Frame(direction in ("LR", "RL"))
    boxes = _boxes(layout)
    index, shift, (low, high, v_low, thickness), _ = _fold_boxes(boxes, pieces, frame)

    def move(point, i):
        u, v = frame.to_uv(*point)
        du, dv = shift(i)
        return frame.to_xy(u + du, v + dv)

    positions = {name: move(box[:2], index[name]) for name, box in boxes.items()}
    names = {obj.get("_gvid"): obj.get("name") for obj in layout.get("objects", ())}
    edges, lanes = {}, {}
    for edge in layout.get("edges", ()):
        tail, head = names.get(edge.get("tail")), names.get(edge.get("head"))
        key = (tail, head, sum(1 for k in edges if k[:2] == (tail, head)))
        points, tip = _spline(edge.get("pos", ""))
        label = edge.get("lp")
        label = tuple(float(v) for v in label.split(",")) if label else None
        if not points or tail not in index or head not in index:
            continue
        i, j = index[tail], index[head]
        if i == j:
            edges[key] = ([move(p, i) for p in points], move(tip, i) if tip else None,
                          move(label, i) if label else None)
            continue
        lane = lanes[j] = lanes.get(j, 0) + 1       # edges into one gap get their own lanes
        margin, offset = 10.0 + 7.0 * lane, GAP / 2 - 6.0 * (lane - 1)
        start = frame.to_uv(*move(points[0], i))
        end = frame.to_uv(*move(tip or points[-1], j))
        gap_v = v_low + shift(j)[1] - max(offset, 4.0)
        corners = [start, (high + margin, start[1]), (high + margin, gap_v),
                   (low - margin, gap_v), (low - margin, end[1]), end]
        if j < i:  # cannot happen in a dot layout (edges follow the ranks); draw it straight
            corners = [start, end]
        corners = [frame.to_xy(u, v) for u, v in corners]
        tip_point = corners[-1]
        (ax, ay), (bx, by) = corners[-2], corners[-1]
        length = max(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5, 1e-9)
        corners[-1] = (bx - (bx - ax) * 7.0 / length, by - (by - ay) * 7.0 / length)
        label_at = None
        if label:
            label_at = ((ax + bx) / 2, (ay + by) / 2 + 8.0)
        edges[key] = (_polyline_spline(corners), tip_point, label_at)
    return Fit(direction, pieces, positions, edges)


def _scale(width, height, aspect):
    return min(aspect / max(width, 1.0), 1.0 / max(height, 1.0))


def choose(layouts, aspect, foldable=True, slide_height=SLIDE_HEIGHT) -> Fit:
    """The candidate drawn largest in a slide of ``aspect`` (``slide_height`` points high):
    ``layouts`` maps each direction allowed ("LR", "TB", ...) to its ``dot`` layout (JSON), in
    order of preference; every one may also be folded. A candidate drawn at ``LEGIBLE`` of its
    natural size or more is as good as any larger one, and a change (a direction later in the
    order, one more piece) must gain ``GAIN`` in scale, so small graphs stay unfolded and left
    to right."""
    best, best_scale = None, -1.0
    for direction, layout in layouts.items():
        width, height = extent(layout)
        scale = min(_scale(width, height, aspect) * slide_height, LEGIBLE)
        if scale > best_scale * GAIN:
            best, best_scale = (direction, 1, layout), scale
        boxes = _boxes(layout)
        if not foldable or len(boxes) < 4:
            continue
        frame = _Frame(direction in ("LR", "RL"))
        for pieces in range(2, MAX_PIECES + 1):
            folded_width, folded_height = _fold_boxes(boxes, pieces, frame)[3]
            scale = min(_scale(folded_width, folded_height, aspect) * slide_height, LEGIBLE)
            if scale > best_scale * GAIN:
                best, best_scale = (direction, pieces, layout), scale
    direction, pieces, layout = best
    fit = Fit(direction) if pieces == 1 else _folded(layout, pieces, direction)
    fit.scale = best_scale
    return fit


_NODE = re.compile(r"^\t(\w+) \[(.*)\]\n?$", re.S)
_EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?\n?$", re.S)


def _point(point):
    return f"{point[0]:.2f},{point[1]:.2f}"


def pin(graph, fit):
    """Pin the nodes and edges of ``graph`` (built like the graph ``fit`` was chosen for) where
    the folded ``fit`` puts them; ``neato -n2`` then draws them as they are (no layout, no edge
    routing: fast even for a hundred nodes)."""
    graph.engine = "neato"
    graph.no_layout = True
    seen = {}
    for number, line in enumerate(graph.body):
        match = _EDGE.match(line)
        if match:
            pair = match.group(1), match.group(2)
            seen[pair] = seen.get(pair, -1) + 1
            entry = fit.edges.get(pair + (seen[pair],))
            if entry is None:
                continue
            points, tip, label = entry
            attrs = match.group(3) or ""
            if "dir=back" in attrs:  # the arrow at the tail: it starts where the spline did
                (ax, ay), (bx, by) = points[0], points[1]
                length = max(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5, 1e-9)
                step = min(7.0, length * 0.9)
                moved = (ax + (bx - ax) * step / length, ay + (by - ay) * step / length)
                pos = "s," + _point(points[0]) + " " + " ".join(
                    _point(p) for p in [moved] + points[1:-1] + [tip or points[-1]])
            else:
                pos = (f"e,{_point(tip)} " if tip else "") + " ".join(_point(p) for p in points)
            extra = f'pos="{pos}"' + (f' lp="{_point(label)}"' if label else "")
            # a second attribute list (DOT allows several): the drawing's own list stays as is
            graph.body[number] = line.rstrip("\n") + f" [{extra}]\n"
            continue
        match = _NODE.match(line)
        if match and match.group(1) in fit.positions:
            graph.body[number] = (line.rstrip("\n")
                                  + f' [pos="{_point(fit.positions[match.group(1)])}"]\n')


def pad_to_aspect(graph, layout, aspect, size=None):
    """Set ``pad`` (white margins, inches) so the drawing of ``layout`` has ``aspect`` exactly;
    with ``size`` (inches) the picture is also scaled down to fit inside it."""
    width, height = extent(layout)
    width, height = width / 72.0, height / 72.0
    margin = 4 / 72.0  # graphviz's default pad
    width, height = width + 2 * margin, height + 2 * margin
    target_width, target_height = max(width, aspect * height), max(height, width / aspect)
    graph.attr(pad=f"{(target_width - width) / 2 + margin:.4f},"
                   f"{(target_height - height) / 2 + margin:.4f}")
    if size is not None:
        limit_width, limit_height = parse_size(size)
        graph.attr(size=f"{limit_width:g},{limit_height:g}")


def pad_frames(frames, aspect):
    """Give every frame the same canvas of ``aspect`` exactly: each is rendered once to measure it
    (its caption's size is known only to graphviz), then padded with white margins around its
    centre to the smallest canvas of that shape holding the largest frame. So the frames of a walk
    fill a slide alike and their pinned layouts stay put when shown one after another."""
    import re

    sizes = []
    for frame in frames:
        svg = frame.pipe(format="svg", encoding="utf-8")
        found = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
        if found is None:
            return
        sizes.append((float(found.group(1)), float(found.group(2))))
    width = max(max(w for w, _ in sizes), aspect * max(h for _, h in sizes))
    height = width / aspect
    for frame, (w, h) in zip(frames, sizes):
        pad = str(frame.graph_attr.get("pad", "0.0555")).split(",")
        pad_x, pad_y = float(pad[0]), float(pad[-1])
        frame.attr(pad=f"{pad_x + (width - w) / 144:.4f},{pad_y + (height - h) / 144:.4f}")

