"""Does an image look like the Shapes world? A cheap pixel rule, so that the app can say when the offline
Shapes model is shown something it never saw (a photo) instead of captioning it confidently as shapes.

The rule (on the image shrunk to 112 x 112): the background colour is the median of the border pixels and
must be light (every channel >= 180, the world draws 200..255); a pixel is *background* when every channel
is within 28 of it (noise sigma 6, JPEG), *object* when within 40 of one of the four palette centres (jitter
15 + noise + JPEG). The image is in the world when background + object pixels cover >= 90% of it, the
background alone >= 50% and the objects >= 0.5% (one small triangle is ~2%).

Measured on 2026-12-01 (the sets of tests/test_in_world.py, larger): in the world, 200 fresh scenes, 100
video frames, the shipped scenes and 100 scenes of the independent renderer (anti-aliased, JPEG 90):
explained >= 0.969 (bar 0.90), background >= 0.716 (bar 0.50), objects >= 0.0174 (bar 0.005), background
channels >= 200 (bar 180); all 405 pass. Out of it, 14 photos and logos found on disk (assets/examples/*.jpg,
matplotlib's grace_hopper, gradio's sample photos, scikit-learn's china/flower) and 8 synthetic images
(noise, light noise, gradients, plain white/red/black/beige): none passes. The nearest photo, gradio's
cheetah.jpg (explained 0.882, a blurred brown backdrop), fails twice: dark background, no palette pixels; of
the photos with a light background the highest explained fraction is 0.535 (gradio's bus.png). Plain and
light-noise images are all background and fail on "no object".
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .world import COLOURS

SIDE = 112
LIGHT = 180        # lowest channel of a Shapes background (the world draws 200..255)
BG_TOL = 28        # per channel, background pixel vs the background colour
PALETTE_TOL = 40   # per channel, object pixel vs a palette centre
MIN_EXPLAINED = 0.90
MIN_BACKGROUND = 0.50
MIN_OBJECT = 0.005
_PALETTE = np.asarray(list(COLOURS.values()), np.int16)


def measure(image: Image.Image) -> dict:
    """The rule's numbers for one image: background colour, fractions of background, object, explained."""
    a = np.asarray(image.convert("RGB").resize((SIDE, SIDE), Image.BILINEAR), np.int16)
    border = np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])
    bg = np.median(border, axis=0)
    is_bg = (np.abs(a - bg).max(axis=-1) <= BG_TOL)
    dist = np.abs(a[:, :, None, :] - _PALETTE[None, None]).max(axis=-1).min(axis=-1)
    is_obj = (dist <= PALETTE_TOL) & ~is_bg
    return {"background": [float(v) for v in bg], "light_background": bool(bg.min() >= LIGHT),
            "background_fraction": float(is_bg.mean()), "object_fraction": float(is_obj.mean()),
            "explained": float((is_bg | is_obj).mean())}


def looks_like_shapes_world(image: Image.Image) -> bool:
    """True when `image` looks like a Shapes-world scene (light uniform background, palette-coloured objects)."""
    m = measure(image)
    return (m["light_background"] and m["explained"] >= MIN_EXPLAINED and m["background_fraction"] >= MIN_BACKGROUND
            and m["object_fraction"] >= MIN_OBJECT)


__all__ = ["measure", "looks_like_shapes_world"]
