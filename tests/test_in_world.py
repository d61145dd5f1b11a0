"""The Shapes-world rule (gitdemo.shapes.in_world) on both sides: fresh scenes, video frames, the independent
renderer's anti-aliased JPEG scenes pass; photos found on disk and synthetic non-shapes images do not."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gitdemo import shapes
from gitdemo.shapes.in_world import MIN_EXPLAINED, looks_like_shapes_world, measure

ROOT = Path(__file__).resolve().parent.parent


def _photos() -> dict[str, Image.Image]:
    import gradio
    import matplotlib

    found = list((ROOT / "assets" / "examples").glob("*.jpg"))
    found += list((Path(gradio.__file__).parent / "media_assets" / "images").glob("*.jp*g"))
    found.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    try:
        import sklearn

        found += list((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
    except ImportError:
        pass
    return {p.name: Image.open(p) for p in found if p.is_file()}


def _synthetic() -> dict[str, Image.Image]:
    rng = np.random.default_rng(1)
    ramp = np.tile(np.linspace(0, 255, 224), (224, 1))
    out = {"noise": rng.integers(0, 256, (224, 224, 3), dtype=np.uint8),
           "light noise": rng.integers(200, 256, (224, 224, 3), dtype=np.uint8),
           "gradient": np.stack([ramp] * 3, -1).astype(np.uint8),
           "light gradient": np.stack([ramp * 55 / 255 + 200] * 3, -1).astype(np.uint8)}
    out = {k: Image.fromarray(v) for k, v in out.items()}
    for name, rgb in {"white": (255, 255, 255), "red": (220, 40, 40), "black": (0, 0, 0), "beige": (230, 220, 210)}.items():
        out["plain " + name] = Image.new("RGB", (224, 224), rgb)
    return out


def test_shapes_world_images_pass():
    import test_other_renderer as other

    rng = np.random.default_rng(7)
    images = [shapes.draw_scene(rng).image for _ in range(30)]
    images += [f for _ in range(3) for f in shapes.draw_video(rng).frames[::6]]
    images += [Image.open(p) for p in (ROOT / "assets" / "examples").glob("scene_*.png")]
    for _ in range(20):
        buf = io.BytesIO()
        img = other.scene(rng)[0]
        (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, "JPEG", quality=90)
        images.append(Image.open(io.BytesIO(buf.getvalue())))
    fails = [measure(im) for im in images if not looks_like_shapes_world(im)]
    assert not fails, fails
    assert min(measure(im)["explained"] for im in images) > MIN_EXPLAINED + 0.03  # a margin, not a coin toss


@pytest.mark.parametrize("kind", ["photos", "synthetic"])
def test_other_images_do_not(kind):
    images = _photos() if kind == "photos" else _synthetic()
    assert len(images) >= (4 if kind == "photos" else 8)
    passed = [name for name, im in images.items() if looks_like_shapes_world(im)]
    assert not passed, {n: measure(images[n]) for n in passed}


def test_odd_modes_are_read():
    rgba = shapes.draw_scene(np.random.default_rng(3)).image.convert("RGBA")
    assert looks_like_shapes_world(rgba) and looks_like_shapes_world(rgba.convert("L").convert("RGB")) is False
