"""The `Figure` type (image + caption) and the drawing helpers every figure module shares.

Every function returns a `Figure`: a PIL image (saved as PNG for download) and a one-line
caption that says what the figure shows, in words a student can follow. Inputs are plain
arrays (maps over the patch grid from `gitdemo.explain`, a boolean mask, PIL images); nothing
here runs a model.

Drawing uses matplotlib's object API (`matplotlib.figure.Figure` + the Agg canvas), never
`pyplot`: pyplot keeps global state, and the app draws for several users at once.
Colour maps are perceptually uniform and colour-blind safe (viridis, cividis, magma, inferno).

Text in figures follows the user's language (`gitdemo.lang.say`). Chinese needs a CJK font: the first one
of `CJK_FONTS` on the machine (Debian's fonts-wqy-microhei) is added to matplotlib's fallback list and used
by PIL for text with Chinese characters; without one, Chinese shows as boxes and nothing fails. Arabic is
shaped and laid out right to left by matplotlib itself (its bundled libraqm, matplotlib >= 3.11) in DejaVu
Sans, and by Pillow's raqm layout when Pillow has it, else by matplotlib's font renderer (`_text_image`).
"""
from __future__ import annotations

import io
import re
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
    image: Image.Image | None  # None for a figure the browser draws (`html`)
    caption: str
    html: str = ""  # the figure as HTML (viz.html), drawn by the browser

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

    _matplotlib_fonts()
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
_FONTS: dict[tuple[int, bool], object] = {}
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", "/System/Library/Fonts/PingFang.ttc")
_ARABIC = re.compile("[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_CJK = re.compile("[\u3000-\u303F\u3400-\u4DBF\u4E00-\u9FFF\uFF00-\uFFEF]")
_mpl_ready = False


def cjk_font() -> str | None:
    """The path of a CJK font on this machine, or None."""
    return next((p for p in CJK_FONTS if Path(p).is_file()), None)


def _matplotlib_fonts() -> None:
    """Once: DejaVu Sans first (Latin, Greek, Arabic), then the CJK font if there is one, per glyph."""
    global _mpl_ready
    if _mpl_ready:
        return
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font()
    if path:
        try:
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            # a list of named families is what matplotlib falls back along, glyph by glyph ("sans-serif" is one)
            matplotlib.rcParams["font.family"] = ["DejaVu Sans", name]
        except (OSError, RuntimeError, ValueError):  # an unreadable font: Chinese shows as boxes
            pass
    _mpl_ready = True


def _dejavu() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _font(size: int, text: str = ""):
    """DejaVu Sans at `size` px, or the CJK font when `text` has Chinese characters (and one is installed)."""
    from PIL import ImageFont

    cjk = bool(_CJK.search(text)) and cjk_font() is not None
    if (size, cjk) not in _FONTS:
        try:
            _FONTS[size, cjk] = ImageFont.truetype(cjk_font() if cjk else _dejavu(), size)
        except (ImportError, OSError):
            _FONTS[size, cjk] = ImageFont.load_default(size)
    return _FONTS[size, cjk]


def _fit_text(text: str, size: int, width: int) -> str:
    font = _font(size, text)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _raqm() -> bool:
    from PIL import features

    return bool(features.check("raqm"))


def _text_image(text: str, size: int, fill) -> Image.Image:
    """`text` shaped and ordered by matplotlib's renderer (libraqm), as an RGBA image: for Arabic when Pillow
    has no raqm layout."""
    from matplotlib.ft2font import FT2Font, LoadFlags

    font = FT2Font(_dejavu())
    font.set_size(size * 0.75, 96)  # px -> pt at 96 dpi
    font.set_text(text, 0.0, flags=LoadFlags.NO_HINTING)
    font.draw_glyphs_to_bitmap(antialiased=True)
    alpha = Image.fromarray(np.asarray(font.get_image(), dtype=np.uint8), "L")
    out = Image.new("RGBA", alpha.size, fill)
    out.putalpha(alpha)
    return out


def draw_text(canvas: Image.Image, xy: tuple[float, float], text: str, size: int, width: int,
              fill="black", align_right: bool = True) -> None:
    """Write `text` at `xy` (top left) on `canvas`, cut to `width` px. Arabic is laid out right to left, and
    right-aligned in that width unless `align_right` is False; Chinese uses the CJK font."""
    from PIL import ImageDraw

    text = _fit_text(text, size, width)
    x, y = xy
    if not _ARABIC.search(text):
        ImageDraw.Draw(canvas).text((x, y), text, fill=fill, font=_font(size, text))
    elif _raqm():
        right = x + (width if align_right else _font(size).getlength(text, direction="rtl"))
        ImageDraw.Draw(canvas).text((right, y), text, fill=fill, font=_font(size), anchor="ra", direction="rtl")
    else:
        strip = _text_image(text, size, fill)
        canvas.paste(strip, (int(x + (max(0, width - strip.width) if align_right else 0)), int(y)), strip)


def _colour_bar(width: int, height: int, cmap: str, vertical: bool) -> Image.Image:
    ramp = np.linspace(1, 0, height)[:, None] if vertical else np.linspace(0, 1, width)[None, :]
    colours = (_cmap(cmap)(ramp)[..., :3] * 255).astype(np.uint8)
    return Image.fromarray(colours, "RGB").resize((width, height), Image.Resampling.NEAREST)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


