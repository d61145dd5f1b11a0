"""Images -> normalised `pixel_values` (B, 3, H, W) float32, and the presets of the two families.

`ImageProcessor` reproduces the reference *slow* (PIL) image processors step for step, so our
pixels match them to float rounding:

    convert to RGB (alpha composited onto white) -> resize (PIL, bicubic) -> centre crop
    -> rescale (x 1/255, in float64, then float32) -> normalise ((x - mean) / std, float32)

Two presets configure it, read from a checkpoint's `preprocessor_config.json`:
- CLIP (every GIT checkpoint): short side to N keeping the aspect ratio, centre crop N x N,
  CLIP's mean/std. `clip_preset(N)` is that file's content; `ImageProcessor()` is N = 224.
- SigLIP (PaliGemma): squash to S x S, no crop, mean = std = 0.5 (`square_image_processor`).

Upright images, odd colour modes and arrays are handled in `gitdemo.io.images` (see there for
the deliberate differences from the reference). One more, for inputs the reference handles badly:
an image whose resized copy would exceed `MAX_RESIZED_PIXELS` (a 1 x 5000 sliver) is refused with
an InputError instead of allocating gigabytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import CheckpointError, InputError
from ..io.images import as_pil, to_rgb, upright

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_MEAN = SIGLIP_STD = (0.5, 0.5, 0.5)
MAX_RESIZED_PIXELS = 40_000_000  # refuse absurd aspect ratios whose resized copy would be huge
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 2048  # what a SigLIP preprocessor config may ask for


def _size_dict(value: Any, default_to_square: bool) -> dict[str, int]:
    """The reference's legacy size spellings -> a dict: an int is the shortest edge for `size`
    (CLIP's default_to_square=False) and a square for `crop_size`; a pair is (height, width)."""
    if isinstance(value, dict):
        return {k: int(v) for k, v in value.items() if v is not None}
    if isinstance(value, int):
        return {"height": value, "width": value} if default_to_square else {"shortest_edge": value}
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"height": int(value[0]), "width": int(value[1])}
    raise CheckpointError(f"Cannot read an image size from {value!r} in preprocessor_config.json.")


@dataclass
class ImageProcessor:
    """PIL images -> normalised (B, 3, H, W) float32, as the reference slow CLIPImageProcessor.

    `size` is {"shortest_edge": N} (keep the aspect ratio, short side N; GIT), optionally with
    "longest_edge", or {"height", "width"} (squash to that size; PaliGemma, with do_center_crop False).
    """

    size: dict = field(default_factory=lambda: {"shortest_edge": 224})
    crop_size: dict = field(default_factory=lambda: {"height": 224, "width": 224})
    resample: int = Image.Resampling.BICUBIC
    do_resize: bool = True
    do_center_crop: bool = True
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    do_normalize: bool = True
    image_mean: tuple = CLIP_MEAN
    image_std: tuple = CLIP_STD
    do_convert_rgb: bool = True
    # VideoMAEImageProcessor (git-base-vatex, git-base-msrvtt-qa): every input is a video, so one image
    # becomes a one-frame clip (B, 1, 3, H, W) and gets frame 0's temporal embedding, as in the reference
    video_input: bool = False

    @classmethod
    def from_dict(cls, cfg: dict) -> "ImageProcessor":
        """From a `preprocessor_config.json` dict; absent keys keep the CLIP defaults."""
        kw = {k: cfg[k] for k in ("resample", "do_resize", "do_center_crop", "do_rescale", "rescale_factor",
                                  "do_normalize", "do_convert_rgb") if cfg.get(k) is not None}
        if cfg.get("size") is not None:
            kw["size"] = _size_dict(cfg["size"], default_to_square=False)
        if cfg.get("crop_size") is not None:
            kw["crop_size"] = _size_dict(cfg["crop_size"], default_to_square=True)
        for key in ("image_mean", "image_std"):
            if cfg.get(key) is not None:
                v = cfg[key]
                kw[key] = tuple(v) if isinstance(v, (list, tuple)) else (float(v),) * 3
        kw["video_input"] = str(cfg.get("image_processor_type") or "").startswith("VideoMAE")
        return cls(**kw)

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(H, W) of every output image, when the config fixes it."""
        if self.do_center_crop:
            return self.crop_size["height"], self.crop_size["width"]
        if self.do_resize and "height" in self.size:
            return self.size["height"], self.size["width"]
        return None

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) after resizing, with the reference's rounding (int() truncates)."""
        s = self.size
        if "shortest_edge" in s and "longest_edge" in s:
            return _short_long_size(height, width, s["shortest_edge"], s["longest_edge"])
        if "shortest_edge" in s:
            short, long = min(height, width), max(height, width)
            new_short, new_long = s["shortest_edge"], int(s["shortest_edge"] * long / short)
            return (new_long, new_short) if width <= height else (new_short, new_long)
        if "height" in s and "width" in s:
            return s["height"], s["width"]
        raise CheckpointError(f"Unsupported image size setting {s}: use shortest_edge or height and width.")

    def process_one(self, image: Any) -> np.ndarray:
        """One image -> (3, H, W) float32 array."""
        image = upright(as_pil(image))
        image = to_rgb(image) if self.do_convert_rgb else image.convert("RGB")
        if self.do_resize:
            h, w = self.resized_size(image.height, image.width)
            if h * w > MAX_RESIZED_PIXELS:
                raise InputError(f"The image ({image.width} x {image.height}) is too long and thin to process; "
                                 f"crop it closer to a normal aspect ratio.")
            image = image.resize((w, h), resample=self.resample)  # PIL sizes are (width, height)
        a = np.asarray(image)  # (H, W, 3) uint8
        if self.do_center_crop:
            a = center_crop(a, self.crop_size["height"], self.crop_size["width"])
        x = a.astype(np.float64) * self.rescale_factor if self.do_rescale else a
        x = x.astype(np.float32)
        if self.do_normalize:
            x = (x - np.asarray(self.image_mean, np.float32)) / np.asarray(self.image_std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))  # (H, W, 3) -> (3, H, W)

    def __call__(self, images: Any) -> torch.Tensor:
        """An image or a list of images (PIL of any mode, or uint8 arrays) -> (B, 3, H, W) float32."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            raise InputError("No image given.")
        arrays = [self.process_one(im) for im in images]
        if len({a.shape for a in arrays}) > 1:
            raise InputError("These images come out at different sizes (the config has no centre crop); "
                             "process them one at a time.")
        return torch.from_numpy(np.stack(arrays))

    def preprocess_frames(self, frames: Sequence[Image.Image]) -> torch.Tensor:
        """Video frames -> (F, 3, H, W); each frame is processed exactly like an image."""
        return self(list(frames))


def _short_long_size(height: int, width: int, size: int, max_size: int) -> tuple[int, int]:
    """The reference's shortest_edge + longest_edge rule (get_size_with_aspect_ratio)."""
    raw = None
    lo, hi = float(min(height, width)), float(max(height, width))
    if hi / lo * size > max_size:
        raw = max_size * lo / hi
        size = int(round(raw))
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    if width < height:
        return int((raw if raw is not None else size) * height / width), size
    return size, int((raw if raw is not None else size) * width / height)


def center_crop(a: np.ndarray, ch: int, cw: int) -> np.ndarray:
    """Crop (H, W, C) to (ch, cw) about the centre; the offset rounds down, as in the reference.
    A side smaller than the crop is padded with zeros (top/left get the extra pixel)."""
    h, w = a.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0:
        return a[top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    pt, pl = -(-(nh - h) // 2), -(-(nw - w) // 2)  # ceil division
    out = np.zeros((nh, nw) + a.shape[2:], a.dtype)
    out[pt:pt + h, pl:pl + w] = a
    top, left = top + pt, left + pl
    return out[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]


# ----------------------------------------------------------------------------- the presets
def clip_preset(image_size: int = 224) -> dict:
    """GIT's preprocessor_config.json (the reference CLIPImageProcessor) for `image_size` pixels:
    short side to N (bicubic), centre crop N x N, CLIP mean/std."""
    n = int(image_size)
    return {"do_resize": True, "size": {"shortest_edge": n}, "resample": int(Image.Resampling.BICUBIC),
            "do_center_crop": True, "crop_size": {"height": n, "width": n}, "do_rescale": True,
            "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": list(CLIP_MEAN),
            "image_std": list(CLIP_STD), "do_convert_rgb": True}


def square_image_processor(preprocessor_config: dict) -> ImageProcessor:
    """SigLIP's slow image processor from preprocessor_config.json: squash to S x S (PIL bicubic),
    rescale, normalise, no crop. Absent keys take SigLIP's defaults (224, mean = std = 0.5)."""
    cfg = dict(preprocessor_config)
    size = cfg.get("size", {"height": 224, "width": 224})
    if isinstance(size, (int, float)):
        size = {"height": int(size), "width": int(size)}
    h, w = (size.get("height"), size.get("width")) if isinstance(size, dict) else (None, None)
    if h is None or h != w:
        raise CheckpointError(f"preprocessor_config.json asks for {size}: PaliGemma needs a square height x width.")
    if not MIN_IMAGE_SIDE <= int(h) <= MAX_IMAGE_SIDE:
        raise CheckpointError(f"preprocessor_config.json asks for {h}x{w} images, outside "
                              f"[{MIN_IMAGE_SIDE}, {MAX_IMAGE_SIDE}].")
    defaults = {"image_mean": list(SIGLIP_MEAN), "image_std": list(SIGLIP_STD),
                "resample": int(Image.Resampling.BICUBIC)}
    cfg = {**defaults, **{k: v for k, v in cfg.items() if v is not None}, "size": {"height": int(h), "width": int(w)},
           "do_center_crop": False}
    return ImageProcessor.from_dict(cfg)


__all__ = ["ImageProcessor", "center_crop", "clip_preset", "square_image_processor", "CLIP_MEAN", "CLIP_STD",
           "SIGLIP_MEAN", "SIGLIP_STD", "MAX_RESIZED_PIXELS"]
