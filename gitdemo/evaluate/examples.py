"""Writing the examples shipped in `assets/examples/`: `python -m gitdemo examples [MODEL] [--paligemma [FOLDER]]`
(also `python -m gitdemo.evaluate.examples`; before issue 16 this was `python -m gitdemo.ui.examples`).

Scenes and clips are drawn by `gitdemo.shapes` from a fixed seed; from that stream the first scenes
of each layout (two single objects, two side-by-side pairs, one stacked pair) and the first two
clips (moving in different directions) that the shipped model describes correctly *and* answers
its example question about correctly are kept, so the examples a class clicks show the model
working; its real accuracy, misses included, is in `assets/models/git-shapes/eval.md`.
`truth.json` has the same layout as `shapes.write_dataset`'s, plus each file's example question
and the selection rule, and the PaliGemma prompts the embedded PaliGemma gets right on the scenes.
The photos come from packages' sample data; see `assets/examples/SOURCES.md`. The app reads the
result through `gitdemo.ui.examples`.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..io.assets import ASSETS, embedded_paligemma
from ..shapes.tasks import detect_answer, detect_label_matches, match_detections

FOLDER = ASSETS / "examples"
SEED = 2
WANT = {"single": 2, "horizontal": 2, "vertical": 1}
N_VIDEOS = 2
MAX_TRIES = 3000  # scenes
MAX_VIDEO_TRIES = 400
PHOTOS = {  # file name in assets/examples -> (package, path inside its data folder)
    "grace_hopper.jpg": ("matplotlib", "sample_data/grace_hopper.jpg"),
    "flower.jpg": ("sklearn", "datasets/images/flower.jpg"),
}
QUESTION_ORDER = ("where", "what color", "what shape", "how many", "is there")


def truth(folder: Path = FOLDER) -> dict:
    path = Path(folder) / "truth.json"
    return json.loads(path.read_text()) if path.is_file() else {"files": {}}


def paligemma_candidates(info: dict) -> list[tuple[str, str]]:
    """(prompt, expected answer) to try on one shipped scene, the most telling first."""
    from .. import shapes

    objects = [shapes.ShapeObject(o["shape"], o["colour"], tuple(o["rgb"]), o["size"], tuple(o["box"]))
               for o in info["objects"]]
    out = [(f"detect {o.colour} {o.shape}", detect_answer(f"{o.colour} {o.shape}", objects)) for o in objects]
    if len(objects) == 2 and objects[0].colour == objects[1].colour:
        out.insert(0, (f"detect {objects[0].colour}", detect_answer(objects[0].colour, objects)))
    out.append(("caption en", info["caption"]))
    out += [(f"answer en {q}", a) for q, a in info["questions"] if q.startswith("where")]
    out += [(f"answer en {q}", a) for q, a in info["questions"] if not q.startswith("where")]
    return out


def _right(prompt: str, got: str, want: str, info: dict, size: tuple[int, int] = (224, 224)) -> bool:
    """Exact for captions and answers; for `detect`, right by the eval's measure: one box per matching
    object (IoU >= 0.5, the prompt's label) and no extra box. Box corners rarely hit the exact bins."""
    if not prompt.startswith("detect "):
        return got == want
    from types import SimpleNamespace

    from ..pipeline.answers import parse_locations

    label = prompt[len("detect "):]
    truth = [tuple(o["box"]) for o in info["objects"] if detect_label_matches(label, SimpleNamespace(**o))]
    dets, _ = parse_locations(got, *size)
    return match_detections([(d.box, d.label) for d in dets], truth, label) == (len(truth), 0)


def write_paligemma_examples(folder: Path = FOLDER, model_path: str | None = None, per_scene: int = 3) -> list[dict]:
    """Add to truth.json, for each shipped scene, the first `per_scene` prompts of `paligemma_candidates`
    (detection first) that the embedded PaliGemma answers right (`_right`), with the answer it gives."""
    import gitdemo

    from ..pipeline import run
    from ..processing import open_image

    path = model_path or embedded_paligemma()
    if path is None:
        raise RuntimeError("No embedded PaliGemma in assets/models/paligemma-shapes: nothing to check prompts with.")
    model, processor = gitdemo.load_model(path, dtype="float32", progress=False), gitdemo.load_processor(path)
    data = truth(folder)
    kept = []
    for name, info in sorted(data["files"].items()):
        if info["kind"] != "image":
            continue
        image = open_image(str(Path(folder) / name))
        n = 0
        for prompt, answer in paligemma_candidates(info):
            if n >= per_scene:
                break
            got = run(model, processor, image, prompt, masks=False).text.strip()
            if _right(prompt, got, answer, info, image.size):
                kept.append({"file": name, "prompt": prompt, "answer": got})
                n += 1
    data["paligemma"] = kept
    data["paligemma_selection"] = (f"for each scene, the first {per_scene} of its candidate prompts (detection "
                                   f"first, then caption, then questions) that {Path(str(path)).name} answers right (exact text; detection: every object boxed with IoU >= 0.5 and "
                                   f"no extra box); 'answer' is the model's own answer")
    (Path(folder) / "truth.json").write_text(json.dumps(data, indent=1))
    return kept


def _pick_question(questions: list[tuple[str, str]], index: int) -> tuple[str, str]:
    """A different kind of question for each example, in QUESTION_ORDER, starting at `index`."""
    order = QUESTION_ORDER[index % len(QUESTION_ORDER):] + QUESTION_ORDER
    return next(((q, a) for kind in order for q, a in questions if q.startswith(kind)), questions[0])


def write_examples(folder: Path = FOLDER, seed: int = SEED, model_path: str | None = None) -> dict:
    """Draw, check against the embedded model (or `model_path`), and write the examples and truth.json.

    Everything is built in a temporary folder first: the shipped examples change only on success.
    """
    import numpy as np

    import gitdemo

    from .. import shapes
    from ..io.video import frame_indices, read_frames
    from ..pipeline import run

    model, processor = gitdemo.load_model(model_path, progress=False), gitdemo.load_processor(model_path)
    rng = np.random.default_rng(seed)
    files: dict[str, dict] = {}
    want = dict(WANT)
    scene_draws = video_draws = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        while any(want.values()) and scene_draws < MAX_TRIES:
            scene_draws += 1
            sc = shapes.draw_scene(rng)
            if not want.get(sc.layout):
                continue
            n = sum(1 for f in files.values() if f["kind"] == "image")
            question, answer = _pick_question(sc.questions, n)
            if run(model, processor, [sc.image]).text != sc.caption or \
                    run(model, processor, [sc.image], question).text != answer:
                continue
            name = f"scene_{n:05d}.png"
            sc.image.save(tmp / name)
            files[name] = {"kind": "image", "caption": sc.caption, "layout": sc.layout,
                           "objects": [o.to_dict() for o in sc.objects],
                           "questions": [list(qa) for qa in sc.questions], "example_question": question}
            want[sc.layout] -= 1
        clips: list[str] = []  # directions of the kept clips: distinct ones preferred
        while len(clips) < N_VIDEOS and video_draws < MAX_VIDEO_TRIES:
            video_draws += 1
            clip = shapes.draw_video(rng)
            if clip.direction in clips and video_draws < MAX_VIDEO_TRIES // 2:
                continue
            question, answer = clip.questions[0]
            picked = [clip.frames[i] for i in frame_indices(len(clip.frames), model.config.num_frames)]
            if run(model, processor, picked).text != clip.caption:  # quick check before encoding
                continue
            name = f"video_{len(clips):05d}.mp4"
            shapes.write_video(str(tmp / name), clip.frames, shapes.FPS)
            frames = read_frames(tmp / name, model.config.num_frames).frames  # what the app will read
            if run(model, processor, frames).text != clip.caption or \
                    run(model, processor, frames, question).text != answer:
                (tmp / name).unlink()
                continue
            files[name] = {"kind": "video", "caption": clip.caption, "direction": clip.direction,
                           "objects": [clip.object.to_dict()], "boxes": [list(b) for b in clip.boxes],
                           "fps": shapes.FPS, "n_frames": len(clip.frames),
                           "questions": [list(qa) for qa in clip.questions], "example_question": question}
            clips.append(clip.direction)
        if any(want.values()) or len(clips) < N_VIDEOS:
            raise RuntimeError(f"The model was right on too few draws ({scene_draws} scenes, {video_draws} clips): "
                               f"still missing scenes {want} and {N_VIDEOS - len(clips)} clip(s); examples unchanged.")
        data = {"world": "shapes", "spec": "SHAPES_WORLD.md", "seed": seed,
                "box_convention": "(x0, y0, x1, y1) pixels, x1/y1 exclusive",
                "selection": (f"the first scenes per layout {WANT} and the first {N_VIDEOS} clips (distinct "
                              f"directions where possible) drawn from seed {seed} that {model.name_or_path} captions "
                              f"and answers correctly ({scene_draws} scenes and {video_draws} clips drawn)"),
                "files": files}
        (tmp / "truth.json").write_text(json.dumps(data, indent=1))
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for old in [*folder.glob("scene_*.png"), *folder.glob("video_*.mp4")]:
            old.unlink()
        for item in tmp.iterdir():
            shutil.copyfile(item, folder / item.name)
    for name, (package, rel) in PHOTOS.items():
        try:
            module = __import__(package)
        except ImportError:
            print(f"{package} is not installed: {name} not copied", file=sys.stderr)
            continue
        base = Path(module.get_data_path()) if package == "matplotlib" else Path(module.__file__).parent
        shutil.copyfile(base / rel, folder / name)
    return data


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m gitdemo examples",
                                description="Re-draw the shipped examples (assets/examples) and keep those the "
                                            "embedded models get right; writes truth.json.")
    p.add_argument("model", nargs="?", default=None, help="GIT model folder to check against (default: embedded)")
    p.add_argument("--paligemma", nargs="?", const="", default=None, metavar="FOLDER",
                   help="only re-pick the PaliGemma tab's prompts on the shipped scenes (default model: embedded)")
    args = p.parse_args(argv)
    if args.paligemma is not None:
        print(json.dumps(write_paligemma_examples(model_path=args.paligemma or None), indent=1))
        return 0
    info = write_examples(model_path=args.model)
    try:  # the PaliGemma tab's prompts refer to the scenes just written
        write_paligemma_examples()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
    total = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    print(f"wrote {FOLDER} ({total / 1e6:.2f} MB): {info['selection']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
