"""The examples shipped in `assets/examples/`: Shapes scenes and clips, plus two real photos.

Regenerate with `python -m gitdemo.ui.examples` (deterministic: `shapes.write_dataset` with a
fixed seed, chosen for variety: side-by-side and stacked pairs, single objects, clips moving
left and right). The real photos come from packages' sample data; see `assets/examples/SOURCES.md`.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..loading import ASSETS

FOLDER = ASSETS / "examples"
SEED = 2
N_SCENES, N_VIDEOS = 5, 2
PHOTOS = {  # file name in assets/examples -> (package, path inside its data folder)
    "grace_hopper.jpg": ("matplotlib", "sample_data/grace_hopper.jpg"),
    "flower.jpg": ("sklearn", "datasets/images/flower.jpg"),
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
    """[image, question, model]: one question per scene, a different kind each time where possible."""
    kinds = ["where", "what color", "what shape", "how many", "is there"]
    rows = []
    for i, (path, info) in enumerate(scenes()):
        qs = [q for q, _ in info["questions"]]
        pick = next((q for k in kinds[i % len(kinds):] + kinds for q in qs if q.startswith(k)), qs[0])
        rows.append([path, pick, shapes_model])
    for p in photos():
        rows.append([p, "what is in the picture?", photo_model])
    return rows


def video_rows(shapes_model: str) -> list[list]:
    """[video, question, model]: each clip captioned, and asked one question."""
    rows = []
    for path, info in videos():
        rows.append([path, "", shapes_model])
        rows.append([path, info["questions"][0][0], shapes_model])
    return rows


def write_examples(folder: Path = FOLDER) -> None:
    from .. import shapes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shapes.write_dataset(str(folder), N_SCENES, N_VIDEOS, SEED, video_format="mp4")
    for name, (package, rel) in PHOTOS.items():
        try:
            module = __import__(package)
        except ImportError:
            print(f"{package} is not installed: {name} not copied", file=sys.stderr)
            continue
        base = Path(module.get_data_path()) if package == "matplotlib" else Path(module.__file__).parent
        shutil.copyfile(base / rel, folder / name)


if __name__ == "__main__":
    write_examples()
    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    print(f"wrote {FOLDER} ({total / 1e6:.2f} MB)")
