"""Evaluating the embedded Shapes GIT (`python -m gitdemo eval [--model DIR] [--scenes 500] [--videos 100]`).

Fresh scenes and clips are drawn from `gitdemo.shapes` with a seed stream the training never
uses (training draws from `[seed, 0x7A11]`, evaluation from `[seed, 0xE7A1]`), written as PNG
and H.264 MP4 files into a temporary folder, and read back through the app's own paths
(`processing.open_image`, `video.read_frames`, the checkpoint's processor). Captions come from
`gitdemo.pipeline.run` - the very call behind `python -m gitdemo caption/video --json` - so the
pointing score reads exactly the CLI's `attention` grids. Answers come from greedy
`gitdemo.generation.generate` with the question as the prompt ([CLS] + question).

Pointing: for each generated colour or shape word of an image caption, the peak cell of its
default attention grid must overlap the bounding box of the object that word names in the
caption (in two-object captions "a C S left of a C S", the pair C S names one object; a word
whose phrase names no object in the scene counts as a miss). The same measure on videos (peak
over frames x cells, against the object's box in that frame) is printed for information.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .. import shapes
from .harness import EVAL_STREAM, bar_table, new_texts, passed

BARS = {  # SHAPES_WORLD.md
    "caption1": ("captions, one object", "exact match", 0.95),
    "caption2": ("captions, two objects", "exact match", 0.85),
    "image_questions": ("questions on images", "exact match", 0.85),
    "video_captions": ("video captions", "exact match", 0.85),
    "video_questions": ("video questions", "exact match", 0.85),
    "pointing": ("pointing", "peak of default attention inside the named object's box", 0.80),
}


def cell_overlaps(cell: tuple[int, int], box, grid_rows: int, grid_cols: int, size: int = shapes.IMAGE_SIZE) -> bool:
    """Does patch cell (row, col) overlap box (x0, y0, x1, y1) (x1/y1 exclusive) in a size x size image?"""
    r, c = cell
    ch, cw = size / grid_rows, size / grid_cols
    x0, y0, x1, y1 = box
    return c * cw < x1 and (c + 1) * cw > x0 and r * ch < y1 and (r + 1) * ch > y0


def named_objects(words: list[str], objects) -> list[int | None]:
    """For each word of a generated caption: index of the object it names (colour/shape words only)."""
    colours, kinds = set(shapes.COLOURS), set(shapes.SHAPES)
    out: list[int | None] = [None] * len(words)
    for i, w in enumerate(words):
        if w not in colours and w not in kinds:
            continue
        if w in colours:
            c, s = w, (words[i + 1] if i + 1 < len(words) and words[i + 1] in kinds else None)
        else:
            s, c = w, (words[i - 1] if i > 0 and words[i - 1] in colours else None)
        match = [k for k, o in enumerate(objects) if o.colour == c and o.shape == s]
        if not match:  # a phrase that names no object exactly: use the word alone if it is unambiguous
            match = [k for k, o in enumerate(objects) if (o.colour == w if w in colours else o.shape == w)]
            match = match if len(match) == 1 and (c is None or s is None) else []
        out[i] = match[0] if match else None
    return out


def pointing_hits(tokens: list[dict], objects, boxes_per_frame=None) -> list[bool]:
    """One bool per colour/shape token of a `--json` caption result: does its peak cell lie on its object?"""
    words = [t["text"].strip() for t in tokens]
    owner = named_objects(words, objects)
    hits = []
    for t, w, k in zip(tokens, words, owner):
        if w not in shapes.COLOURS and w not in shapes.SHAPES:
            continue
        if k is None or t.get("attention") is None:
            hits.append(False)
            continue
        grid = np.asarray(t["attention"], dtype=np.float64)
        if grid.ndim == 2:
            grid = grid[None]
        f, r, c = np.unravel_index(int(np.argmax(grid)), grid.shape)
        box = objects[k].box if boxes_per_frame is None else boxes_per_frame[f]
        hits.append(cell_overlaps((r, c), box, grid.shape[1], grid.shape[2]))
    return hits


def _answers(model, processor, pixel_values, questions: list[str], max_new_tokens: int = 4) -> list[str]:
    from ..generation import generate

    enc = processor(question=questions, padding_side="left")
    out = generate(model, pixel_values=pixel_values, input_ids=enc["input_ids"],
                   attention_mask=enc["attention_mask"], max_new_tokens=max_new_tokens, return_dict=True)
    return new_texts(out.new_tokens, model.config.eos_token_id, processor.tokenizer.decode)


@torch.inference_mode()
def evaluate(model_folder=None, n_scenes: int = 500, n_videos: int = 100, seed: int = 2024,
             workdir: str | None = None, progress: bool = False, video_format: str = "mp4") -> dict:
    """Scores of the model in `model_folder` (None: the embedded model) on fresh scenes; see module doc."""
    from .. import load_model, load_processor
    from ..io.video import read_frames
    from ..pipeline import run
    from ..processing import open_image

    t0 = time.time()
    model = load_model(model_folder, progress=False)
    processor = load_processor(model_folder)
    rng = np.random.default_rng([seed, EVAL_STREAM])
    tmp = tempfile.TemporaryDirectory(prefix="gitdemo-eval-") if workdir is None else None
    folder = Path(workdir or tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if progress else (lambda *a: None)
    counts = {k: [] for k in ("caption1", "caption2", "image_questions", "video_captions", "video_questions",
                              "pointing", "pointing_video")}
    by_kind: dict[str, list[bool]] = {}
    failures: list[dict] = []
    try:
        for i in range(n_scenes):
            sc = shapes.draw_scene(rng)
            path = folder / f"scene_{i:05d}.png"
            sc.image.save(path)
            img = open_image(str(path))
            res = run(model, processor, [img], record=True).to_json()
            ok = res["text"] == sc.caption
            counts["caption1" if len(sc.objects) == 1 else "caption2"].append(ok)
            if not ok and len(failures) < 40:
                failures.append({"file": path.name, "want": sc.caption, "got": res["text"]})
            counts["pointing"] += pointing_hits(res["tokens"], sc.objects)
            qs = [q for q, _ in sc.questions]
            pv = processor.image_processor([img])
            for (q, a), got in zip(sc.questions, _answers(model, processor, pv, qs)):
                counts["image_questions"].append(got == a)
                by_kind.setdefault(shapes.question_kind(q), []).append(got == a)
            if progress and (i + 1) % 50 == 0:
                say(f"  {i + 1}/{n_scenes} scenes ({time.time() - t0:.0f} s)")
        for i in range(n_videos):
            clip = shapes.draw_video(rng)
            path = folder / f"video_{i:05d}.{video_format}"
            shapes.write_video(str(path), clip.frames)
            vf = read_frames(str(path), model.config.num_frames)
            res = run(model, processor, vf.frames, record=True).to_json()
            ok = res["text"] == clip.caption
            counts["video_captions"].append(ok)
            if not ok and len(failures) < 60:
                failures.append({"file": path.name, "want": clip.caption, "got": res["text"]})
            boxes = [clip.boxes[j] for j in vf.indices]
            counts["pointing_video"] += pointing_hits(res["tokens"], [clip.object], boxes)
            pv = processor.image_processor.preprocess_frames(vf.frames)[None]
            qs = [q for q, _ in clip.questions]
            for (_, a), got in zip(clip.questions, _answers(model, processor, pv, qs)):
                counts["video_questions"].append(got == a)
            if progress and (i + 1) % 25 == 0:
                say(f"  {i + 1}/{n_videos} videos ({time.time() - t0:.0f} s)")
    finally:
        if tmp is not None:
            tmp.cleanup()
    scores = {k: (float(np.mean(v)) if v else float("nan")) for k, v in counts.items()}
    return {
        "model": str(model_folder or "embedded:git-shapes"), "seed": seed, "scenes": n_scenes, "videos": n_videos,
        "scores": scores, "n": {k: len(v) for k, v in counts.items()},
        "question_kinds": {k: float(np.mean(v)) for k, v in by_kind.items()},
        "passed": passed(BARS, scores),
        "failures": failures, "seconds": time.time() - t0,
    }


def table(result: dict) -> str:
    """The SHAPES_WORLD.md table: task | measure | score | bar | pass."""
    s, n = result["scores"], result["n"]
    lines = bar_table(BARS, result, {})
    if n.get("pointing_video"):
        lines.append(f"| (pointing, videos: information only) | same, per frame | "
                     f"{100 * s['pointing_video']:.1f}% (n={n['pointing_video']}) | - | - |")
    return "\n".join(lines)
