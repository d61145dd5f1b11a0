"""HTML of "Attention step by step" (drawn by the browser, no figure from the server): for one query, layer and head,
the raw scores and the weights as grids over the picture (one per frame), the non-image keys as a row, the blocked
keys crossed out with the rule that blocks them, the softmax in numbers, and every key in a table (the text
alternative a screen reader reads). Each grid is one tab stop; the arrow keys move between its cells (`KEYS_JS`;
a grid keeps the picture's left-to-right geometry in an Arabic page, the row of text keys follows the page),
and a focused or hovered cell shows its numbers. Every text a visitor could have typed (the prompt's tokens) is
escaped here.
"""
from __future__ import annotations

import base64
import html
import io
import math

from ..explain.scores import REASONS, ScoreView
from ..lang import join, say

CSS = """
.gd-mech { font-size: 0.95em; line-height: 1.45; }
.gd-mech h4 { margin: 0.8em 0 0.3em; }
.gd-mech .gd-grids { display: flex; flex-wrap: wrap; gap: 16px; }
.gd-mech figure { margin: 0; }
.gd-mech figcaption { font-size: 0.9em; max-width: 300px; }
.gd-mech .gd-pic { position: relative; width: 240px; height: 240px; }
.gd-mech .gd-pic { background-size: 100% 100%; }
.gd-mech .gd-pic.gd-small { width: 150px; height: 150px; }
.gd-mech .gd-grid { position: absolute; inset: 0; display: grid; outline-offset: 3px; direction: ltr; }
.gd-mech .gd-grid:focus { outline: 3px solid #1d4ed8; }
.gd-mech .gd-cell, .gd-mech .gd-tok { position: relative; border: 1px solid rgba(255,255,255,0.35); }
.gd-mech .gd-cell:focus, .gd-mech .gd-tok:focus { outline: 3px solid #1d4ed8; z-index: 3; }
.gd-mech .gd-cell:hover::after, .gd-mech .gd-cell:focus::after, .gd-mech .gd-tok:hover::after,
.gd-mech .gd-tok:focus::after {
  content: attr(aria-label); position: absolute; inset-inline-start: 0; top: 100%; z-index: 4;
  background: #111827; color: #ffffff; padding: 2px 6px; border-radius: 4px; white-space: nowrap; font-size: 12px;
  pointer-events: none; }
.gd-mech .gd-blocked { background: repeating-linear-gradient(45deg, #6b7280 0 3px, #e5e7eb 3px 7px) !important; }
.gd-mech .gd-row { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0; outline-offset: 3px; }
.gd-mech .gd-row:focus { outline: 3px solid #1d4ed8; }
.gd-mech .gd-tok { border: 1px solid #52525b; border-radius: 4px; padding: 1px 6px; color: #111827;
  min-width: 2.2em; text-align: center; }
.gd-mech .gd-tok.gd-blocked { background: #f4f4f5 !important; color: #3f3f46; border-style: dashed;
  text-decoration: line-through; text-decoration-thickness: 2px; }
.gd-mech .gd-tok.gd-blocked::before { content: "✕ "; text-decoration: none; display: inline-block;
  margin-inline-end: 2px; }
.gd-mech .gd-query { box-shadow: 0 0 0 3px #d55e00; }
.gd-mech table { border-collapse: collapse; font-size: 0.9em; }
.gd-mech th, .gd-mech td { border: 1px solid #a1a1aa; padding: 2px 6px; text-align: end; }
.gd-mech th[scope=row], .gd-mech td.gd-text { text-align: start; }
.gd-mech .gd-legend span { display: inline-block; width: 1em; height: 1em; vertical-align: middle;
  border: 1px solid #52525b; }
"""

# arrow keys move between the cells of a focused grid or row (one tab stop each); Home / End jump to the ends
KEYS_JS = """
element.addEventListener('keydown', (e) => {
  const cell = e.target.closest('[data-cell]');
  const group = e.target.closest('[data-cols]');
  if (!group) return;
  const cells = Array.from(group.querySelectorAll('[data-cell]'));
  if (!cells.length) return;
  const cols = parseInt(group.dataset.cols || '1', 10);
  let i = cell ? cells.indexOf(cell) : -1;
  const rtl = getComputedStyle(group).direction === 'rtl';
  const step = {ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: cols, ArrowUp: -cols}[e.key];
  if (step !== undefined) i = i < 0 ? 0 : Math.min(cells.length - 1, Math.max(0, i + step));
  else if (e.key === 'Home') i = 0;
  else if (e.key === 'End') i = cells.length - 1;
  else return;
  e.preventDefault();
  cells[i].focus();
});
"""


def picture_uri(image, side: int = 240) -> str:
    """The model's view of a frame as a small inline JPEG (no file to serve, nothing kept)."""
    buf = io.BytesIO()
    image.convert("RGB").resize((side, side)).save(buf, format="JPEG", quality=75)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    """4 decimals, tiny values in scientific notation (a weight of 3e-6 is not 0)."""
    return "0" if x == 0 else f"{x:.4f}" if abs(x) >= 0.0001 else f"{x:.1e}"


def _weight_colour(w: float, top: float) -> str:
    a = 0.0 if top <= 0 else min(1.0, w / top)
    return f"rgba(29, 78, 216, {0.1 + 0.85 * a:.3f})"  # blue, opaque where the weight is largest


def _score_colour(s: float, span: float) -> str:
    x = 0.0 if span <= 0 else max(-1.0, min(1.0, s / span))
    return f"rgba(213, 94, 0, {0.1 + 0.85 * x:.3f})" if x >= 0 else f"rgba(0, 114, 178, {0.1 + 0.85 * -x:.3f})"


def key_name(view: ScoreView, j: int) -> str:
    k = view.keys[j]
    if k.kind == "image":
        if view.frames > 1:
            return say("patch frame {frame}, row {row}, column {col}", frame=k.frame, row=k.row, col=k.col)
        return say("patch row {row}, column {col}", row=k.row, col=k.col)
    if k.kind == "cls":
        return say("CLS of frame {frame}", frame=k.frame) if view.frames > 1 else say("CLS (image summary token)")
    kind = say("prompt") if k.kind == "prompt" else say("answer")
    return f"{kind} {j + 1}: '{k.text}'"


def _tip(view: ScoreView, j: int) -> str:
    name = key_name(view, j)
    if view.masked[j]:
        return say("{name}: score {score}, blocked ({rule}), weight 0", name=name, score=f"{view.scores[j]:.2f}",
                   rule=say(REASONS[view.reasons[j]]))
    return say("{name}: score {score}, weight {weight}", name=name, score=f"{view.scores[j]:.2f}",
               weight=_num(view.weights[j]))


def _cell(view: ScoreView, j: int, what: str, span: float, top: float, tag: str = "span", text: str = "") -> str:
    blocked = view.masked[j]
    colour = _score_colour(view.scores[j], span) if what == "scores" else _weight_colour(view.weights[j], top)
    cls = ("gd-tok" if text else "gd-cell") + (" gd-blocked" if blocked else "") + \
        (" gd-query" if j == view.query else "")
    tip = _esc(_tip(view, j))
    # one copy of the numbers: the accessible name, which the hover / focus tooltip (CSS) shows too
    return (f'<{tag} class="{cls}" data-cell="{j}" tabindex="-1" role="img" aria-label="{tip}" '
            f'style="background:{colour}">{_esc(text) if text else ""}</{tag}>')


def _grids(view: ScoreView, pictures, what: str, span: float, top: float) -> str:
    out = []
    by_frame: dict[int, list[int]] = {}
    for j, k in enumerate(view.keys):
        if k.kind == "image":
            by_frame.setdefault(k.frame, []).append(j)
    title = say("raw scores q·k/√d") if what == "scores" else say("weights after softmax")
    for f, idx in sorted(by_frame.items()):
        cells = "".join(_cell(view, j, what, span, top) for j in idx)
        where = say(" (frame {n})", n=f) if view.frames > 1 else ""
        label = _esc(f"{title}{where}: {say('arrow keys move between patches')}")
        small = " gd-small" if view.frames > 1 else ""
        out.append(f'<figure><div class="gd-pic{small} gd-frame-{f}"><div class="gd-grid" tabindex="0" role="group" '
                   f'aria-label="{label}" data-cols="{view.cols}" style="grid-template-columns:repeat({view.cols},1fr)">'
                   f'{cells}</div></div><figcaption>{_esc(title)}{_esc(where)}</figcaption></figure>')
    return "".join(out)


def _text_row(view: ScoreView, what: str, span: float, top: float) -> str:
    idx = [j for j, k in enumerate(view.keys) if k.kind != "image"]
    label = _esc(say("the other keys (CLS, prompt, answer) in order: arrow keys move between them"))
    tokens = "".join(_cell(view, j, what, span, top, text=view.keys[j].text or "∅") for j in idx)
    return f'<div class="gd-row" tabindex="0" role="group" aria-label="{label}" data-cols="1">{tokens}</div>'


def _softmax_lines(view: ScoreView, n: int = 5) -> str:
    open_ = [j for j, m in enumerate(view.masked) if not m]
    best = max(view.scores[j] for j in open_)
    total = sum(math.exp(view.scores[j] - best) for j in open_)
    top = sorted(open_, key=lambda j: -view.weights[j])[:n]
    head = "".join(f"<th scope=col>{_esc(h)}</th>" for h in
                   (say("key"), say("score s"), say("e^(s − max)"), say("÷ sum = weight")))
    rows = "".join(f"<tr><th scope=row>{_esc(key_name(view, j))}</th><td>{view.scores[j]:.3f}</td>"
                   f"<td>{_num(math.exp(view.scores[j] - best))}</td><td>{_num(view.weights[j])}</td></tr>" for j in top)
    cap = say("Softmax in numbers for the {n} largest weights: the sum of e^(s − max) over the {m} open keys is "
              "{total}.", n=len(top), m=len(open_), total=f"{total:.4f}")
    return f"<table><caption>{_esc(cap)}</caption><tr>{head}</tr>{rows}</table>"


def _rules(view: ScoreView) -> str:
    counts: dict[str, int] = {}
    for r in view.reasons:
        if r:
            counts[r] = counts.get(r, 0) + 1
    if not counts:
        return f"<p>{_esc(say('The mask blocks no key for this query: it reads every key.'))}</p>"
    items = "".join(f"<li>{_esc(say('{n} keys blocked: {rule}', n=c, rule=say(REASONS[r])))}</li>"
                    for r, c in counts.items())
    return f"<ul>{items}</ul>"


def _table(view: ScoreView) -> str:
    head = "".join(f"<th scope=col>{_esc(h)}</th>" for h in
                   ("#", say("key"), say("score"), say("blocked by"), say("weight")))
    rows = []
    for j in range(len(view.keys)):
        rule = _esc(say(REASONS[view.reasons[j]])) if view.masked[j] else ""
        weight = "0" if view.masked[j] else _num(view.weights[j])
        rows.append(f"<tr><td>{j + 1}</td><td class=gd-text>{_esc(key_name(view, j))}</td>"
                    f"<td>{view.scores[j]:.3f}</td><td class=gd-text>{rule}</td><td>{weight}</td></tr>")
    cap = say("All {n} keys in the model's order", n=len(view.keys))
    return (f"<details><summary>{_esc(cap)}</summary><table><caption>{_esc(cap)}</caption><tr>{head}</tr>"
            f"{''.join(rows)}</table></details>")


def summary(view: ScoreView, query_text: str) -> str:
    """One sentence with the numbers: what a screen reader hears first."""
    open_ = [j for j, m in enumerate(view.masked) if not m]
    top = sorted(open_, key=lambda j: -view.weights[j])[:3]
    image = sum(view.weights[j] for j, k in enumerate(view.keys) if k.kind == "image")
    return say("Layer {layer}, head {head}, the query of {query}: {open} keys open, {blocked} blocked by the mask. "
               "Largest weights: {top}. The image patches get {image} of the attention.",
               layer=view.layer + 1, head=view.head + 1, query=query_text, open=len(open_),
               blocked=len(view.keys) - len(open_), image=f"{image:.1%}",
               top=join(f"{key_name(view, j)} {_num(view.weights[j])}" for j in top))


def render(view: ScoreView, pictures, query_text: str, note: str = "") -> str:
    """The panel's HTML for one step (pictures: the model's view of each frame)."""
    open_ = [j for j, m in enumerate(view.masked) if not m]
    span = max((abs(view.scores[j]) for j in open_), default=1.0)
    top = max((view.weights[j] for j in open_), default=1.0)
    # each frame's picture once (both grids show it): a background set by a class, not two inline images
    side = 240 if view.frames == 1 else 150  # a video's frames drawn smaller: six of them, twice
    frames = "".join(f".gd-mech .gd-frame-{f + 1} {{ background-image: url({picture_uri(pic, side)}); }}"
                     for f, pic in enumerate(list(pictures or [])[: view.frames]))
    parts = [f"<style>{frames}</style>", '<div class="gd-mech">',
             f"<p><strong>{_esc(summary(view, query_text))}</strong></p>"]
    if note:
        parts.append(f"<p>{_esc(note)}</p>")
    steps = [
        (say("1. Scores: q·k/√d for every key"), say("Orange: high score, blue: low. The query's own token has an "
                                                      "orange ring."), "scores"),
        (say("2. The mask: crossed-out keys are blocked"), "", None),
        (say("3. Softmax: the weights (they sum to 1; blocked keys get 0)"),
         say("Darker blue: more attention. This is the explorer's heatmap for this layer and head."), "weights"),
    ]
    for title, hint, what in steps:
        parts.append(f"<h4>{_esc(title)}</h4>")
        if hint:
            parts.append(f"<p>{_esc(hint)}</p>")
        if what is None:
            parts.append(_rules(view))
            continue
        parts.append(f'<div class="gd-grids">{_grids(view, pictures, what, span, top)}</div>')
        parts.append(_text_row(view, what, span, top))
    parts.append(_softmax_lines(view))
    parts.append(_table(view))
    parts.append("</div>")
    return "".join(parts)


__all__ = ["CSS", "KEYS_JS", "render", "summary", "key_name", "picture_uri"]
