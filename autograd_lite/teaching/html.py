"""The backward walk as one self-contained HTML page (or a Jupyter widget): every frame's SVG, the
chain-rule lines, the current node's value and gradient, Previous/Next/Play buttons and arrow keys.

Nothing is fetched from the network: the script and the style are inline. Without scripts the page
shows every frame one below the other (static SVG); the script stacks them in one place and shows
the current one, so the layout does not move between steps (every frame has the same node sizes,
see ``BackwardStepper``).
"""
from __future__ import annotations

import itertools
import json
import re
from html import escape

from .labels import array_lines
from .language import check_language, text

_counter = itertools.count()

STYLE = """
.agw{font-family:"DejaVu Sans",Arial,sans-serif;color:#1c2833;max-width:1500px}
.agw h2{font-size:20px;margin:4px 0 8px 0}
.agw .bar{display:flex;gap:8px;align-items:center;margin:6px 0;flex-wrap:wrap}
.agw button{font-size:15px;padding:4px 14px;border:1px solid #7d3c98;background:#f4ecf7;
 border-radius:5px;cursor:pointer}
.agw button:disabled{opacity:.4;cursor:default}
.agw .counter{font-weight:bold;font-size:15px;min-width:150px}
.agw .hint{color:#707b7c;font-size:12px}
.agw .stage{display:grid}
.agw .frame{grid-area:1/1;border:1px solid #d5d8dc;border-radius:6px;padding:4px;background:#fff;
 margin-bottom:8px}
.agw.js .frame{visibility:hidden;margin-bottom:0}
.agw.js .frame.current{visibility:visible}
.agw .frame svg{max-width:100%;max-height:calc(100vh - 190px);width:auto;height:auto}
.agw .info{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;font-size:14px;margin-top:4px;
 align-items:center}
.agw .info .k{color:#566573}
.agw pre{font-family:"DejaVu Sans Mono",monospace;font-size:13px;background:#f8f9f9;margin:0;
 padding:6px 8px;border-left:4px solid #e74c3c;white-space:pre-wrap}
.agw .panel{display:none}
.agw.js .static{display:none}
.agw.js .panel{display:block}
.agw .node-name{font-weight:bold;color:#c0392b}
"""

SCRIPT = """
(function(){
 var root=document.getElementById(%(id)s);
 var data=JSON.parse(root.querySelector('script.agw-data').textContent);
 var frames=root.querySelectorAll('.frame'), i=0, timer=null;
 root.classList.add('js');
 function q(c){return root.querySelector(c);}
 function show(n){
  i=Math.max(0,Math.min(frames.length-1,n));
  for(var k=0;k<frames.length;k++){frames[k].classList.toggle('current',k===i);}
  var f=data.frames[i];
  q('.counter').textContent=f.counter;
  q('.node-name').textContent=f.node_title;
  q('.lines').textContent=f.lines.join('\\n');
  q('.value').textContent=f.value;
  q('.grad').textContent=f.grad;
  root.setAttribute('data-step',String(i));
  root.setAttribute('data-node',f.node);
  q('.prev').disabled=(i===0); q('.next').disabled=(i===frames.length-1);
 }
 function play(){
  if(timer){clearInterval(timer);timer=null;q('.play').textContent=data.play;return;}
  if(i===frames.length-1){show(0);}
  q('.play').textContent=data.pause;
  timer=setInterval(function(){if(i>=frames.length-1){play();}else{show(i+1);}},data.ms);
 }
 q('.prev').addEventListener('click',function(){show(i-1);});
 q('.next').addEventListener('click',function(){show(i+1);});
 q('.play').addEventListener('click',play);
 root.addEventListener('keydown',function(e){
  if(e.key==='ArrowRight'){show(i+1);e.preventDefault();}
  else if(e.key==='ArrowLeft'){show(i-1);e.preventDefault();}
  else if(e.key===' '){play();e.preventDefault();}
  else if(e.key==='Home'){show(0);e.preventDefault();}
  else if(e.key==='End'){show(frames.length-1);e.preventDefault();}
 });
 if(%(page)s){document.addEventListener('keydown',function(e){
  if(e.target===document.body){root.dispatchEvent(new KeyboardEvent('keydown',{key:e.key}));
   if(e.key===' '||e.key.indexOf('Arrow')===0){e.preventDefault();}}});}
 show(0);
})();
"""


def _strip_svg(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration or DOCTYPE), with ids made unique per page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _text_of(array, options):
    if array is None:
        return "-"
    return "\n".join(array_lines(array, options.max_elements, options.precision))


def frame_data(stepper, lang):
    """One dict per frame: counter, highlighted node key and title, lines, value, gradient."""
    options = stepper.options
    steps = stepper.run()
    loss = stepper.loss_name
    frames = [{"counter": f"0 / {stepper.total}", "node": stepper.items.roots[0].key,
               "node_title": loss, "lines": [text("before", lang, loss=loss)],
               "value": f"{loss} = {_text_of(stepper.output._data, options)}",
               "grad": f"d{loss}/d{loss} = 1"}]
    for step in steps:
        outputs = step.op.outputs
        out = outputs[0].name if outputs else "y"
        if outputs and not outputs[0].freed:
            value = _text_of(outputs[0].tensor._data, options)
        else:
            value = text("freed_value", lang)
        frames.append({"counter": f"{step.index} / {stepper.total}", "node": step.op.key,
                       "node_title": step.op.title, "lines": step.caption[1:],
                       "value": f"{out} = {value}",
                       "grad": f"d{loss}/d{out} = {_text_of(step.upstream[0], options)}"})
    return frames


def widget(stepper, lang=None, page=False, seconds_per_frame=1.5) -> str:
    """The walk as an HTML fragment (a ``div`` with its style and script inline)."""
    frames = frame_data(stepper, lang)
    svgs = [_strip_svg(graph.pipe(format="svg", encoding="utf-8")) for graph in stepper.frames(captions=False)]
    ident = f"agw{next(_counter)}"
    data = {"frames": frames, "ms": int(seconds_per_frame * 1000), "play": text("play", lang),
            "pause": text("pause", lang)}
    blob = json.dumps(data, ensure_ascii=True).replace("</", "<\\/")
    parts = [f'<div class="agw" id="{ident}" tabindex="0" data-step="0">',
             f"<style>{STYLE}</style>",
             f'<h2>{escape(text("walk_title", lang))}</h2>',
             '<div class="bar panel">',
             f'<button class="prev" type="button">&#9664; {escape(text("previous", lang))}</button>',
             f'<button class="play" type="button">{escape(text("play", lang))}</button>',
             f'<button class="next" type="button">{escape(text("next", lang))} &#9654;</button>',
             f'<span class="counter">{escape(frames[0]["counter"])}</span>',
             f'<span class="hint">{escape(text("keys", lang))}</span></div>',
             '<div class="panel"><div class="info">',
             f'<span class="k">{escape(text("current_node", lang))}</span><span class="node-name"></span>',
             f'<span class="k">{escape(text("value", lang))}</span><pre class="value"></pre>',
             f'<span class="k">{escape(text("gradient", lang))}</span><pre class="grad"></pre>',
             '</div><pre class="lines" style="margin-top:6px"></pre></div>',
             '<div class="stage">']
    for number, (frame, svg) in enumerate(zip(frames, svgs)):
        svg = re.sub(r'id="(node|edge|clust|graph|a_)', lambda m: f'id="{ident}_{m.group(1)}', svg)
        static = escape(frame["counter"] + "\n" + "\n".join(frame["lines"]))
        parts.append(f'<div class="frame{" current" if number == 0 else ""}" data-node="{frame["node"]}"'
                     f' data-step="{number}"><pre class="static">{static}</pre>{svg}</div>')
    parts.append("</div>")
    parts.append(f'<script type="application/json" class="agw-data">{blob}</script>')
    parts.append("<script>" + SCRIPT % {"id": json.dumps(ident), "page": "true" if page else "false"}
                 + "</script></div>")
    return "\n".join(parts)


def page(stepper, lang=None, seconds_per_frame=1.5) -> str:
    """A complete HTML document holding ``widget``."""
    lang_code = check_language(lang)
    return (f'<!DOCTYPE html>\n<html lang="{lang_code}"><head><meta charset="utf-8">'
            f'<title>{escape(text("walk_title", lang))}</title></head><body>\n'
            + widget(stepper, lang, page=True, seconds_per_frame=seconds_per_frame)
            + "\n</body></html>\n")
