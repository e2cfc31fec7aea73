"""Numbers as text, and the HTML-like labels and colours of the graph's nodes.

A tensor's value is printed in full when it has at most ``max_elements`` elements (``precision`` digits
after the point, one line per row of a matrix); a larger tensor is summarised by its mean, standard
deviation, minimum and maximum. Graphviz's HTML-like labels need ``&``, ``<`` and ``>`` escaped, which
every function here does for the text it is given.
"""
from __future__ import annotations

from html import escape

import numpy as np

# Fill colours and border styles of each kind of node (the legend shows the same).
KIND_STYLE = {
    "parameter": {"fillcolor": "#FFE9B3", "color": "#B7950B", "style": "rounded,filled"},
    "input": {"fillcolor": "#D6EAF8", "color": "#2471A3", "style": "rounded,filled"},
    "constant": {"fillcolor": "#F2F3F4", "color": "#99A3A4", "style": "rounded,filled,dashed"},
    "buffer": {"fillcolor": "#EAF2F8", "color": "#5D6D7E", "style": "rounded,filled,dashed"},
    "intermediate": {"fillcolor": "#FFFFFF", "color": "#808B96", "style": "rounded,filled"},
    "output": {"fillcolor": "#D5F5E3", "color": "#1E8449", "style": "rounded,filled",
               "penwidth": "2"},
}
OP_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#E8DAEF", "color": "#7D3C98"}
MODULE_STYLE = {"shape": "box3d", "style": "filled", "fillcolor": "#FDF2E9", "color": "#BA4A00"}
HIGHLIGHT_STYLE = {"color": "#E74C3C", "penwidth": "3.5", "fillcolor": "#FADBD8"}
GRAD_COLOUR = "#C0392B"
MUTED_COLOUR = "#707B7C"
MONO_FONT = "DejaVu Sans Mono"


def format_number(value: float, precision: int = 4) -> str:
    """One number with ``precision`` decimals, trailing zeros dropped: 0.3804, 12.5, -1.2e-5."""
    value = float(value)
    if value == 0 or 1e-3 <= abs(value) < 1e5 or not np.isfinite(value):
        text = f"{value:.{precision}f}".rstrip("0").rstrip(".") if np.isfinite(value) else str(value)
        return "0" if text in ("-0", "") else text
    return np.format_float_scientific(value, precision=max(precision - 1, 1), trim="-", exp_digits=1)


def array_lines(array, max_elements: int = 36, precision: int = 4) -> list[str]:
    """The value of ``array`` as lines of text: in full when small, else summary statistics."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        array = array.astype(np.int8)
    if array.size <= max_elements:
        if array.ndim == 0:
            return [format_number(array, precision)]
        text = np.array2string(array, separator=", ", max_line_width=72,
                               formatter={"all": lambda v: format_number(v, precision)})
        return [line.rstrip() for line in text.splitlines() if line.strip()]  # 3-D+: no blank lines
    return summary_lines(array, precision)


def summary_lines(array, precision: int = 4) -> list[str]:
    """mean, std, min and max of a large array, as two lines."""
    if array.size == 0:
        return ["(empty)"]
    data = array.astype(np.float64, copy=False)
    digits = max(precision - 1, 2)

    def number(v):
        return f"{float(v) + 0.0:.{digits}g}"  # + 0.0: no "-0"
    return [f"mean {number(data.mean())}  std {number(data.std())}",
            f"min {number(data.min())}  max {number(data.max())}"]


def inline_array(array, max_elements: int = 12, precision: int = 4) -> str:
    """An array on one line for a chain-rule equation: ``[0.1, -0.2]`` or a summary when large."""
    array = np.asarray(array)
    if array.size <= max_elements:
        return " ".join(line.strip() for line in array_lines(array, max_elements, precision))
    return f"<{'x'.join(map(str, array.shape))} array: " + "; ".join(
        summary_lines(array, precision)) + ">"


def describe_shape(shape, dtype=None) -> str:
    text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    return text if dtype is None else f"{text} {np.dtype(dtype).name}"


def _rows(lines, colour=None, mono=True, size=None) -> list[str]:
    cells = []
    for line in lines:
        text = escape(line) or " "  # an empty <FONT></FONT> is a syntax error for dot
        if mono:
            text = f'<FONT FACE="{MONO_FONT}">{text}</FONT>'
        if colour or size:
            attrs = (f' COLOR="{colour}"' if colour else "") + (f' POINT-SIZE="{size}"' if size else "")
            text = f"<FONT{attrs}>{text}</FONT>"
        cells.append(f'<TR><TD ALIGN="LEFT">{text}</TD></TR>')
    return cells


def table(rows: list[str]) -> str:
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows) + "</TABLE>>")


def title_row(text: str, auto: bool = False, size: int = 14) -> str:
    text = escape(text)
    text = f'<I><FONT COLOR="{MUTED_COLOUR}">{text}</FONT></I>' if auto else f"<B>{text}</B>"
    return f'<TR><TD ALIGN="CENTER"><FONT POINT-SIZE="{size}">{text}</FONT></TD></TR>'


def text_rows(lines, colour=MUTED_COLOUR, size=10, mono=False, italic=False) -> list[str]:
    rows = []
    for line in lines:
        text = escape(line)
        if italic:
            text = f"<I>{text}</I>"
        if mono:
            text = f'<FONT FACE="{MONO_FONT}">{text}</FONT>'
        rows.append(f'<TR><TD ALIGN="CENTER"><FONT COLOR="{colour}" POINT-SIZE="{size}">'
                    f"{text}</FONT></TD></TR>")
    return rows


def tensor_label(name, auto_named, shape_text, value_lines, grad_lines, grad_note,
                 grad_word="grad:") -> str:
    """Name (bold; italic grey when made up), shape and dtype, value, then the gradient in red.

    ``shape_text``/``value_lines``/``grad_lines`` may be None (hidden by an option); ``grad_note``
    replaces the gradient when there is none (e.g. "no grad yet").
    """
    rows = [title_row(name, auto_named)]
    if shape_text:
        rows += text_rows([shape_text])
    if value_lines:
        rows += _rows(value_lines)
    if grad_lines:
        rows += _rows([grad_word] + list(grad_lines), colour=GRAD_COLOUR)
    elif grad_note:
        partial = grad_note.startswith("(parcial") or "partial" in grad_note
        rows += text_rows([grad_note], colour=GRAD_COLOUR if partial else MUTED_COLOUR,
                          italic=True)
    return table(rows)


def op_label(title, details=(), rule=None) -> str:
    """Op name in bold, its non-tensor arguments, and (teaching mode) its local derivative rule."""
    rows = [title_row(title, size=13)]
    rows += text_rows([d for d in details if d], size=10)
    if rule:
        rows += text_rows(rule.split("\n"), colour="#5B2C6F", size=10, italic=True)
    return table(rows)


def module_label(name, type_name, param_lines, output_text, grad_lines=(), buffer_lines=(),
                 constant_lines=()) -> str:
    """A collapsed module: name, class, parameters and their count, buffers (in the buffer kind's
    colour), constants made inside it, output shape, grad norms."""
    rows = [title_row(name, size=14)]
    if type_name and type_name != name:
        rows += text_rows([type_name], colour="#873600", size=11)
    rows += text_rows(param_lines, colour="#4D5656", size=10)
    rows += text_rows(buffer_lines, colour=KIND_STYLE["buffer"]["color"], size=10)
    rows += text_rows(constant_lines, colour=MUTED_COLOUR, size=10)
    if output_text:
        rows += text_rows([output_text], size=10)
    rows += text_rows(grad_lines, colour=GRAD_COLOUR, size=10)
    return table(rows)


def legend_label(entries, show_grads=True, heading="legend",
                 grad_caption="red: grad = dL/d(tensor)") -> str:
    """A small table: one coloured cell per (caption, style) entry, then the gradient colour."""
    rows = [f'<TR><TD BORDER="0"><FONT POINT-SIZE="11" COLOR="#566573"><B>{escape(heading)}</B>'
            '</FONT></TD></TR>']
    for caption, style in entries:
        rows.append(f'<TR><TD BGCOLOR="{style["fillcolor"]}" COLOR="{style["color"]}">'
                    f'<FONT POINT-SIZE="10">{escape(caption)}</FONT></TD></TR>')
    if show_grads:
        rows.append(f'<TR><TD BORDER="0"><FONT POINT-SIZE="10" COLOR="{GRAD_COLOUR}">'
                    f"{escape(grad_caption)}</FONT></TD></TR>")
    return ('<<TABLE BORDER="1" COLOR="#BDC3C7" CELLBORDER="1" CELLSPACING="3" CELLPADDING="3" '
            'STYLE="rounded">' + "".join(rows) + "</TABLE>>")


def caption_label(lines) -> str:
    """A graph caption (the stepper's chain-rule lines), left aligned in a monospace font."""
    return table(_rows(lines, size=12))
