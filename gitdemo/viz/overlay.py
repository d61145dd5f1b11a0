"""Attention laid over the picture: the model's view of the image, one heatmap, small multiples, frame strips.

Overlays are composed with PIL (a few ms each) rather than matplotlib (~100 ms each): the explorer
redraws a dozen of them on every click, for every user.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image

from ..lang import say
from .figures import OKABE_ITO, Figure, _cmap, _colour_bar, _fmt, _font, _pct, draw_text


def model_view(pixel_values, mean: Sequence[float], std: Sequence[float]) -> Image.Image:
    """(3, H, W) normalised pixels -> the RGB picture the model actually sees (resized, cropped)."""
    x = np.asarray(pixel_values, dtype=np.float32)
    x = x * np.asarray(std, np.float32)[:, None, None] + np.asarray(mean, np.float32)[:, None, None]
    return Image.fromarray(np.clip(np.round(x.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8), "RGB")


def blend(image: Image.Image, grid: np.ndarray, opacity: float = 0.5, cmap: str = "viridis",
          vmin: float | None = None, vmax: float | None = None) -> Image.Image:
    """The heatmap laid over the image: each patch-grid cell coloured by its value, `opacity` in [0, 1].

    Cells are drawn as blocks (nearest-neighbour), because each one *is* one image token.
    """
    grid = np.asarray(grid, dtype=np.float64)
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    norm = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)
    colours = (_cmap(cmap)(np.clip(norm, 0, 1))[..., :3] * 255).astype(np.uint8)
    heat = Image.fromarray(colours, "RGB").resize(image.size, Image.Resampling.NEAREST)
    return Image.blend(image.convert("RGB"), heat, float(np.clip(opacity, 0.0, 1.0)))


def _peak(grid: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(int(np.argmax(grid)), grid.shape)
    return int(r), int(c)

def _panel(image: Image.Image, grid: np.ndarray, side: int, opacity: float, cmap: str, lo, hi) -> Image.Image:
    return blend(image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), grid, opacity, cmap, lo, hi)



# ----------------------------------------------------------------------------- single heatmap
def heatmap(image: Image.Image, grid: np.ndarray, token: str, opacity: float = 0.5, cmap: str = "viridis",
            view: str | None = None, vmin: float | None = None, vmax: float | None = None,
            title: str | None = None, side: int = 336) -> Figure:
    """One token's attention over the patch grid, over the image, with a colour bar."""
    from PIL import ImageDraw

    grid = np.asarray(grid, dtype=np.float64)
    rows, cols = grid.shape
    view = view or say("mean over layers and heads")
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    top, bar_w = 26, 86
    canvas = Image.new("RGB", (side + bar_w + 8, side + top + 6), "white")
    canvas.paste(_panel(image, grid, side, opacity, cmap, lo, hi), (4, top))
    canvas.paste(_colour_bar(14, side, cmap, vertical=True), (side + 14, top))
    d = ImageDraw.Draw(canvas)
    draw_text(canvas, (4, 4), title or say("'{token}' — {view}", token=token, view=view), 13, side + bar_w)
    for frac, value in ((0.0, hi), (0.5, (lo + hi) / 2), (1.0, lo)):
        d.text((side + 32, top + frac * (side - 12)), _fmt(value), fill="black", font=_font(11))
    r, c = _peak(grid)
    caption = say("Where '{token}' looked ({view}): each of the {rows} x {cols} squares is one image patch, "
                  "brighter = more attention; the peak is at row {row}, column {col}.", token=token, view=view,
                  rows=rows, cols=cols, row=r + 1, col=c + 1)
    return Figure(canvas, caption)


# ----------------------------------------------------------------------------- small multiples
def small_multiples(image: Image.Image | Sequence[Image.Image], maps: Sequence[np.ndarray], titles: Sequence[str],
                    what: str, shared_scale: bool = True, opacity: float = 0.6, cmap: str = "viridis",
                    ncols: int | None = None, highlight: int | None = None, side: int = 150) -> Figure:
    """A grid of overlays (one per layer, head, frame, ...) with a shared or per-panel colour scale.

    `image` is one picture for all panels, or one per panel. `what` completes the caption:
    "all 6 layers for 'dog' (mean over heads)".
    """
    from PIL import ImageDraw

    n = len(maps)
    if n == 0:
        raise ValueError("small_multiples needs at least one map")
    images = list(image) if isinstance(image, (list, tuple)) else [image] * n
    ncols = ncols or min(n, 6)
    nrows = math.ceil(n / ncols)
    arrays = [np.asarray(m, dtype=np.float64) for m in maps]
    lo = min(float(a.min()) for a in arrays)
    hi = max(float(a.max()) for a in arrays)
    gap, title_h, foot = 8, 18, 26
    canvas = Image.new("RGB", (ncols * (side + gap) + gap, nrows * (side + title_h + gap) + foot), "white")
    d = ImageDraw.Draw(canvas)
    for i, (a, t) in enumerate(zip(arrays, titles)):
        r, c = divmod(i, ncols)
        x, y = gap + c * (side + gap), r * (side + title_h + gap) + title_h
        vmin, vmax = (lo, hi) if shared_scale else (None, None)
        canvas.paste(_panel(images[i], a, side, opacity, cmap, vmin, vmax), (x, y))
        bold = i == highlight
        draw_text(canvas, (x, y - title_h + 2), ("▶ " if bold else "") + t, 12, side)
        if bold:
            d.rectangle((x - 3, y - 3, x + side + 2, y + side + 2), outline=OKABE_ITO["vermillion"], width=3)
    y = canvas.height - foot + 6
    canvas.paste(_colour_bar(120, 10, cmap, vertical=False), (gap + 40, y + 3))
    label = say("{lo} … {hi} (shared)", lo=_fmt(lo), hi=_fmt(hi)) if shared_scale else \
        say("each panel: its own min … max")
    draw_text(canvas, (gap, y), say("low"), 11, 38)
    draw_text(canvas, (gap + 166, y), say("high") + "   " + label, 11, max(40, canvas.width - gap - 166),
              align_right=False)
    scale = say("one colour scale for all panels, so brightness compares across them") if shared_scale else \
        say("each panel scaled to its own range, so it shows its pattern, not its strength")
    if what:
        return Figure(canvas, say("{what}; {scale}.", what=what[:1].upper() + what[1:], scale=scale))
    return Figure(canvas, say("{scale}.", scale=scale[:1].upper() + scale[1:]))


# ----------------------------------------------------------------------------- frames
def frame_strip(frames: Sequence[Image.Image], maps: np.ndarray, split: Sequence[float], token: str,
                opacity: float = 0.6, cmap: str = "viridis", frame_labels: Sequence[str] | None = None,
                side: int = 140) -> Figure:
    """A video's sampled frames, each with the token's heatmap (one colour scale), and a bar under each
    frame for the share of the token's patch attention that the frame gets."""
    from PIL import ImageDraw

    maps = np.asarray(maps, dtype=np.float64)  # (F, rows, cols)
    f = len(frames)
    lo, hi = float(maps.min()), float(maps.max())
    labels = list(frame_labels) if frame_labels else [say("frame {n}", n=i + 1) for i in range(f)]
    split = np.asarray(split, dtype=np.float64)
    gap, title_h, bar_h = 8, 18, 70
    canvas = Image.new("RGB", (f * (side + gap) + gap, title_h + side + bar_h + 34), "white")
    d = ImageDraw.Draw(canvas)
    peak = max(1e-12, float(split.max()))
    base = title_h + side + bar_h + 14
    for i in range(f):
        x = gap + i * (side + gap)
        canvas.paste(_panel(frames[i], maps[i], side, opacity, cmap, lo, hi), (x, title_h))
        draw_text(canvas, (x, 2), labels[i], 12, side)
        h = int(round((bar_h - 16) * split[i] / peak))
        bx = x + side // 2 - 18
        d.rectangle((bx, base - h, bx + 36, base), fill=OKABE_ITO["blue"])
        d.text((bx, base - h - 15), _pct(split[i]), fill="black", font=_font(11))
    d.line((gap, base, canvas.width - gap, base), fill="black", width=1)
    draw_text(canvas, (gap, base + 4), say("share of the token's attention on the image, per frame"), 11,
              canvas.width - 2 * gap)
    best = int(np.argmax(split))
    caption = say("The {n} frames the model read, each with where '{token}' looked (one colour scale); the bars "
                  "split its attention on the image across frames: most on {frame} ({share}).", n=f, token=token,
                  frame=labels[best], share=_pct(split[best]))
    return Figure(canvas, caption)

