"""Task rules of the Shapes world: which question a training row asks, the PaliGemma prompts
(`detect {label}` and its `<loc>` answer), and how a predicted box is matched to a true one.

Implements the task sections of ``/work/shared/SHAPES_WORLD.md``; the scenes themselves come
from `world.py`. Boxes are ``(x0, y0, x1, y1)`` pixels, x1/y1 exclusive, as in `world.py`.
"""
from __future__ import annotations

import numpy as np

from ..pipeline.answers import LOC_BINS
from .world import COLOURS, IMAGE_SIZE, SHAPES, Scene

QUESTION_KINDS = ("color", "shape", "count", "exists", "where")


# ---------------------------------------------------------------- questions

def question_kind(question: str) -> str:
    """One of QUESTION_KINDS for a scene question."""
    for prefix, kind in (("what color", "color"), ("what shape", "shape"), ("how many", "count"),
                         ("is there", "exists"), ("where", "where")):
        if question.startswith(prefix):
            return kind
    raise ValueError(f"not a scene question: {question!r}")


def sample_question(rng: np.random.Generator, scene: Scene) -> tuple[str, str]:
    """One (question, answer): kind uniform over the kinds this scene has, yes/no 50:50."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for qa in scene.questions:
        by_kind.setdefault(question_kind(qa[0]), []).append(qa)
    kinds = [k for k in QUESTION_KINDS if k in by_kind]
    pool = by_kind[kinds[int(rng.integers(len(kinds)))]]
    answers = sorted({a for _, a in pool})
    if answers == ["no", "yes"]:
        want = answers[int(rng.integers(2))]
        pool = [qa for qa in pool if qa[1] == want]
    return pool[int(rng.integers(len(pool)))]


# ---------------------------------------------------------------- PaliGemma prompts
def loc_token(coord: float, size: int = IMAGE_SIZE) -> str:
    """`<locNNNN>` of one box coordinate: round(coordinate / 224 * 1023), clipped to 0..1023."""
    return f"<loc{min(max(int(round(coord / size * (LOC_BINS - 1))), 0), LOC_BINS - 1):04d}>"


def detect_label_matches(label: str, obj) -> bool:
    """Does `detect {label}` ("red", "circle" or "red circle") name this object?"""
    words = label.split()
    if len(words) == 2:
        return words[0] == obj.colour and words[1] == obj.shape
    return words[0] in (obj.colour, obj.shape)


def detect_answer(label: str, objects) -> str:
    """The spec's answer to `detect {label}`: one entry per matching object, left to right (then
    top to bottom), `<ymin><xmin><ymax><xmax> label`, joined by " ; "; "" when nothing matches."""
    hits = sorted((o for o in objects if detect_label_matches(label, o)), key=lambda o: (o.box[0], o.box[1]))
    parts = []
    for o in hits:
        x0, y0, x1, y1 = o.box
        parts.append(f"{loc_token(y0)}{loc_token(x0)}{loc_token(y1)}{loc_token(x1)} {label}")
    return " ; ".join(parts)


def detect_labels() -> list[str]:
    """Every label `detect` can be asked about: shapes, colours, then colour + shape."""
    return list(SHAPES) + list(COLOURS) + [f"{c} {s}" for c in COLOURS for s in SHAPES]


def sample_detect(rng: np.random.Generator, objects, p_absent: float = 0.15) -> str:
    """A detect label: usually about an object in the scene (its colour, shape or both), sometimes
    one that matches nothing."""
    if rng.random() < p_absent:
        absent = [lab for lab in detect_labels() if not any(detect_label_matches(lab, o) for o in objects)]
        return absent[int(rng.integers(len(absent)))]
    o = objects[int(rng.integers(len(objects)))]
    return [o.shape, o.colour, f"{o.colour} {o.shape}"][int(rng.integers(3))]


# ---------------------------------------------------------------- box matching
def iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_detections(pred: list[tuple[tuple, str]], truth: list[tuple], label: str) -> tuple[int, int]:
    """(true objects found, extra boxes): greedy one-to-one matching by IoU, labels must equal `label`."""
    used = set()
    found = 0
    for box in truth:
        best, best_j = 0.0, None
        for j, (pbox, plabel) in enumerate(pred):
            if j in used or plabel != label:
                continue
            v = iou(box, pbox)
            if v > best:
                best, best_j = v, j
        if best_j is not None and best >= 0.5:
            used.add(best_j)
            found += 1
    return found, len(pred) - len(used)
