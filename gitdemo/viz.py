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


# ----------------------------------------------------------------------------- single heatmap
def heatmap(image: Image.Image, grid: np.ndarray, token: str, opacity: float = 0.5, cmap: str = "viridis",
            view: str = "mean over layers and heads", vmin: float | None = None, vmax: float | None = None,
            title: str | None = None) -> Figure:
    """One token's attention over the patch grid, over the image, with a colour bar."""
    grid = np.asarray(grid, dtype=np.float64)
    rows, cols = grid.shape
    lo = float(grid.min()) if vmin is None else vmin
    hi = float(grid.max()) if vmax is None else vmax
    fig = _new_figure(4.6, 4.0)
    ax = fig.add_axes((0.02, 0.04, 0.78, 0.86))
    ax.imshow(blend(image, grid, opacity, cmap, lo, hi))
    ax.set_axis_off()
    ax.set_title(title or f"'{_short(token, 20)}' — {view}", fontsize=9)
    cax = fig.add_axes((0.84, 0.12, 0.04, 0.7))
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig.colorbar(ScalarMappable(Normalize(lo, hi if hi > lo else lo + 1e-9), _cmap(cmap)), cax=cax)
    cax.tick_params(labelsize=7)
    r, c = _peak(grid)
    caption = (f"Where '{token}' looked ({view}): each of the {rows} x {cols} squares is one image patch, "
               f"brighter = more attention; the peak is at row {r + 1}, column {c + 1}.")
    return Figure(_render(fig), caption)


# ----------------------------------------------------------------------------- small multiples
def small_multiples(image: Image.Image, maps: Sequence[np.ndarray], titles: Sequence[str], what: str,
                    shared_scale: bool = True, opacity: float = 0.6, cmap: str = "viridis", ncols: int | None = None,
                    highlight: int | None = None) -> Figure:
    """A grid of overlays (one per layer, head, frame, ...) with a shared or per-panel colour scale.

    `what` completes the caption: "all 6 layers for 'dog' (mean over heads)".
    """
    n = len(maps)
    if n == 0:
        raise ValueError("small_multiples needs at least one map")
    ncols = ncols or min(n, 6)
    nrows = math.ceil(n / ncols)
    arrays = [np.asarray(m, dtype=np.float64) for m in maps]
    lo = min(float(a.min()) for a in arrays)
    hi = max(float(a.max()) for a in arrays)
    panel = 1.7
    fig = _new_figure(panel * ncols, panel * nrows + 0.35)
    for i, (a, t) in enumerate(zip(arrays, titles)):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        vmin, vmax = (lo, hi) if shared_scale else (None, None)
        ax.imshow(blend(image, a, opacity, cmap, vmin, vmax))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(t, fontsize=8, fontweight="bold" if i == highlight else "normal")
        if i == highlight:
            for s in ax.spines.values():
                s.set_edgecolor(OKABE_ITO["vermillion"])
                s.set_linewidth(2.5)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.3 / (panel * nrows + 0.35), bottom=0.01,
                        wspace=0.05, hspace=0.25)
    scale = ("one colour scale for all panels, so brightness compares across them" if shared_scale else
             "each panel scaled to its own range, so it shows its pattern, not its strength")
    return Figure(_render(fig), f"{what[:1].upper() + what[1:]}; {scale}.")


# ----------------------------------------------------------------------------- frames
def frame_strip(frames: Sequence[Image.Image], maps: np.ndarray, split: Sequence[float], token: str,
                opacity: float = 0.6, cmap: str = "viridis", frame_labels: Sequence[str] | None = None) -> Figure:
    """A video's sampled frames, each with the token's heatmap (one colour scale), and a bar of the
    share of the token's patch attention that each frame gets."""
    maps = np.asarray(maps, dtype=np.float64)  # (F, rows, cols)
    f = len(frames)
    lo, hi = float(maps.min()), float(maps.max())
    fig = _new_figure(1.7 * f, 3.3)
    labels = list(frame_labels) if frame_labels else [f"frame {i + 1}" for i in range(f)]
    for i in range(f):
        ax = fig.add_axes((i / f + 0.005, 0.42, 1 / f - 0.01, 0.52))
        ax.imshow(blend(frames[i], maps[i], opacity, cmap, lo, hi))
        ax.set_axis_off()
        ax.set_title(labels[i], fontsize=8)
    bx = fig.add_axes((0.06, 0.1, 0.9, 0.22))
    split = np.asarray(split, dtype=np.float64)
    bx.bar(np.arange(f), split, color=OKABE_ITO["blue"], width=0.6)
    bx.set_xticks(np.arange(f), labels, fontsize=7)
    bx.set_ylim(0, max(1e-9, float(split.max())) * 1.25)
    bx.set_ylabel("share", fontsize=7)
    bx.tick_params(labelsize=7)
    for i, v in enumerate(split):
        bx.text(i, v, _pct(v), ha="center", va="bottom", fontsize=7)
    best = int(np.argmax(split))
    caption = (f"The {f} frames the model read, each with where '{token}' looked (one colour scale); the bars "
               f"split its attention on the image across frames: most on {labels[best]} ({_pct(split[best])}).")
    return Figure(_render(fig), caption)


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


def block_kind(block: np.ndarray) -> str:
    """'all', 'none', 'causal' (lower triangle incl. diagonal), 'past' (strictly earlier) or 'partial'."""
    block = np.asarray(block, dtype=bool)
    if block.size == 0:
        return "none"
    if block.all():
        return "all"
    if not block.any():
        return "none"
    q, k = block.shape
    if q == k and np.array_equal(block, np.tril(np.ones((q, k), bool))):
        return "causal"
    # the queries of a later segment against an earlier one that grew: every key before the query
    tri = np.tril(np.ones((q, k), bool), k - q)
    if np.array_equal(block, tri):
        return "past"
    return "partial"


_WHY = {
    ("image", "image", "all"): "every image token sees every image token: the picture is read as a whole, in both "
                               "directions",
    ("image", "text", "none"): "image tokens never see the text, so the image's encoding does not depend on the "
                               "words and is computed once and cached",
    ("text", "image", "all"): "every text token sees the whole image",
    ("text", "text", "causal"): "text is causal: each token sees itself and the tokens before it, never the future, "
                                "which is what lets the model write one token at a time",
    ("text", "text", "all"): "these text tokens see each other in both directions (a prefix read as a whole)",
    ("text", "text", "past"): "each token here sees every earlier token, never a later one",
    ("text", "text", "none"): "these tokens cannot see those: they come later in the sequence",
}


def describe_blocks(mask: np.ndarray, segments: Sequence[Segment]) -> list[str]:
    """One sentence per (query segment, key segment) pair, read off the mask itself."""
    sentences = []
    kinds = {s.name: ("image" if s.labels is None else "text") for s in segments}
    for qs in segments:
        for ks in segments:
            kind = block_kind(mask[qs.start:qs.end, ks.start:ks.end])
            base = {"all": "sees all of", "none": "sees none of", "causal": "sees, causally (itself and earlier),",
                    "past": "sees the earlier positions of", "partial": "sees part of"}[kind]
            why = _WHY.get((kinds[qs.name], kinds[ks.name], kind))
            sentences.append(f"{qs.name} {base} {ks.name}" + (f": {why}." if why else "."))
    return sentences


def mask_diagram(mask: np.ndarray, segments: Sequence[Segment], title: str = "Attention mask",
                 max_image_cells: int = 24) -> tuple[Figure, list[str]]:
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
    ax = fig.add_axes((0.2, 0.04, 0.76, 0.76))
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
    caption = (f"The mask the model used for this input: {s} positions ({', '.join(f'{g.name} {g.size}' for g in segments)}); "
               f"{visible} of {s * s} query-key pairs may attend.")
    return Figure(_render(fig), caption), sentences


__all__ = ["Figure", "Segment", "CMAPS", "model_view", "blend", "heatmap", "small_multiples", "frame_strip",
           "topk_bar", "share_bar", "mask_diagram", "describe_blocks", "block_kind"]
