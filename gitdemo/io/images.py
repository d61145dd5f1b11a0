"""Whatever a user gives as an image -> an upright RGB-ready PIL image, or an InputError that says why not.

Paths, bytes and file objects go through `open_image`: only the header is read before the pixel
count is checked (a decompression bomb is refused in milliseconds), then the first frame is
decoded and the EXIF orientation applied. Arrays and tensors become PIL images in `as_pil`.
`to_rgb` is the reference processors' RGB step, with one deliberate difference:

- 16-bit / 32-bit / float grey images (`I;16`, `I`, `F`) whose values go above 255 are scaled to
  0..255; the reference clips them, which turns a normal 16-bit PNG white.

EXIF orientation is a deliberate difference too (the reference ignores it): a phone photo taken
upright is seen upright. Only images that carry an EXIF rotation are affected.
"""
from __future__ import annotations

import io
import os
import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError

MAX_PIXELS = 100_000_000  # refuse files above 100 megapixels before decoding them (decompression bombs)


def open_image(source: Any) -> Image.Image:
    """A decoded, upright PIL image from a path, bytes, a binary file object, or a PIL image.

    Only the header is read before the pixel count is checked, so a 12000 x 12000 "bomb" is refused
    in milliseconds. Animated GIF / WebP / APNG give their first frame. Every failure (missing file,
    not an image, truncated, empty, too large) is an InputError that says what to do.
    """
    if isinstance(source, Image.Image):
        _check_pixels(source.size)
        return upright(source)
    if isinstance(source, (bytes, bytearray)):
        source, name = io.BytesIO(source), "the uploaded data"
    elif isinstance(source, (str, os.PathLike)):
        name = f"'{os.path.basename(os.fspath(source))}'"
        if not os.path.isfile(source):
            raise InputError(f"No image file at {os.fspath(source)}.")
        if os.path.getsize(source) == 0:
            raise InputError(f"{name} is empty (0 bytes); upload the image again.")
    elif hasattr(source, "read"):
        name = "the uploaded file"
    else:
        raise InputError(f"Cannot open an image from a {type(source).__name__}; give a file path or a PIL image.")
    try:
        with warnings.catch_warnings():  # our own limit below replaces Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                _check_pixels(im.size)
                im.seek(0)  # first frame of an animation
                im.load()
                image = im.copy()  # detached from the file, which is closed on leaving `with`
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name} is too large to open safely (over {MAX_PIXELS // 1_000_000} megapixels).") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{name} is not an image Pillow can read; use a JPEG, PNG, GIF or WebP file.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{name} could not be decoded ({exc}); the file may be truncated or corrupt.") from exc
    return upright(image)


def _check_pixels(size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise InputError(f"The image has no pixels ({w} x {h}).")
    if w * h > MAX_PIXELS:
        raise InputError(f"The image is {w} x {h} ({w * h / 1e6:.0f} megapixels); the limit is "
                         f"{MAX_PIXELS // 1_000_000}. Downscale it and try again.")


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (a no-op, without a copy, for images that have none)."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the image being used
        return image
    return ImageOps.exif_transpose(image) if orientation in range(2, 9) else image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB the way the reference does it: transparency composited onto white, the rest `convert`."""
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
        raise InputError(f"Images in colour mode {image.mode} are not supported; "
                         f"save it as an RGB PNG or JPEG.") from exc


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


__all__ = ["open_image", "upright", "to_rgb", "as_pil", "MAX_PIXELS"]
