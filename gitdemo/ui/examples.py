"""The examples shipped in `assets/examples/`, as the app's example rows: Shapes scenes and clips, plus
two real photos (from packages' sample data; see `assets/examples/SOURCES.md`).

`truth.json` says what each file shows (captions, questions, boxes) and which PaliGemma prompts the
embedded PaliGemma gets right. The files are written, and checked against the embedded models, by
`python -m gitdemo.shapes.examples` (run it after an embedded model changes); the app only reads them.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io.assets import ASSETS

FOLDER = ASSETS / "examples"
PHOTOS = {  # file name in assets/examples -> (package, path inside its data folder)
    "grace_hopper.jpg": ("matplotlib", "sample_data/grace_hopper.jpg"),
    "flower.jpg": ("sklearn", "datasets/images/flower.jpg"),
}

PHOTO_WORDS = {  # what each photo shows, for its thumbnail's text alternative (translated in gitdemo.lang)
    "grace_hopper.jpg": "Photo: a portrait of Grace Hopper in a navy uniform",
    "flower.jpg": "Photo: a close-up of an orange dahlia on a dark green background",
}


def truth(folder: Path = FOLDER) -> dict:
    path = Path(folder) / "truth.json"
    return json.loads(path.read_text()) if path.is_file() else {"files": {}}


def scenes(folder: Path = FOLDER) -> list[tuple[str, dict]]:
    return [(str(Path(folder) / n), f) for n, f in sorted(truth(folder)["files"].items()) if f["kind"] == "image"]


def videos(folder: Path = FOLDER) -> list[tuple[str, dict]]:
    return [(str(Path(folder) / n), f) for n, f in sorted(truth(folder)["files"].items()) if f["kind"] == "video"]


def photos(folder: Path = FOLDER) -> list[str]:
    return [str(Path(folder) / n) for n in PHOTOS if (Path(folder) / n).is_file()]


def caption_rows(shapes_model: str, photo_model: str) -> list[list]:
    """[image, model] rows: the Shapes scenes with the embedded model, the photos with the tab's default."""
    return [[p, shapes_model] for p, _ in scenes()] + [[p, photo_model] for p in photos()]


def vqa_rows(shapes_model: str, photo_model: str) -> list[list]:
    """[image, question, model]: each scene with its example question; the photos with a general one."""
    rows = [[p, info.get("example_question") or info["questions"][0][0], shapes_model] for p, info in scenes()]
    return rows + [[p, "what is in the picture?", photo_model] for p in photos()]


def video_rows(shapes_model: str) -> list[list]:
    """[video, question, model]: each clip captioned, and asked its example question."""
    rows = []
    for path, info in videos():
        rows.append([path, "", shapes_model])
        rows.append([path, info.get("example_question") or info["questions"][0][0], shapes_model])
    return rows


def paligemma_rows(model: str) -> list[list]:
    """[image, prompt, model]: the Shapes scenes with the PaliGemma prompts the embedded PaliGemma got
    right when the examples were written (truth.json "paligemma"); none before that."""
    rows = []
    for item in truth().get("paligemma", []):
        path = FOLDER / item["file"]
        if path.is_file():
            rows.append([str(path), item["prompt"], model])
    return rows


__all__ = ["FOLDER", "PHOTOS", "PHOTO_WORDS", "truth", "scenes", "videos", "photos", "caption_rows", "vqa_rows",
           "video_rows", "paligemma_rows"]
