"""Whatever a user gives as an image -> an upright RGB-ready PIL image, or an InputError that says why not.

Paths, bytes and file objects go through `open_image`: only the header is read before the pixel
count is checked (a decompression bomb is refused in milliseconds), then the first frame is
decoded and the EXIF orientation applied. Arrays and tensors become PIL images in `as_pil`.
Every format Pillow decodes opens (PSD, SPIDER, icons and DDS included), and HEIC / HEIF phone photos
too when `pillow-heif` is installed (registered once, below); AVIF is Pillow's own (>= 11.3). Whatever
a decoder raises becomes an InputError with a sentence; the unexpected kinds are logged once.
`to_rgb` is the reference processors' RGB step, with one deliberate difference:

- 16-bit / 32-bit / float grey images (`I;16`, `I`, `F`) whose values go above 255 are scaled to
  0..255; the reference clips them, which turns a normal 16-bit PNG white.

EXIF orientation is a deliberate difference too (the reference ignores it): a phone photo taken
upright is seen upright. Only images that carry an EXIF rotation are affected.
"""
from __future__ import annotations

import io
import logging
import os
import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError
from ..lang import say

try:  # HEIC / HEIF, what iPhones and Macs save photos as: pillow-heif adds the format to Pillow, once, here
    from pillow_heif import register_heif_opener
except ImportError:  # an install without it still reads everything else (docs/privacy.md, requirements.txt)
    HEIF = False
else:
    register_heif_opener()
    HEIF = True

PREMULTIPLIED = {"La": "LA", "RGBa": "RGBA"}
MAX_PIXELS = 100_000_000  # refuse files above 100 megapixels before decoding them (decompression bombs)
# What a damaged or fuzzed file makes a Pillow decoder raise; anything else is "unexpected" and logged once.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError)
log = logging.getLogger("gitdemo.io")
_logged: set[tuple[str, str]] = set()  # (format, exception type) already logged: one line each, not one per upload


def open_image(source: Any) -> Image.Image:
    """A decoded, upright PIL image from a path, bytes, a binary file object, or a PIL image.

    Only the header is read before the pixel count is checked, so a 12000 x 12000 "bomb" is refused
    in milliseconds. Animated GIF / WebP / APNG give their first frame, a Photoshop file its merged
    image, an icon its largest picture. Every failure (missing file, not an image, truncated, empty, too
    large, a decoder that cannot handle this variant) is an InputError that says what to do.
    """
    if isinstance(source, Image.Image):
        _check_pixels(source.size)
        return upright(source)
    if isinstance(source, (bytes, bytearray)):
        source, name = io.BytesIO(source), say("The uploaded file")
    elif isinstance(source, (str, os.PathLike)):
        name = f"'{os.path.basename(os.fspath(source))}'"
        if not os.path.isfile(source):
            raise InputError(say("No image file at {path}.", path=os.fspath(source)))
        if os.path.getsize(source) == 0:
            raise InputError(say("{name} is empty (0 bytes); upload the image again.", name=name))
    elif hasattr(source, "read"):
        name = say("The uploaded file")
    else:
        raise InputError(say("Cannot open an image from a {kind}; give a file path or a PIL image.",
                             kind=type(source).__name__))
    fmt = "unknown"
    try:
        with warnings.catch_warnings():  # our own limit below replaces Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                fmt = im.format or "unknown"
                _check_pixels(im.size)
                image = _decode(im, name)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(say("{name} is too large to open safely (over {limit} megapixels).", name=name,
                             limit=MAX_PIXELS // 1_000_000)) from exc
    except UnidentifiedImageError as exc:
        icon = _icon_fallback(source)
        if icon is not None:
            return icon
        raise InputError(say("{name} is not an image this server can read; save it as a JPEG or PNG and upload it "
                             "again.", name=name)) from exc
    except MemoryError as exc:
        raise InputError(say("{name} needs more memory to decode than the server can spare; downscale it and try "
                             "again.", name=name)) from exc
    except DECODE_ERRORS as exc:
        raise InputError(say("{name} could not be decoded ({reason}); the file may be truncated or corrupt: upload "
                             "it again, or save it as a JPEG or PNG.", name=name, reason=reason(exc))) from exc
    except Exception as exc:  # noqa: BLE001 - a decoder plugin's own error (NotImplementedError, struct.error...)
        fmt = fmt if fmt != "unknown" else _plugin_of(exc)
        log_unexpected(fmt, exc)
        raise InputError(say("{name} is a {format} file of a kind this server cannot decode ({reason}); save it as "
                             "a JPEG or PNG and upload it again.", name=name, format=fmt,
                             reason=reason(exc))) from exc
    return upright(image)


def _decode(im: Image.Image, name: str) -> Image.Image:
    """The pixels of an open file, detached from it. Frames are not sought: an opened file already shows
    its first frame, and for some formats frame 0 is no frame (PSD numbers its layers from 1; SPIDER
    single images refuse any seek)."""
    if im.format == "EPS":
        from PIL import EpsImagePlugin

        if not EpsImagePlugin.has_ghostscript():
            raise InputError(say("{name} is a PostScript (EPS) drawing, which needs Ghostscript to draw, and this "
                                 "server does not have it; export it as a PNG and upload that.", name=name))
    im.load()
    return im.copy()  # detached from the file, which is closed on leaving `with`


def _icon_fallback(source) -> Image.Image | None:
    """Pillow opens an icon at its largest size and refuses the whole file when that picture is damaged;
    here the other sizes are tried, largest first. None when `source` is no icon file."""
    from PIL import IcoImagePlugin

    own = isinstance(source, (str, os.PathLike))
    fp = open(source, "rb") if own else source
    try:
        fp.seek(0)
        if fp.read(4) != b"\0\0\1\0":
            return None
        fp.seek(0)
        ico = IcoImagePlugin.IcoFile(fp)
        for size in sorted(ico.sizes(), key=lambda s: (s[0] * s[1], s), reverse=True):
            try:
                im = ico.getimage(size)
                _check_pixels(im.size)
                im.load()
                return im.copy()
            except DECODE_ERRORS:  # this size is damaged: the next one may be whole
                continue
        return None
    except (*DECODE_ERRORS, AttributeError):  # not seekable, or no directory to read
        return None
    finally:
        if own:
            fp.close()


def _plugin_of(exc: BaseException) -> str:
    """The format whose Pillow plugin raised `exc` (from the traceback: PIL/DdsImagePlugin.py -> "DDS")."""
    fmt, tb = "unknown", exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("PIL.") and module.endswith("ImagePlugin"):
            fmt = module[4:-len("ImagePlugin")].upper()
        tb = tb.tb_next
    return fmt


def reason(exc: BaseException) -> str:
    """The decoder's words, short, or the exception's name when it says nothing."""
    text = " ".join(str(exc).split())
    return (text[:160] + "...") if len(text) > 160 else (text or type(exc).__name__)


def log_unexpected(fmt: str, exc: BaseException) -> None:
    """A decoder raised something no damaged file should: say so once per (format, type), without the file
    name (the message itself only at debug level, in case it quotes a path)."""
    key = (fmt, type(exc).__name__)
    if key not in _logged:
        _logged.add(key)
        log.warning("decoder for %s raised %s; the file was refused with a sentence (not logged again)", *key)
    log.debug("decoder error: %r", exc)


def _check_pixels(size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise InputError(say("The image has no pixels ({w} x {h}).", w=w, h=h))
    if w * h > MAX_PIXELS:
        raise InputError(say("The image is {w} x {h} ({mp} megapixels); the limit is {limit}. Downscale it and try "
                             "again.", w=w, h=h, mp=f"{w * h / 1e6:.0f}", limit=MAX_PIXELS // 1_000_000))


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (a no-op, without a copy, for images that have none)."""
    try:
        orientation = image.getexif().get(0x0112, 1)
        return ImageOps.exif_transpose(image) if orientation in range(2, 9) else image
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the image being used
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB the way the reference does it: transparency composited onto white, the rest `convert`."""
    if image.mode in PREMULTIPLIED:  # Pillow converts these only to their plain twin
        image = image.convert(PREMULTIPLIED[image.mode])
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        peak = float(a.max()) if a.size else 0.0
        if peak > 255:  # real 16/32-bit data: scale instead of clipping (see the module docstring)
            a = a * (255.0 / max(peak, 65535.0))
        image = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "L")
    try:
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return image.convert("RGB")
    except ValueError as exc:
        raise InputError(say("Images in colour mode {mode} are not supported; save it as an RGB PNG or JPEG.",
                             mode=image.mode)) from exc


def as_pil(image: Any) -> Image.Image:
    """PIL images pass through; uint8 arrays (H, W), (H, W, C) or (C, H, W) become PIL images.

    (An RGBA *array* is then composited by PIL, which may round 1/255 differently from the
    reference's numpy blend; RGB and grey arrays match it exactly.)"""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise InputError(f"Expected a PIL image or a numpy array, got {type(image).__name__}.")
    a = image
    if a.ndim == 3 and a.shape[-1] not in (1, 3, 4) and a.shape[0] in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # channels first -> last
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise InputError(f"An image array must be (H, W), (H, W, 3|4) or (3|4, H, W); got shape {image.shape}.")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and a.min() >= 0 and a.max() <= 1:
            a = a * 255.0  # floats in [0, 1]
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


__all__ = ["open_image", "upright", "to_rgb", "as_pil", "log_unexpected", "reason", "MAX_PIXELS", "HEIF"]
