"""What the trainers feed the vision tower: the app's preprocessing, batched, and the augmentation
that makes the models robust to other renderers and codecs."""
from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image, ImageFilter

from ..processing import CLIP_MEAN, CLIP_STD
from ..shapes import N_FRAMES as CLIP_FRAMES

FRAMES = 6  # frames per clip the GIT model reads (num_image_with_embedding)


def frame_indices(total: int = CLIP_FRAMES, num: int = FRAMES) -> list[int]:
    """The app's rule for picking `num` frames of a `total`-frame clip (gitdemo.video.read_frames)."""
    try:
        from ..io.video import frame_indices as app_rule
        return [int(i) for i in app_rule(total, num)]
    except Exception:  # noqa: BLE001 - fall back to segment centres
        return [int((i + 0.5) * total / num) for i in range(num)]


def resize_like_processor(img: Image.Image, size: int) -> Image.Image:
    """CLIPImageProcessor: shortest edge -> size (bicubic), then centre crop size x size."""
    w, h = img.size
    if (w, h) != (size, size):
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(size * long / short)
        new = (size, new_long) if w <= h else (new_long, size)
        img = img.resize(new, Image.BICUBIC)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    return img


_MEAN = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
_STD = torch.tensor(CLIP_STD, dtype=torch.float32).view(1, 3, 1, 1)


def normalise_uint8(arr: torch.Tensor, mean=_MEAN, std=_STD) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) normalised float32 (rescale then normalise, in float32).
    CLIP's mean/std by default (GIT); SigLIP (PaliGemma) passes 0.5 and 0.5."""
    # the processor rescales in float64 and casts, then normalises in float32: same here, bit for bit
    x = (arr.permute(0, 3, 1, 2).to(torch.float64) * (1 / 255)).to(torch.float32)
    return (x - mean) / std


def pixels(images: list[Image.Image], size: int) -> torch.Tensor:
    """(B, 3, size, size) float32 exactly like the processor: resize/crop, /255, CLIP mean/std."""
    arr = np.stack([np.asarray(resize_like_processor(im.convert("RGB"), size), dtype=np.uint8) for im in images])
    return normalise_uint8(torch.from_numpy(arr))


def augment(img: Image.Image, rng: np.random.Generator, video_like: bool = False) -> np.ndarray:
    """Pixel changes another renderer or a codec could make, within the spec (uint8 HxWx3 out)."""
    if rng.random() < 0.25:  # sub-pixel shift: another rasteriser puts edges elsewhere
        dx, dy = rng.uniform(-0.7, 0.7, 2)
        img = img.transform(img.size, Image.AFFINE, (1, 0, dx, 0, 1, dy), resample=Image.BILINEAR)
    if rng.random() < 0.25:  # anti-aliasing / soft edges
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    if rng.random() < (0.8 if video_like else 0.35):  # codec: JPEG 4:2:0 ~ H.264/VP9 yuv420p
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(40 if video_like else 55, 96)))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    a = np.asarray(img, dtype=np.int16)
    if rng.random() < 0.3:  # small global colour / brightness shift
        a = a + rng.integers(-6, 7, 3).astype(np.int16)
    if rng.random() < 0.2:  # a different noise draw on top (per-pixel, maybe grey)
        sigma = rng.uniform(1, 4)
        n = rng.normal(0, sigma, a.shape[:2] + ((1,) if rng.random() < 0.5 else (3,)))
        a = a + np.rint(n).astype(np.int16)
    return np.clip(a, 0, 255).astype(np.uint8)
