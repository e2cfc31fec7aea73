"""The languages of every teaching text: English ("en") and Spanish ("es").

``set_language("es")`` sets the default for this process; most teaching calls also take ``lang=`` for
one call. ``text(key, lang, **values)`` looks a phrase up and fills in ``{placeholders}``;
``localized(value, lang)`` picks one language out of a ``{"en": ..., "es": ...}`` dict (an op's
``rule``, for example) and passes plain strings through.
"""
from __future__ import annotations

LANGUAGES = ("en", "es")
_default = {"lang": "en"}

TEXTS = {
    # graph nodes and legend (draw_graph, BackwardStepper)
    "kind.parameter": ("parameter", "parámetro"),
    "kind.input": ("leaf (requires grad)", "hoja (requiere grad)"),
    "kind.constant": ("constant (no grad)", "constante (sin grad)"),
    "kind.buffer": ("buffer (module state, no grad)", "buffer (estado del módulo, sin grad)"),
    "kind.intermediate": ("intermediate value", "valor intermedio"),
    "kind.output": ("output", "salida"),
    "kind.op": ("op (forward)", "operación (forward)"),
    "kind.module": ("module", "módulo"),
    "legend": ("legend", "leyenda"),
    "legend.grad": ("red: grad = dL/d(tensor)", "rojo: grad = dL/d(tensor)"),
    "grad": ("grad:", "grad:"),
    "no_grad_yet": ("no grad yet", "aún sin grad"),
    "partial": ("(partial: more uses to come)", "(parcial: faltan más usos)"),
    "not_retained": ("grad not retained (ag.retain_grads)", "grad no retenido (ag.retain_grads)"),
    "freed1": ("(value freed after use: build the graph", "(valor liberado tras usarse: construya"),
    "freed2": ("under ag.retain_grads() to keep it)", "el grafo bajo ag.retain_grads())"),
    "parameters": ("{count} parameters", "{count} parámetros"),
    "out": ("out {shape}", "salida {shape}"),
    "buffer_line": ("{name} {shape} buffer", "{name} {shape} buffer"),
    "constant_line": ("{name} {shape} constant", "{name} {shape} constante"),
    "updates": ("updates", "actualiza"),
    # stepper
    "step": ("step {index} of {total}: backward of {op}", "paso {index} de {total}: backward de {op}"),
    "before": ("before backward: d{loss}/d{loss} = 1", "antes de backward: d{loss}/d{loss} = 1"),
    "summed": (" (summed over broadcast dims)", " (sumado en las dims difundidas)"),
    "use_of": ("(use {done} of {uses}: contributions add up)",
               "(uso {done} de {uses}: las contribuciones se suman)"),
    "summed_batch": ("summed over the batch", "sumado sobre el lote"),
    "broadcast_to": ("broadcast to", "difundido a"),
    "value": ("value", "valor"),
    "gradient": ("gradient", "gradiente"),
    "freed_value": ("freed (build the graph under ag.retain_grads() to keep it)",
                    "liberado (construya el grafo bajo ag.retain_grads() para conservarlo)"),
    "previous": ("Previous", "Anterior"),
    "next": ("Next", "Siguiente"),
    "play": ("Play", "Reproducir"),
    "pause": ("Pause", "Pausa"),
    "keys": ("keys: ← → step, space plays", "teclas: ← → avanzan, espacio reproduce"),
    "walk_title": ("Backward, one node at a time", "Backward, nodo a nodo"),
    "current_node": ("current node", "nodo actual"),
    "latex_title": ("The chain rule, step by step", "La regla de la cadena, paso a paso"),
    # check
    "check.right": ("right", "correcto"),
    "check.wrong": ("WRONG", "INCORRECTO"),
    "check.follows": ("follows from the first error", "se deriva del primer error"),
    "check.all_right": ("All {count} numbers are right.", "Los {count} números son correctos."),
    "check.first_wrong": ("First wrong number: {name} = {given}, expected {expected}.",
                          "Primer número incorrecto: {name} = {given}, se esperaba {expected}."),
    "check.chain": ("It comes from the chain rule: {line}", "Viene de la regla de la cadena: {line}"),
    "check.header": ("Check of {count} hand-computed numbers (to the precision given):",
                     "Comprobación de {count} números calculados a mano (con la precisión dada):"),
    "check.unknown": ("unknown quantity {name!r}; known: {known}",
                      "cantidad desconocida {name!r}; conocidas: {known}"),
    "check.freed": ("check: the value of {name!r} was freed after use (as in PyTorch): build the "
                    "graph under `with ag.retain_grads():` to check values",
                    "check: el valor de {name!r} se liberó tras usarse (como en PyTorch): construya "
                    "el grafo bajo `with ag.retain_grads():` para comprobar valores"),
    # network diagram
    "net.input": ("input", "entrada"),
    "net.hidden": ("hidden {index}", "oculta {index}"),
    "net.output": ("output", "salida"),
    "net.bias": ("bias", "sesgo"),
    "net.more": ("… {count} more units not drawn", "… {count} unidades más sin dibujar"),
    "net.legend": ("net = net input, a = activation, δ = -dL/dnet; edges: weight (grad)",
                   "net = entrada neta, a = activación, δ = -dL/dnet; aristas: peso (grad)"),
    "net.unlabelled": ("layers with more than {count} edges: weights not labelled",
                       "capas con más de {count} aristas: pesos sin etiqueta"),
    # plots
    "plot.epoch": ("epoch", "época"),
    "plot.train": ("train", "entrenamiento"),
    "plot.validation": ("validation", "validación"),
    "plot.confusion": ("Confusion matrix", "Matriz de confusión"),
    "plot.predicted": ("predicted", "predicho"),
    "plot.true": ("true", "real"),
    "plot.roc": ("ROC curve", "Curva ROC"),
    "plot.chance": ("chance", "azar"),
    "plot.fpr": ("false positive rate", "tasa de falsos positivos"),
    "plot.tpr": ("true positive rate", "tasa de verdaderos positivos"),
    "plot.pr": ("Precision-recall", "Precisión-exhaustividad"),
    "plot.recall": ("recall", "exhaustividad"),
    "plot.precision": ("precision", "precisión"),
    "plot.per_epoch": ("{metric} per epoch", "{metric} por época"),
    # summary()
    "summary.model": ('Model: "{name}"', 'Modelo: "{name}"'),
    "summary.layer": ("Layer (type)", "Capa (tipo)"),
    "summary.shape": ("Output Shape", "Forma de salida"),
    "summary.params": ("Param #", "Nº parám."),
    "summary.total": ("Total params: {count}", "Parámetros totales: {count}"),
    "summary.trainable": ("Trainable params: {count}", "Parámetros entrenables: {count}"),
    "summary.frozen": ("Non-trainable params: {count}", "Parámetros no entrenables: {count}"),
    "summary.not_called": ("(not called)", "(no llamada)"),
}


def set_language(lang: str) -> None:
    """Set the default language of every teaching text: "en" (English) or "es" (Spanish)."""
    _default["lang"] = check_language(lang)


def get_language() -> str:
    return _default["lang"]


def check_language(lang) -> str:
    if lang is None:
        return _default["lang"]
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    return lang


def text(key: str, lang: str | None = None, **values) -> str:
    """The phrase ``key`` in ``lang`` (default: the global language), placeholders filled in."""
    phrase = TEXTS[key][LANGUAGES.index(check_language(lang))]
    return phrase.format(**values) if values else phrase


def localized(value, lang: str | None = None):
    """``value[lang]`` for a dict by language (English when that language is missing), else value."""
    if isinstance(value, dict):
        lang = check_language(lang)
        return value.get(lang, value.get("en"))
    return value
