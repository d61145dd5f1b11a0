"""The `Figure` type (image + caption) and the drawing helpers every figure module shares.

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
from dataclasses import dataclass
from pathlib import Path

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


def _colour_bar(width: int, height: int, cmap: str, vertical: bool) -> Image.Image:
    ramp = np.linspace(1, 0, height)[:, None] if vertical else np.linspace(0, 1, width)[None, :]
    colours = (_cmap(cmap)(ramp)[..., :3] * 255).astype(np.uint8)
    return Image.fromarray(colours, "RGB").resize((width, height), Image.Resampling.NEAREST)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


