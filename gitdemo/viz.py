"""Figures for the app: attention over the image, small multiples, the mask diagram, frame strips, bars.

Every function returns a `Figure`: a PIL image (saved as PNG for download) and a one-line
caption that says what the figure shows, in words a student can follow. Inputs are plain
arrays (maps over the patch grid from `gitdemo.explain`, a boolean mask, PIL images); nothing
here runs a model.

Drawing uses matplotlib's object API (`matplotlib.figure.Figure` + the Agg canvas), never
`pyplot`: pyplot keeps global state, and the app draws for several users at once.
Colour maps are perceptually uniform and colour-blind safe (viridis, cividis, magma, inferno).
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

CMAPS = ("viridis", "cividis", "magma", "inferno")  # perceptually uniform, readable with colour-blindness
DPI = 100
# Okabe-Ito colours (safe for every common colour-vision deficiency) for bars and block outlines
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
             "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "grey": "#999999"}


@dataclass
class Figure:
    image: Image.Image
    caption: str

    def png_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG")
        return buf.getvalue()

    def save(self, path) -> None:
        self.image.save(path, format="PNG")


# ----------------------------------------------------------------------------- helpers
def _new_figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _render(fig) -> Image.Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _cmap(name: str):
    import matplotlib

    if name not in CMAPS:
        raise ValueError(f"Unknown colour map '{name}'; use one of {', '.join(CMAPS)}.")
    return matplotlib.colormaps[name]


def _short(token: str, n: int = 14) -> str:
    return token if len(token) <= n else token[: n - 1] + "…"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


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


# Overlays are composed with PIL (a few ms each) rather than matplotlib (~100 ms each): the explorer
# redraws a dozen of them on every click, for every user.
_FONTS: dict[int, object] = {}


def _font(size: int):
    from PIL import ImageFont

    if size not in _FONTS:
        try:
            import matplotlib

            path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
            _FONTS[size] = ImageFont.truetype(str(path), size)
        except (ImportError, OSError):
            _FONTS[size] = ImageFont.load_default(size)
    return _FONTS[size]


def _fit_text(text: str, size: int, width: int) -> str:
    font = _font(size)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _panel(image: Image.Image, grid: np.ndarray, side: int, opacity: float, cmap: str, lo, hi) -> Image.Image:
    return blend(image.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), grid, opacity, cmap, lo, hi)


def _colour_bar(width: int, height: int, cmap: str, vertical: bool) -> Image.Image:
    ramp = np.linspace(1, 0, height)[:, None] if vertical else np.linspace(0, 1, width)[None, :]
    colours = (_cmap(cmap)(ramp)[..., :3] * 255).astype(np.uint8)
    return Image.fromarray(colours, "RGB").resize((width, height), Image.Resampling.NEAREST)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# ----------------------------------------------------------------------------- single heatmap
def heatmap(image: Image.Image, grid: np.ndarray, token: str, opacity: float = 0.5, cmap: str = "viridis",
            view: str = "mean over layers and heads", vmin: float | None = None, vmax: float | None = None,
            title: str | None = None, side: int = 336) -> Figure:
    """One token's attention over the patch grid, over the image, with a colour bar."""
    from PIL import ImageDraw

    grid = np.asarray(grid, dtype=np.float64)
    rows, cols = grid.shape
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    top, bar_w = 26, 86
    canvas = Image.new("RGB", (side + bar_w + 8, side + top + 6), "white")
    canvas.paste(_panel(image, grid, side, opacity, cmap, lo, hi), (4, top))
    canvas.paste(_colour_bar(14, side, cmap, vertical=True), (side + 14, top))
    d = ImageDraw.Draw(canvas)
    d.text((4, 4), _fit_text(title or f"'{token}' — {view}", 13, side + bar_w), fill="black", font=_font(13))
    for frac, value in ((0.0, hi), (0.5, (lo + hi) / 2), (1.0, lo)):
        d.text((side + 32, top + frac * (side - 12)), _fmt(value), fill="black", font=_font(11))
    r, c = _peak(grid)
    caption = (f"Where '{token}' looked ({view}): each of the {rows} x {cols} squares is one image patch, "
               f"brighter = more attention; the peak is at row {r + 1}, column {c + 1}.")
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
        d.text((x, y - title_h + 2), _fit_text(("▶ " if bold else "") + t, 12, side), fill="black", font=_font(12))
        if bold:
            d.rectangle((x - 3, y - 3, x + side + 2, y + side + 2), outline=OKABE_ITO["vermillion"], width=3)
    y = canvas.height - foot + 6
    canvas.paste(_colour_bar(120, 10, cmap, vertical=False), (gap + 40, y + 3))
    label = f"{_fmt(lo)} … {_fmt(hi)} (shared)" if shared_scale else "each panel: its own min … max"
    d.text((gap, y), "low", fill="black", font=_font(11))
    d.text((gap + 166, y), "high   " + label, fill="black", font=_font(11))
    scale = ("one colour scale for all panels, so brightness compares across them" if shared_scale else
             "each panel scaled to its own range, so it shows its pattern, not its strength")
    return Figure(canvas, f"{what[:1].upper() + what[1:]}; {scale}." if what else f"{scale[:1].upper() + scale[1:]}.")


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
    labels = list(frame_labels) if frame_labels else [f"frame {i + 1}" for i in range(f)]
    split = np.asarray(split, dtype=np.float64)
    gap, title_h, bar_h = 8, 18, 70
    canvas = Image.new("RGB", (f * (side + gap) + gap, title_h + side + bar_h + 34), "white")
    d = ImageDraw.Draw(canvas)
    peak = max(1e-12, float(split.max()))
    base = title_h + side + bar_h + 14
    for i in range(f):
        x = gap + i * (side + gap)
        canvas.paste(_panel(frames[i], maps[i], side, opacity, cmap, lo, hi), (x, title_h))
        d.text((x, 2), _fit_text(labels[i], 12, side), fill="black", font=_font(12))
        h = int(round((bar_h - 16) * split[i] / peak))
        bx = x + side // 2 - 18
        d.rectangle((bx, base - h, bx + 36, base), fill=OKABE_ITO["blue"])
        d.text((bx, base - h - 15), _pct(split[i]), fill="black", font=_font(11))
    d.line((gap, base, canvas.width - gap, base), fill="black", width=1)
    d.text((gap, base + 4), "share of the token's attention on the image, per frame", fill="black", font=_font(11))
    best = int(np.argmax(split))
    caption = (f"The {f} frames the model read, each with where '{token}' looked (one colour scale); the bars "
               f"split its attention on the image across frames: most on {labels[best]} ({_pct(split[best])}).")
    return Figure(canvas, caption)


# ----------------------------------------------------------------------------- bars
def topk_bar(top: Sequence[tuple[str, float]], chosen: str, step: int) -> Figure:
    """The model's most likely next tokens at one step, the chosen one highlighted."""
    top = list(top)[::-1]
    fig = _new_figure(4.2, 0.5 + 0.32 * max(1, len(top)))
    ax = fig.add_axes((0.3, 0.12, 0.62, 0.78))
    names = [_short(t) for t, _ in top]
    probs = [p for _, p in top]
    colours = [OKABE_ITO["vermillion"] if t == chosen else OKABE_ITO["sky"] for t, _ in top]
    ax.barh(np.arange(len(top)), probs, color=colours)
    ax.set_yticks(np.arange(len(top)), names, fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.tick_params(labelsize=7)
    for i, p in enumerate(probs):
        ax.text(p + 0.01, i, f"{p:.2f}", va="center", fontsize=7)
    ax.set_title(f"Step {step + 1}: next-token probabilities", fontsize=9)
    p_chosen = next((p for t, p in top if t == chosen), None)
    how = f"it chose '{chosen}' (p = {p_chosen:.2f})" if p_chosen is not None else \
        f"it chose '{chosen}', which is not among them (sampling)"
    caption = f"Step {step + 1}: the {len(top)} tokens the model found most likely to come next; {how}."
    return Figure(_render(fig), caption)


def share_bar(share: dict[str, float], token: str) -> Figure:
    """One stacked bar: the token's attention on image patches, on the CLS sink(s), and on text."""
    parts = [("image patches", share.get("image", 0.0), OKABE_ITO["blue"]),
             ("CLS sink", share.get("cls", 0.0), OKABE_ITO["grey"]),
             ("text", share.get("text", 0.0), OKABE_ITO["orange"])]
    fig = _new_figure(4.6, 1.25)
    ax = fig.add_axes((0.03, 0.42, 0.94, 0.32))
    left = 0.0
    for name, v, colour in parts:
        ax.barh([0], [v], left=left, color=colour, label=name)
        if v >= 0.08:
            ax.text(left + v / 2, 0, _pct(v), ha="center", va="center", fontsize=8, color="white")
        left += v
    ax.set_xlim(0, 1)
    ax.set_axis_off()
    ax.set_title(f"Where '{_short(token, 20)}' put its attention", fontsize=9)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, fontsize=7, frameon=False)
    caption = (f"'{token}' puts {_pct(parts[0][1])} of its attention on image patches, {_pct(parts[1][1])} on "
               f"the CLS token(s) (a 'sink' that soaks up attention) and {_pct(parts[2][1])} on the text "
               f"(mean over layers and heads).")
    return Figure(_render(fig), caption)


# ----------------------------------------------------------------------------- the attention mask
@dataclass
class Segment:
    """A run of positions in the sequence: the image block (or one frame of it), the prompt, the output."""

    name: str
    start: int
    end: int  # exclusive
    labels: list[str] | None = None  # per-position labels (text tokens); None for image tokens

    @property
    def size(self) -> int:
        return self.end - self.start


def block_kind(block: np.ndarray, same: bool = False) -> str:
    """'all', 'none', 'causal' (a segment against itself: lower triangle with the diagonal) or 'partial'."""
    block = np.asarray(block, dtype=bool)
    if block.size == 0 or not block.any():
        return "none"
    q, k = block.shape
    if same and q == k and np.array_equal(block, np.tril(np.ones((q, k), bool))) and (q > 1 or not block.all()):
        return "causal"
    if same and q == k == 1:
        return "causal"
    if block.all():
        return "all"
    return "partial"


def _why(q: Segment, k: Segment, kind: str, order: int) -> str:
    """Why a block looks the way it does (order: key segment before (-1), same (0) or after (1) the query's)."""
    q_img, k_img = q.labels is None, k.labels is None
    if order == 0 and q_img and kind == "all":
        return "every image token sees every other one, in both directions: the picture is read as a whole"
    if order == 0 and kind == "causal":
        return ("each token sees itself and the tokens before it, never a later one, which is what lets "
                "the model write one token at a time")
    if order == 0 and kind == "all":
        return "these tokens see each other in both directions (read as a whole, like a prefix)"
    if q_img and not k_img and kind == "none":
        return ("the image never sees the text, so its encoding does not depend on the words: it is computed "
                "once and its keys and values are cached for every generated token")
    if k_img and kind == "all":
        return f"every {q.name} token sees the whole {k.name.split(' ')[0]}"
    if order < 0 and kind == "all":
        return f"every {q.name} token sees all of the earlier {k.name}"
    if order > 0 and kind == "none":
        return f"no {q.name} token sees the later {k.name}: the future stays hidden"
    return ""


_VERDICT = {"all": "all visible", "none": "all masked", "causal": "causal", "partial": "partly visible"}


def describe_blocks(mask: np.ndarray, segments: Sequence[Segment]) -> list[str]:
    """One sentence per (query segment, key segment) pair, read off the mask itself."""
    sentences = []
    for a, qs in enumerate(segments):
        for b, ks in enumerate(segments):
            kind = block_kind(mask[qs.start:qs.end, ks.start:ks.end], same=a == b)
            why = _why(qs, ks, kind, (b > a) - (b < a))
            sentences.append(f"{qs.name} → {ks.name}: {_VERDICT[kind]}" + (f" — {why}." if why else "."))
    return sentences


def mask_diagram(mask: np.ndarray, segments: Sequence[Segment], title: str = "Attention mask",
                 max_image_cells: int = 8) -> tuple[Figure, list[str]]:
    """Draw a (S, S) boolean mask (rows: queries, columns: keys) with labelled blocks.

    Image segments longer than `max_image_cells` are drawn compressed (each cell the share of
    visible entries among the positions it stands for: exact wherever a block is uniform, which
    is the case for every image block the models build); text tokens get one cell each and
    their own labels. Returns the figure and the per-block sentences.
    """
    mask = np.asarray(mask, dtype=bool)
    s = mask.shape[0]
    if mask.shape != (s, s) or not segments or segments[-1].end != s:
        raise ValueError(f"mask {mask.shape} and segments ending at {segments[-1].end if segments else None} disagree")
    # display cells: groups of positions
    groups: list[tuple[int, int]] = []
    for seg in segments:
        if seg.labels is None and seg.size > max_image_cells:
            edges = np.linspace(seg.start, seg.end, max_image_cells + 1).round().astype(int)
            groups += [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
        else:
            groups += [(i, i + 1) for i in range(seg.start, seg.end)]
    cells = np.array([[mask[a:b, c:d].mean() for c, d in groups] for a, b in groups])
    n = len(groups)
    side = min(9.0, max(4.5, 0.22 * n + 2.2))
    fig = _new_figure(side, side)
    ax = fig.add_axes((0.2, 0.04, 0.68, 0.76))
    ax.imshow(cells, cmap=_cmap("cividis"), vmin=0, vmax=1, interpolation="nearest")
    # block outlines and labels
    starts = {}
    idx = 0
    for seg in segments:
        k = sum(1 for a, _ in groups if seg.start <= a < seg.end)
        starts[seg.name] = (idx, idx + k)
        idx += k
    for seg in segments:
        a, b = starts[seg.name]
        ax.axhline(a - 0.5, color=OKABE_ITO["orange"], lw=1.5)
        ax.axvline(a - 0.5, color=OKABE_ITO["orange"], lw=1.5)
        ax.text(n - 0.5 + 0.02 * n, (a + b - 1) / 2, seg.name, va="center", ha="left", fontsize=9,
                color=OKABE_ITO["vermillion"], fontweight="bold", clip_on=False)
    ticks, labels = [], []
    for seg in segments:
        a, b = starts[seg.name]
        if seg.labels is None:
            ticks.append((a + b - 1) / 2)
            labels.append(f"{seg.name}\n({seg.size} tokens)")
        else:
            ticks += list(range(a, b))
            labels += [_short(t, 10) for t in seg.labels]
    fs = 8 if n <= 40 else 6
    ax.set_xticks(ticks, labels, rotation=90, fontsize=fs)
    ax.set_yticks(ticks, labels, fontsize=fs)
    ax.xaxis.tick_top()
    ax.set_xlabel("keys (what is looked at)", fontsize=8)
    ax.set_ylabel("queries (who looks)", fontsize=8)
    ax.xaxis.set_label_position("top")
    fig.text(0.02, 0.99, title + "  (light = may attend, dark = masked)", fontsize=9, va="top")
    sentences = describe_blocks(mask, segments)
    visible = int(mask.sum())
    parts = ", ".join(f"{g.name} {g.size}" for g in segments)
    caption = (f"The mask the model used for this input: {s} positions ({parts}); "
               f"{visible} of {s * s} query-key pairs may attend.")
    return Figure(_render(fig), caption), sentences


__all__ = ["Figure", "Segment", "CMAPS", "model_view", "blend", "heatmap", "small_multiples", "frame_strip",
           "topk_bar", "share_bar", "mask_diagram", "describe_blocks", "block_kind"]
