"""Figures drawn by the browser: the heatmap as a grid of cells over the picture, bars as HTML tables.

The explorer's first view changes on every click (token, layer, head, opacity...). Drawing it here as HTML costs
the server a few milliseconds of string building instead of a matplotlib render per figure, and gives what an
image cannot: each patch is a cell that takes focus (arrow keys move between cells, Enter picks one), carries its
row, column and value as its accessible name, and the figure's caption states its numbers. A "Save PNG" button
draws the same cells onto a canvas in the browser (`HEAT_JS`), so the export costs the server nothing either.

Everything a visitor typed (token texts come from the model, prompts from the visitor) is escaped here.
"""
from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import numpy as np
from PIL import Image

from ..lang import say
from .figures import CMAPS, OKABE_ITO, _cmap


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def picture_uri(image: Image.Image, side: int = 336) -> str:
    """The picture the model saw as a small JPEG data address (sent inside the figure's HTML)."""
    buf = io.BytesIO()
    image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC).save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def colours(grid: np.ndarray, cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None,
            opacity: float = 0.5) -> list[str]:
    """Each cell's colour as #rrggbbaa (the map's range over the colour map, `opacity` as alpha), raster order."""
    grid = np.asarray(grid, dtype=np.float64)
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    norm = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
    rgb = (_cmap(cmap if cmap in CMAPS else "viridis")(np.clip(norm, 0, 1).ravel())[:, :3] * 255).round()
    alpha = int(round(255 * float(np.clip(opacity, 0.0, 1.0))))
    return [f"#{int(r):02x}{int(g):02x}{int(b):02x}{alpha:02x}" for r, g, b in rgb]


def _gradient(cmap: str) -> str:
    stops = colours(np.linspace(0, 1, 6), cmap, 0.0, 1.0, 1.0)
    return "linear-gradient(to right, " + ", ".join(s[:7] for s in stops) + ")"


def _span(values: list[int]) -> str:
    lo, hi = min(values) + 1, max(values) + 1
    return str(lo) if lo == hi else f"{lo}-{hi}"


def describe_grid(grid: np.ndarray, token: str) -> str:
    """The figure in words, with its numbers: where the most weight lies, how concentrated it is, the peak.

    "'square' put 62% of this map on 4 patches, rows 2-3, columns 4-5; the peak is row 2, column 4 (12x an
    even spread)." The patches named are the fewest that hold half of the map's total (at most 12)."""
    g = np.clip(np.asarray(grid, dtype=np.float64), 0, None)
    total = float(g.sum())
    rows, cols = g.shape
    if total <= 0:
        return say("'{token}': this map is empty (no weight on any of its {rows} x {cols} patches).", token=token,
                   rows=rows, cols=cols)
    order = np.argsort(g.ravel())[::-1]
    cum = np.cumsum(g.ravel()[order]) / total
    k = int(min(int(np.searchsorted(cum, 0.5)) + 1, 12, order.size))
    top = order[:k]
    rs, cs = [int(i) // cols for i in top], [int(i) % cols for i in top]
    peak_r, peak_c = rs[0], cs[0]
    ratio = float(g.ravel()[order[0]]) / (total / g.size)
    return say("'{token}' put {share} of this map on {k} of {n} patches (rows {rows}, columns {cols}); the peak "
               "is row {row}, column {col} ({ratio}x an even spread).", token=token,
               share=_pct(float(cum[k - 1])), k=k, n=g.size, rows=_span(rs), cols=_span(cs), row=peak_r + 1,
               col=peak_c + 1, ratio=f"{ratio:.1f}")


def peaks(maps, titles) -> str:
    """Each panel of small multiples in words: its peak cell and that cell's share of the panel's total."""
    parts = []
    for grid, title in zip(maps, titles):
        g = np.clip(np.asarray(grid, dtype=np.float64), 0, None)
        r, c = np.unravel_index(int(np.argmax(g)), g.shape)
        parts.append(say("{title}: peak at row {row}, column {col} ({share})", title=title, row=int(r) + 1,
                         col=int(c) + 1, share=_pct(float(g[r, c]) / (float(g.sum()) or 1.0))))
    return "; ".join(parts) + "."


def heat_grid(uri: str, grid: np.ndarray, token: str, title: str, caption: str, cmap: str = "viridis",
              opacity: float = 0.5, vmin: float | None = None, vmax: float | None = None,
              selected: tuple[int, int] | None = None, focusable: bool = True, small: bool = False,
              name: str = "attention") -> str:
    """One map over the picture: a rows x cols ARIA grid of cells, a colour legend, the caption (with numbers).

    With `focusable` one cell (the selected one, else the peak) is in the tab order and the arrow keys move
    between cells (`HEAT_JS`); each cell's accessible name is its row, column and value."""
    grid = np.asarray(grid, dtype=np.float64)
    rows, cols = grid.shape
    fill = colours(grid, cmap, vmin, vmax, opacity)
    peak = np.unravel_index(int(np.argmax(grid)), grid.shape)
    home = selected if selected is not None else (int(peak[0]), int(peak[1]))
    total = float(grid.sum()) or 1.0
    cells = []
    for r in range(rows):
        cells.append('<div role="row" class="gd-row">' if focusable else '<div class="gd-row">')
        for c in range(cols):
            style = f'style="background:{fill[r * cols + c]}"'
            if not focusable:  # a picture inside a bigger figure: the figure's caption speaks for it
                cells.append(f'<div class="gd-cell" {style}></div>')
                continue
            label = esc(say("row {row}, column {col}: {value}", row=r + 1, col=c + 1,
                            value=_pct(float(grid[r, c]) / total)))
            tab = "0" if (r, c) == home else "-1"
            sel = ' aria-selected="true"' if selected == (r, c) else ""
            cells.append(f'<div role="gridcell" class="gd-cell" data-r="{r}" data-c="{c}" tabindex="{tab}"{sel} '
                         f'aria-label="{label}" {style}></div>')
        cells.append("</div>")
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    legend = (f'<div class="gd-legend" aria-hidden="true"><span>{esc(_pct(lo / total))}</span>'
              f'<span class="gd-ramp" style="background:{_gradient(cmap)}"></span><span>{esc(_pct(hi / total))}</span>'
              "</div>")
    role = ' role="grid"' if focusable else ' aria-hidden="true"'
    keys = say("{title}: {rows} x {cols} patches; arrow keys move, Enter picks a patch.", title=title, rows=rows,
               cols=cols)
    aria = f' aria-label="{esc(keys)}"' if focusable else ""
    size = " gd-small" if small else ""
    button = (f'<button type="button" class="gd-png" data-name="{esc(name)}">{esc(say("Save PNG"))}</button>'
              if not small else "")
    return (f'<figure class="gd-fig gd-heat{size}"><div class="gd-title">{esc(title)}</div>'
            f'<div class="gd-stage" dir="ltr"><img class="gd-pic" src="{uri}" alt="">'
            f'<div class="gd-grid"{role}{aria} data-rows="{rows}" data-cols="{cols}" '
            f'style="grid-template-columns:repeat({cols},1fr);grid-template-rows:repeat({rows},1fr)">'
            + "".join(cells) + "</div></div>"
            + f'<div class="gd-readout" aria-hidden="true"></div>{legend}'
            + (f"<figcaption>{esc(caption)}</figcaption>" if caption else "") + f"{button}</figure>")


def topk(top: Sequence[tuple[str, float]], chosen: str, step: int) -> str:
    """The model's most likely next tokens at one step, the chosen one marked (as `viz.topk_bar` says it)."""
    p_chosen = next((p for t, p in top if t == chosen), None)
    how = say("it chose '{token}' (p = {p})", token=chosen, p=f"{p_chosen:.2f}") if p_chosen is not None else \
        say("it chose '{token}', which is not among them (sampling)", token=chosen)
    caption = say("Step {step}: the {n} tokens the model found most likely to come next; {how}.", step=step + 1,
                  n=len(top), how=how)
    return bars(list(top), say("Step {step}: next-token probabilities", step=step + 1), caption, chosen)


def share(parts: dict[str, float], token: str) -> str:
    """One stacked bar: the token's attention on image patches, on the CLS sink(s), and on text."""
    named = [(say("image patches"), parts.get("image", 0.0), OKABE_ITO["blue"]),
             (say("CLS sink"), parts.get("cls", 0.0), "#6b6b6b"),
             (say("text"), parts.get("text", 0.0), OKABE_ITO["orange"])]
    caption = say("'{token}' puts {image} of its attention on image patches, {cls} on the CLS token(s) (a 'sink' "
                  "that soaks up attention) and {text} on the text (mean over layers and heads).", token=token,
                  image=_pct(named[0][1]), cls=_pct(named[1][1]), text=_pct(named[2][1]))
    return stacked(named, say("Where '{token}' put its attention", token=token), caption)


def frames(uris: Sequence[str], maps: np.ndarray, split: Sequence[float], token: str, cmap: str = "viridis",
           opacity: float = 0.5) -> str:
    """A video's sampled frames, each with the token's map (one colour scale) and its share of the attention."""
    maps = np.asarray(maps, dtype=np.float64)
    lo, hi = float(maps.min()), float(maps.max())
    best = int(np.argmax(split))
    parts = []
    for i, uri in enumerate(uris):
        title = say("frame {n}", n=i + 1) + f": {_pct(float(split[i]))}"
        parts.append(heat_grid(uri, maps[i], token, title, "", cmap, opacity, lo, hi, focusable=False, small=True))
    caption = say("The {n} frames the model read, each with where '{token}' looked (one colour scale); the bars "
                  "split its attention on the image across frames: most on {frame} ({share}).", n=len(uris),
                  token=token, frame=say("frame {n}", n=best + 1), share=_pct(float(split[best])))
    return (f'<figure class="gd-fig gd-frames"><div class="gd-strip">{"".join(parts)}</div>'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def toggle_grid(uri: str, hidden: np.ndarray, fill: str, title: str, caption: str) -> str:
    """The picture with its patch grid, hidden patches painted in `fill`: each cell a focusable grid cell whose
    name says whether it is hidden; a click or Enter toggles it (`HEAT_JS`)."""
    hidden = np.asarray(hidden, dtype=bool)
    rows, cols = hidden.shape
    cells = []
    for r in range(rows):
        cells.append('<div role="row" class="gd-row">')
        for c in range(cols):
            h = bool(hidden[r, c])
            label = esc(say("row {row}, column {col}: {state}", row=r + 1, col=c + 1,
                            state=say("hidden") if h else say("shown")))
            style = f' style="background:{fill}"' if h else ""
            cells.append(f'<div role="gridcell" class="gd-cell gd-toggle{" gd-hidden" if h else ""}" data-r="{r}" '
                         f'data-c="{c}" tabindex="{0 if (r, c) == (0, 0) else -1}" aria-selected="{str(h).lower()}" '
                         f'aria-label="{label}"{style}></div>')
        cells.append("</div>")
    keys = say("{title}: {rows} x {cols} patches; arrow keys move, Enter hides or shows a patch.", title=title,
               rows=rows, cols=cols)
    return (f'<figure class="gd-fig gd-heat gd-hiding"><div class="gd-title">{esc(title)}</div>'
            f'<div class="gd-stage" dir="ltr"><img class="gd-pic" src="{uri}" alt="">'
            f'<div class="gd-grid" role="grid" aria-label="{esc(keys)}" data-rows="{rows}" data-cols="{cols}" '
            f'style="grid-template-columns:repeat({cols},1fr);grid-template-rows:repeat({rows},1fr)">'
            + "".join(cells) + '</div></div><div class="gd-readout" aria-hidden="true"></div>'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def lines(x: Sequence[float], series: Sequence[tuple[str, Sequence[float], str, bool]], title: str, caption: str,
          x_label: str, y_label: str) -> str:
    """A line chart as SVG (name, values, colour, dashed per series) over a shared x, with the numbers in a table
    under it (a screen reader reads the table; the chart is hidden from it)."""
    w, h, left, right, top, bottom = 420, 220, 44, 12, 10, 36
    ys = [v for _, vals, _, _ in series for v in vals]
    lo, hi = min([0.0, *ys]), max([1.0, *ys])
    x0, x1 = min(x), max(x) if max(x) > min(x) else min(x) + 1

    def px(v):
        return left + (v - x0) / (x1 - x0) * (w - left - right)

    def py(v):
        return top + (hi - v) / (hi - lo) * (h - top - bottom)

    parts = [f'<line x1="{left}" y1="{py(0):.1f}" x2="{w - right}" y2="{py(0):.1f}" stroke="#52525b"/>']
    for t in np.linspace(lo, hi, 5):
        parts.append(f'<text x="{left - 4}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="10">{t:.2f}</text>')
    for v in x:
        parts.append(f'<text x="{px(v):.1f}" y="{h - bottom + 14}" text-anchor="middle" font-size="10">{v:g}</text>')
    for _, vals, colour, dashed in series:
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, vals))
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    parts.append(f'<text x="{(left + w - right) / 2}" y="{h - 4}" text-anchor="middle" font-size="11">'
                 f"{esc(x_label)}</text>")
    keys = "".join(f'<li><span class="gd-swatch" style="background:{c}"></span>{esc(n)}</li>' for n, _, c, _ in series)
    head = "".join(f'<th scope="col">{esc(v)}</th>' for v in x)
    body = "".join(f'<tr><th scope="row">{esc(n)}</th>' + "".join(f"<td>{b:.3f}</td>" for b in vals) + "</tr>"
                   for n, vals, _, _ in series)
    return (f'<figure class="gd-fig gd-lines"><div class="gd-title">{esc(title)}</div>'
            f'<svg viewBox="0 0 {w} {h}" width="100%" style="max-width:{w}px" aria-hidden="true" '
            f'fill="currentColor">{"".join(parts)}</svg><ul class="gd-keys">{keys}</ul>'
            f"<figcaption>{esc(caption)}</figcaption>"
            f'<table class="gd-numbers"><caption>{esc(y_label)}</caption><thead><tr><th scope="col">{esc(x_label)}</th>'
            f"{head}</tr></thead><tbody>{body}</tbody></table></figure>")


def bars(items: Sequence[tuple[str, float]], title: str, caption: str, marked: str | None = None,
         value_name: str | None = None, mark_name: str | None = None, colour: str = OKABE_ITO["blue"],
         mark_colour: str = OKABE_ITO["vermillion"]) -> str:
    """Horizontal bars as a table (label, bar, value): a screen reader reads the table, the eye the bars."""
    rows = []
    peak = max([v for _, v in items] + [1e-12])
    for label, v in items:
        mark = label == marked
        width = max(0.0, min(100.0, 100.0 * v / peak))
        rows.append(f'<tr{" class=gd-marked" if mark else ""}><th scope="row">{esc(label)}'
                    f'{" <span class=gd-tag>" + esc(mark_name or say("chosen")) + "</span>" if mark else ""}</th>'
                    f'<td class="gd-barcell" aria-hidden="true"><span class="gd-bar" style="width:{width:.1f}%;'
                    f'background:{mark_colour if mark else colour}"></span></td><td>{esc(_pct(v))}</td></tr>')
    return (f'<figure class="gd-fig gd-bars"><table><caption>{esc(title)}</caption>'
            f'<thead><tr><th scope="col">{esc(say("token"))}</th><th scope="col" class="gd-barcell">'
            f'<span class="gd-sr">{esc(say("bar"))}</span></th><th scope="col">{esc(value_name or say("probability"))}</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table><figcaption>{esc(caption)}</figcaption></figure>")


def stacked(parts: Sequence[tuple[str, float, str]], title: str, caption: str) -> str:
    """One bar split into parts (name, share, colour), with a legend that states each share."""
    segs = "".join(f'<span style="width:{100 * max(v, 0):.2f}%;background:{c}"></span>' for _, v, c in parts)
    keys = "".join(f'<li><span class="gd-swatch" style="background:{c}"></span>{esc(n)}: {esc(_pct(v))}</li>'
                   for n, v, c in parts)
    return (f'<figure class="gd-fig gd-stacked"><div class="gd-title">{esc(title)}</div>'
            f'<div class="gd-stack" aria-hidden="true">{segs}</div><ul class="gd-keys">{keys}</ul>'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


__all__ = ["esc", "picture_uri", "colours", "describe_grid", "peaks", "heat_grid", "topk", "share", "frames", "bars", "stacked",
           "toggle_grid", "lines", "HEAT_JS", "CSS"]

# The heatmap's keyboard and export (runs once per component; the grid inside is re-rendered on every update,
# so the listeners sit on the component and find the cell from the event).
HEAT_JS = r"""
const cellOf = (e) => e.target.closest && e.target.closest('.gd-cell');
const show = (cell) => {
  const fig = cell.closest('.gd-fig'); const out = fig && fig.querySelector('.gd-readout');
  if (out) out.textContent = cell.getAttribute('aria-label');
};
element.addEventListener('focusin', (e) => { const c = cellOf(e); if (c) show(c); });
element.addEventListener('mouseover', (e) => { const c = cellOf(e); if (c) show(c); });
element.addEventListener('keydown', (e) => {
  const cell = cellOf(e); if (!cell) return;
  const grid = cell.closest('.gd-grid');
  const R = +grid.dataset.rows, C = +grid.dataset.cols;
  let r = +cell.dataset.r, c = +cell.dataset.c;
  if (e.key === 'ArrowUp') r -= 1; else if (e.key === 'ArrowDown') r += 1;
  else if (e.key === 'ArrowLeft') c -= 1; else if (e.key === 'ArrowRight') c += 1;
  else if (e.key === 'Home') c = 0; else if (e.key === 'End') c = C - 1;
  else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); trigger('select', {row: r, col: c}); return; }
  else return;
  e.preventDefault();
  r = Math.max(0, Math.min(R - 1, r)); c = Math.max(0, Math.min(C - 1, c));
  const next = grid.querySelector('[data-r="' + r + '"][data-c="' + c + '"]');
  if (next && next !== cell) { cell.tabIndex = -1; next.tabIndex = 0; next.focus(); }
});
element.addEventListener('click', (e) => {
  const cell = cellOf(e);
  if (cell) { trigger('select', {row: +cell.dataset.r, col: +cell.dataset.c}); return; }
  const button = e.target.closest && e.target.closest('.gd-png'); if (!button) return;
  const fig = button.closest('.gd-fig'), pic = fig.querySelector('.gd-pic'), grid = fig.querySelector('.gd-grid');
  const side = 448, R = +grid.dataset.rows, C = +grid.dataset.cols;
  const canvas = document.createElement('canvas'); canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext('2d'); ctx.drawImage(pic, 0, 0, side, side);
  grid.querySelectorAll('.gd-cell').forEach((d) => {
    ctx.fillStyle = d.style.backgroundColor;
    ctx.fillRect(+d.dataset.c * side / C, +d.dataset.r * side / R, side / C, side / R);
  });
  const a = document.createElement('a'); a.download = (button.dataset.name || 'attention') + '.png';
  a.href = canvas.toDataURL('image/png'); document.body.appendChild(a); a.click(); a.remove();
});
"""

CSS = """
.gd-fig { margin: 0; }
.gd-title { font-weight: 600; margin: 0 0 6px; }
.gd-stage { position: relative; width: min(100%, 420px); aspect-ratio: 1 / 1; }
.gd-small .gd-stage { width: min(100%, 160px); }
.gd-pic { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.gd-grid { position: absolute; inset: 0; display: grid; }
.gd-row { display: contents; }
.gd-cell { min-width: 0; min-height: 0; }
.gd-cell:focus-visible, .gd-cell:focus { outline: 3px solid #ffffff; box-shadow: 0 0 0 5px #000000; z-index: 2; }
.gd-cell[aria-selected="true"] { outline: 3px solid #D55E00; z-index: 1; }
.gd-readout { min-height: 1.4em; font-variant-numeric: tabular-nums; }
.gd-legend { display: flex; align-items: center; gap: 8px; max-width: 420px; }
.gd-ramp { flex: 1; height: 12px; border-radius: 3px; }
.gd-fig figcaption { margin-top: 6px; line-height: 1.4; }
.gd-png { margin-top: 6px; padding: 4px 12px; border: 1px solid currentColor; border-radius: 6px;
          background: transparent; color: inherit; cursor: pointer; }
.gd-png:focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }
.gd-bars table { border-collapse: collapse; width: 100%; }
.gd-bars caption { font-weight: 600; text-align: start; margin-bottom: 4px; }
.gd-bars th, .gd-bars td { padding: 2px 6px; text-align: start; font-weight: normal;
                           font-variant-numeric: tabular-nums; }
.gd-bars tr.gd-marked th { font-weight: 700; }
.gd-barcell { width: 55%; }
.gd-bar { display: block; height: 12px; border-radius: 2px; min-width: 1px; }
.gd-tag { font-size: 0.85em; border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; }
.gd-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.gd-stack { display: flex; height: 18px; border-radius: 3px; overflow: hidden; }
.gd-keys { list-style: none; padding: 0; margin: 6px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
.gd-swatch { display: inline-block; width: 12px; height: 12px; margin-inline-end: 6px; border-radius: 2px;
             vertical-align: middle; }
.gd-strip { display: flex; flex-wrap: wrap; gap: 10px; }
.gd-toggle { box-shadow: inset 0 0 0 1px rgba(255, 255, 255, 0.8); }
.gd-toggle.gd-hidden { box-shadow: inset 0 0 0 2px #D55E00; }
.gd-numbers { border-collapse: collapse; margin-top: 6px; font-variant-numeric: tabular-nums; }
.gd-numbers caption { text-align: start; font-weight: 600; }
.gd-numbers th, .gd-numbers td { padding: 1px 6px; text-align: end; font-weight: normal; }
"""
