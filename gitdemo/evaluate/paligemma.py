"""Evaluating the embedded Shapes PaliGemma (`python -m gitdemo eval --model assets/models/paligemma-shapes`).

Fresh scenes come from `gitdemo.shapes` on the evaluation seed stream (training draws from
`[seed, 0x9A11]`, evaluation from `[seed, 0xE7A1]`), are written as PNG and read back through the
app's own path (`processing.open_image`, the checkpoint's PaliGemma processor). Answers are greedy,
batched per scene (left padding), decoded as the app decodes them.

Per scene: `caption en`; `answer en {q}` for every question the scene has; and `detect {label}`
for every label that names something in the scene (each object's colour, shape, and colour + shape)
plus one label that matches nothing. Detection score (SHAPES_WORLD.md): the share of true
objects (over all detect prompts) matched by a predicted box with IoU >= 0.5 and the label of the
prompt (each box matches at most one object); it passes when that share is >= 85% *and* extra
boxes (predicted boxes matching no object) are at most 10% of the true objects. The matching
rule itself (IoU, one-to-one) is a task rule of the world: `gitdemo.shapes.tasks`.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .. import shapes
from ..shapes.tasks import detect_label_matches, detect_labels, match_detections
from .harness import EVAL_STREAM, bar_table, new_texts, passed

BARS = {  # SHAPES_WORLD.md, PaliGemma prompts
    "caption": ("`caption en`", "exact match", 0.90),
    "answer": ("`answer en ...`", "exact match", 0.85),
    "detect": ("`detect ...`", "objects found (IoU >= 0.5, right label); extra boxes <= 10%", 0.85),
}
MAX_EXTRA = 0.10


def score_detection(answer: str, label: str, objects, width: int = shapes.IMAGE_SIZE,
                    height: int = shapes.IMAGE_SIZE) -> tuple[int, int, int]:
    """(objects found, true objects, extra boxes) for the answer to `detect {label}` on a scene."""
    from ..pipeline.answers import parse_locations

    dets, _ = parse_locations(answer, width, height)
    truth = [o.box for o in objects if detect_label_matches(label, o)]
    found, extra = match_detections([(d.box, d.label) for d in dets], truth, label)
    return found, len(truth), extra


def detect_prompts(rng: np.random.Generator, objects) -> list[str]:
    labels = []
    for o in objects:
        for lab in (f"{o.colour} {o.shape}", o.shape, o.colour):
            if lab not in labels:
                labels.append(lab)
    absent = [lab for lab in detect_labels() if not any(detect_label_matches(lab, o) for o in objects)]
    labels.append(absent[int(rng.integers(len(absent)))])
    return labels


def _generate(model, processor, image, prompts: list[str], max_new_tokens: int = 24) -> list[str]:
    from ..generation import generate

    batch = processor(images=[image], text=prompts, padding_side="left")
    out = generate(model, pixel_values=batch.pixel_values, input_ids=batch.input_ids,
                   attention_mask=batch.attention_mask, token_type_ids=batch.token_type_ids,
                   max_new_tokens=max_new_tokens, return_dict=True)
    return new_texts(out.new_tokens, processor.eos_id, processor.decode)


@torch.inference_mode()
def evaluate(model_folder, n_scenes: int = 500, seed: int = 2024, progress: bool = False) -> dict:
    from .. import load_model, load_processor
    from ..processing import open_image

    t0 = time.time()
    model = load_model(model_folder, dtype="float32", progress=False)
    processor = load_processor(model_folder)
    rng = np.random.default_rng([seed, EVAL_STREAM])
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if progress else (lambda *a: None)
    caption, answer, by_kind = [], [], {}
    found = n_true = extra = 0
    failures: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gitdemo-pg-eval-") as tmp:
        for i in range(n_scenes):
            sc = shapes.draw_scene(rng)
            path = Path(tmp) / f"scene_{i:05d}.png"
            sc.image.save(path)
            img = open_image(str(path))
            labels = detect_prompts(rng, sc.objects)
            prompts = (["caption en"] + [f"answer en {q}" for q, _ in sc.questions]
                       + [f"detect {lab}" for lab in labels])
            outs = _generate(model, processor, img, prompts)
            ok = outs[0] == sc.caption
            caption.append((len(sc.objects), ok))
            if not ok and len(failures) < 30:
                failures.append({"prompt": "caption en", "want": sc.caption, "got": outs[0]})
            for (q, a), got in zip(sc.questions, outs[1:1 + len(sc.questions)]):
                answer.append(got == a)
                by_kind.setdefault(shapes.question_kind(q), []).append(got == a)
                if got != a and len(failures) < 30:
                    failures.append({"prompt": f"answer en {q}", "want": a, "got": got})
            for lab, got in zip(labels, outs[1 + len(sc.questions):]):
                f, t, e = score_detection(got, lab, sc.objects, *img.size)
                found, n_true, extra = found + f, n_true + t, extra + e
                if (f < t or e) and len(failures) < 30:
                    truth = [o.box for o in sc.objects if detect_label_matches(lab, o)]
                    failures.append({"prompt": f"detect {lab}", "want": str(truth), "got": got})
            if progress and (i + 1) % 50 == 0:
                say(f"  {i + 1}/{n_scenes} scenes ({time.time() - t0:.0f} s)")
    scores = {"caption": float(np.mean([ok for _, ok in caption])) if caption else float("nan"),
              "caption1": float(np.mean([ok for n, ok in caption if n == 1] or [float("nan")])),
              "caption2": float(np.mean([ok for n, ok in caption if n == 2] or [float("nan")])),
              "answer": float(np.mean(answer)) if answer else float("nan"),
              "detect": found / n_true if n_true else float("nan"),
              "detect_extra": extra / n_true if n_true else float("nan")}
    ok = passed(BARS, scores)
    ok["detect"] = ok["detect"] and scores["detect_extra"] <= MAX_EXTRA
    return {"model": str(model_folder), "seed": seed, "scenes": n_scenes, "scores": scores,
            "n": {"caption": len(caption), "answer": len(answer), "detect": n_true},
            "question_kinds": {k: float(np.mean(v)) for k, v in by_kind.items()},
            "passed": ok, "failures": failures, "seconds": time.time() - t0}


def table(result: dict) -> str:
    s = result["scores"]
    extra = {"caption": f"; one object {100 * s['caption1']:.1f}%, two {100 * s['caption2']:.1f}%",
             "detect": f"; extra boxes {100 * s['detect_extra']:.1f}%"}
    return "\n".join(bar_table(BARS, result, extra))


def report(result: dict, argv: list[str]) -> tuple[str, str]:
    """(what the command prints, the Markdown written by --md)."""
    text = table(result)
    kinds = ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(result["question_kinds"].items()))
    printed = (f"{text}\n\nanswers by question kind: {kinds}\n{result['scenes']} scenes, seed {result['seed']}, "
               f"{result['seconds']:.0f} s")
    md = [f"# Evaluation of {result['model']}", "",
          f"`python -m gitdemo eval {' '.join(argv)}` - {result['scenes']} fresh scenes (PNG), seed {result['seed']} "
          f"(a stream training never uses), {result['seconds']:.0f} s.", "", text, "",
          f"Answers by question kind: {kinds}.", ""]
    if result["failures"]:
        md += ["Some misses (prompt: want -> got):", ""] + [
            f"- {f['prompt']}: `{f['want']}` -> `{f['got']}`" for f in result["failures"][:20]]
    return printed, "\n".join(md) + "\n"
