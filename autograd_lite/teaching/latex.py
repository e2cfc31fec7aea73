"""The stepper's chain-rule lines as LaTeX, in the course's notation.

Names become symbols: ``W2`` -> ``W^{[2]}``, ``net_h`` -> ``net_{h}``, ``dL/dW2`` ->
``\\frac{\\partial L}{\\partial W^{[2]}}``; ``*`` (elementwise) -> ``\\odot``, ``@`` -> ``\\cdot``,
``ᵀ`` -> ``^{\\top}``; arrays -> ``bmatrix`` (a vector as a row). Every step is an ``aligned`` block:
the symbolic chain rule, the numbers, the result, one per line. The document needs only ``amsmath``.
"""
from __future__ import annotations

import re

from .language import text

_SYMBOLS = [("σ", r"\sigma"), ("Σ", r"\sum"), ("·", r"\cdot "), ("²", "^{2}"), ("ᵀ", r"^{\top}"),
            ("…", r"\ldots"), ("√", r"\sqrt"), ("π", r"\pi"), ("⋆", r"\star"), ("δ", r"\delta")]
_FUNCTIONS = {"sigmoid'": r"\sigma'", "tanh'": r"\tanh'", "relu'": r"\mathrm{relu}'",
              "exp": r"\exp", "cos": r"\cos", "sin": r"\sin", "sign": r"\operatorname{sign}",
              "outer": r"\operatorname{outer}", "ln": r"\ln"}
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|-?inf"


def symbol(name: str) -> str:
    """A tensor name in the course's notation: ``W2`` -> ``W^{[2]}``, ``net_h`` -> ``net_{h}``."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if match:
        return f"{match.group(1)}^{{[{match.group(2)}]}}"
    if "_" in name:
        head, _, tail = name.partition("_")
        head = symbol(head) if head else ""
        return f"{head}_{{\\mathrm{{{_escape(tail)}}}}}"
    if len(name) > 1:
        return rf"\mathrm{{{_escape(name)}}}"
    return _escape(name)


def _escape(word: str) -> str:
    return word.replace("_", r"\_").replace("#", r"\#").replace("%", r"\%").replace("&", r"\&")


def _matrix(match) -> str:
    """A bracketed array of numbers (``[1, 2]`` or ``[[1, 2], [3, 4]]``) as a bmatrix."""
    body = match.group(0)
    rows = re.findall(r"\[([^\[\]]*)\]", body) if body.startswith("[[") else [body[1:-1]]
    cells = [" & ".join(c.strip() for c in row.split(",") if c.strip()) for row in rows]
    return r"\begin{bmatrix}" + r" \\ ".join(cells) + r"\end{bmatrix}"


def expression(part: str) -> str:
    """One side of a chain-rule line (symbols and numbers) as LaTeX math."""
    part = re.sub(r"\[\[[^\]]*\](?:,\s*\[[^\]]*\])*\]|\[(?:\s*(?:" + _NUMBER + r")\s*,?)+\]",
                  lambda m: "\x00" + _matrix(m) + "\x01", part)
    out = []
    for piece in re.split(r"(\x00[^\x01]*\x01)", part):
        if piece.startswith("\x00"):
            out.append(piece[1:-1])
            continue
        piece = re.sub(r"d(\w+)/d([A-Za-z_][\w.]*)",
                       lambda m: rf"\frac{{\partial {symbol(m.group(1))}}}{{\partial {symbol(m.group(2))}}}",
                       piece)
        for word, latex in _FUNCTIONS.items():
            piece = re.sub(r"(?<![\\\w])" + re.escape(word) + r"(?=\()", lambda m, l=latex: l, piece)
        piece = re.sub(r"(?<![\\{\w])([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*)(?![\w{])",
                       lambda m: m.group(1) if m.group(1) in ("e",) else symbol(m.group(1)), piece)
        piece = piece.replace("*", r" \odot ").replace("@", r" \cdot ")
        for char, latex in _SYMBOLS:
            piece = piece.replace(char, latex)
        out.append(piece)
    return "".join(out)


def line_latex(line: str) -> str:
    """``dL/da = dL/dy * f'(a) = [..] * [..] = [..]   (note)`` as rows of an ``aligned`` block."""
    note = ""
    match = re.search(r"\s{2,}\((.*)\)$|\s\((summed|sumado)[^)]*\)", line)
    if match:
        note = match.group(0).strip().strip("()")
        line = line[:match.start()] + line[match.end():]
    operator = "+=" if " += " in line else "="
    lhs, _, rest = line.partition(f" {operator} ")
    parts = [p for p in rest.split(" = ")]
    words = re.fullmatch(r"(.*?) (summed over the batch|sumado sobre el lote|broadcast to .*|"
                         r"difundido a .*)", parts[0]) if parts else None
    if words:
        parts[0] = words.group(1)
        note = (note + "; " if note else "") + words.group(2)
    op = r"\mathrel{+}=" if operator == "+=" else "="
    rows = [f"{expression(lhs)} &{op} {expression(parts[0])}"]
    rows += [f"&= {expression(p)}" for p in parts[1:]]
    if note:
        rows[0] += rf"\qquad\text{{({_text(note)})}}"
    return r"\begin{aligned}" + " \\\\\n".join(rows) + r"\end{aligned}"


def _text(words: str) -> str:
    words = _escape(words)
    for char, latex in _SYMBOLS:
        words = words.replace(char, f"${latex}$")
    return words


def document(stepper, lang=None, standalone=True, display=False) -> str:
    """The steps of ``stepper`` as LaTeX: each step a heading line and its chain-rule blocks."""
    body = []
    for step in stepper.run():
        heading = text("step", lang, index=step.index, total=stepper.total, op=step.op.title)
        body.append(rf"\noindent\textbf{{{_text(heading)}}}")
        for line in step.lines:
            body.append(r"\[" + line_latex(line) + r"\]")
    if display:  # Jupyter's _repr_latex_: MathJax shows display math, not text-mode headings
        blocks = []
        for step in stepper.run():
            heading = text("step", lang, index=step.index, total=stepper.total, op=step.op.title)
            blocks.append(rf"\text{{{_text(heading)}}}")
            blocks += [line_latex(line) for line in step.lines]
        return "$$\\begin{gathered}" + " \\\\\n".join(blocks) + "\\end{gathered}$$"
    if not standalone:
        return "\n".join(body) + "\n"
    title = _text(text("latex_title", lang))
    return ("\\documentclass[10pt]{article}\n\\usepackage[utf8]{inputenc}\n\\usepackage{amsmath}\n"
            "\\usepackage[landscape,margin=1.5cm]{geometry}\n\\setcounter{MaxMatrixCols}{20}\n"
            f"\\begin{{document}}\n\\section*{{{title}}}\n" + "\n".join(body)
            + "\n\\end{document}\n")
