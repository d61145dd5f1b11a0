"""Shapes world, the renderer: the synthetic scenes and clips the embedded demo model is trained on.

Implements ``/work/shared/SHAPES_WORLD.md`` (normative).  In short: a 224 x 224 image has a
uniform light background (each channel uniform in [200, 255]), one or two filled shapes
(circle, square, apex-up triangle; size 44..88 px) in one of four jittered colours, and
Gaussian pixel noise (sigma 6) over the whole image.  Two objects sit clearly side by side
or one above the other, so the caption ``a red circle left of a blue square`` (or
``... above ...``) is never ambiguous.  A video is 24 frames of one shape moving in a
straight line (left, right, up or down) by 60..120 px.  Each scene/clip comes with its
caption and every question the spec allows, with the one-word answer (the rules that pick
questions and PaliGemma prompts from them are in `tasks.py`).

Box convention: ``box = (x0, y0, x1, y1)`` in pixels with x1/y1 EXCLUSIVE (numpy slicing:
``image[y0:y1, x0:x1]``), so ``x1 - x0 == y1 - y0 == size`` for every shape.  The box is the
shape's geometric extent; the drawn pixels all lie inside it.

Everything is drawn from the ``numpy.random.Generator`` passed in: same seed, same world.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

__all__ = [
    "COLOURS", "SHAPES", "DIRECTIONS", "IMAGE_SIZE", "N_FRAMES", "FPS",
    "ShapeObject", "Scene", "VideoClip",
    "draw_scene", "draw_video", "write_video", "write_dataset",
]

COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 200, 30)}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS = ("left", "right", "up", "down")
IMAGE_SIZE = 224
MIN_SIZE, MAX_SIZE = 44, 88
JITTER = 15           # +- per channel on the colour centre
NOISE_SIGMA = 6.0
MIN_GAP = 8           # empty pixels between the two boxes (in x or in y)
N_FRAMES, FPS = 24, 8
MIN_TRAVEL, MAX_TRAVEL = 60, 120
_PAIRS = [(c, s) for c in COLOURS for s in SHAPES]


@dataclass
class ShapeObject:
    shape: str
    colour: str
    rgb: tuple[int, int, int]          # the jittered colour actually drawn
    size: int
    box: tuple[int, int, int, int]     # (x0, y0, x1, y1), x1/y1 exclusive

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def to_dict(self) -> dict:
        return {"shape": self.shape, "colour": self.colour, "rgb": list(self.rgb),
                "size": self.size, "box": list(self.box)}


@dataclass
class Scene:
    image: Image.Image
    objects: list[ShapeObject]         # in caption order (left/upper one first)
    layout: str                        # "single" | "horizontal" | "vertical"
    caption: str
    questions: list[tuple[str, str]]


@dataclass
class VideoClip:
    frames: list[Image.Image]          # the rendered frames, one per entry of frame_indices
    object: ShapeObject                # the object as it is in frame 0
    boxes: list[tuple[int, int, int, int]]   # box in every frame (all n_frames of them)
    direction: str
    caption: str
    questions: list[tuple[str, str]]
    frame_indices: list[int] = field(default_factory=list)


# ---------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=None)
def _mask(shape: str, s: int) -> np.ndarray:
    """Boolean s x s mask of a shape filling its box; a pixel is in when its centre is."""
    c = np.arange(s) + 0.5                          # pixel centres, box-local
    x, y = c[None, :], c[:, None]
    if shape == "circle":
        m = (x - s / 2) ** 2 + (y - s / 2) ** 2 <= (s / 2) ** 2
    elif shape == "square":
        m = np.ones((s, s), bool)
    elif shape == "triangle":                       # apex (s/2, 0), base on y = s
        m = np.abs(x - s / 2) <= y / 2
    else:
        raise ValueError(f"unknown shape {shape!r}")
    m.setflags(write=False)
    return m


def _background(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(200, 256, size=3).astype(np.uint8)


def _render(bg: np.ndarray, objects: list[ShapeObject], rng: np.random.Generator) -> Image.Image:
    canvas = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    canvas[:] = bg
    for o in objects:
        x0, y0, x1, y1 = o.box
        canvas[y0:y1, x0:x1][_mask(o.shape, o.size)] = o.rgb
    # Noise over the whole image (objects included): float32 draws are ~2x faster than float64.
    noise = rng.standard_normal(canvas.shape, dtype=np.float32)
    noise *= NOISE_SIGMA
    canvas += noise
    np.clip(canvas, 0, 255, out=canvas)
    canvas += 0.5                                    # round half up on the cast
    return Image.fromarray(canvas.astype(np.uint8), "RGB")


def _new_object(rng: np.random.Generator, colour: str, shape: str) -> ShapeObject:
    rgb = tuple(int(v) for v in np.asarray(COLOURS[colour]) + rng.integers(-JITTER, JITTER + 1, 3))
    size = int(rng.integers(MIN_SIZE, MAX_SIZE + 1))
    return ShapeObject(shape, colour, rgb, size, (0, 0, size, size))


def _place(o: ShapeObject, x0: int, y0: int) -> None:
    o.box = (x0, y0, x0 + o.size, y0 + o.size)


# ---------------------------------------------------------------- scenes

def _layout(a: ShapeObject, b: ShapeObject) -> str | None:
    """'horizontal' / 'vertical' if the pair obeys the spec's gap and 2:1 offset rules, else None."""
    gap_x = max(b.box[0] - a.box[2], a.box[0] - b.box[2])
    gap_y = max(b.box[1] - a.box[3], a.box[1] - b.box[3])
    if max(gap_x, gap_y) < MIN_GAP:
        return None
    # Doubled centres are integers, so the ratio test is exact.
    dx = abs((b.box[0] + b.box[2]) - (a.box[0] + a.box[2]))
    dy = abs((b.box[1] + b.box[3]) - (a.box[1] + a.box[3]))
    if dx >= 2 * dy:
        return "horizontal"
    if dy >= 2 * dx:
        return "vertical"
    return None


def _questions(rng: np.random.Generator, objects: list[ShapeObject], layout: str) -> list[tuple[str, str]]:
    qs: list[tuple[str, str]] = []
    shapes = [o.shape for o in objects]
    colours = [o.colour for o in objects]
    for o in objects:
        if shapes.count(o.shape) == 1:
            qs.append((f"what color is the {o.shape}?", o.colour))
    for o in objects:
        if colours.count(o.colour) == 1:
            qs.append((f"what shape is the {o.colour} object?", o.shape))
    qs.append(("how many objects are there?", "one" if len(objects) == 1 else "two"))
    present = [(o.colour, o.shape) for o in objects]
    qs += [(f"is there a {c} {s}?", "yes") for c, s in present]
    # As many 'no' as 'yes'.  With two objects, prefer a swapped pair (colour of one, shape
    # of the other) as the first negative: it is the case that tests colour-shape binding.
    absent = [p for p in _PAIRS if p not in present]
    negatives = []
    if len(objects) == 2:
        swaps = [(a.colour, b.shape) for a, b in (objects, objects[::-1]) if (a.colour, b.shape) in absent]
        if swaps:
            negatives.append(swaps[int(rng.integers(len(swaps)))])
    rest = [p for p in absent if p not in negatives]
    for i in rng.permutation(len(rest))[: len(objects) - len(negatives)]:
        negatives.append(rest[int(i)])
    qs += [(f"is there a {c} {s}?", "no") for c, s in negatives]
    if len(objects) == 2:
        a, b = objects                               # caption order: a is left of / above b
        first, second = ("left", "right") if layout == "horizontal" else ("top", "bottom")
        qs.append((f"where is the {a.name}?", first))
        qs.append((f"where is the {b.name}?", second))
    return qs


def draw_scene(rng: np.random.Generator, n_objects: int | None = None) -> Scene:
    """Draw one scene of the Shapes world (1 or 2 objects, equally likely unless given)."""
    if n_objects is None:
        n_objects = int(rng.integers(1, 3))
    if n_objects not in (1, 2):
        raise ValueError("n_objects must be 1 or 2")
    bg = _background(rng)
    picks = rng.choice(len(_PAIRS), size=n_objects, replace=False)   # distinct (colour, shape)
    objects = [_new_object(rng, *_PAIRS[int(i)]) for i in picks]
    if n_objects == 1:
        o = objects[0]
        _place(o, *(int(v) for v in rng.integers(0, IMAGE_SIZE - o.size + 1, 2)))
        layout = "single"
        caption = f"a {o.name}"
    else:
        a, b = objects
        # Rejection sampling over uniform positions (sizes kept, so they stay uniform);
        # ~30% of candidates pass.  Candidates come in batches to save per-call overhead.
        layout = None
        while layout is None:
            cand = rng.integers(0, IMAGE_SIZE - np.array([a.size, a.size, b.size, b.size]) + 1, size=(16, 4))
            for ax, ay, bx, by in cand.tolist():
                _place(a, ax, ay)
                _place(b, bx, by)
                layout = _layout(a, b)
                if layout is not None:
                    break
        axis = 0 if layout == "horizontal" else 1
        objects.sort(key=lambda o: o.box[axis])     # left one / upper one first
        word = "left of" if layout == "horizontal" else "above"
        caption = f"a {objects[0].name} {word} a {objects[1].name}"
    questions = _questions(rng, objects, layout)
    image = _render(bg, objects, rng)
    return Scene(image, objects, layout, caption, questions)


# ---------------------------------------------------------------- videos

def draw_video(rng: np.random.Generator, n_frames: int = N_FRAMES,
               frame_indices: list[int] | None = None) -> VideoClip:
    """Draw one clip: a single shape moving in a straight line at constant speed.

    With ``frame_indices`` only those frames are rendered (in that order); the geometry, the
    pixels of those frames and the state of ``rng`` afterwards are the same as for a full draw.
    """
    if n_frames < 2:
        raise ValueError("n_frames must be >= 2")
    idx = list(range(n_frames)) if frame_indices is None else [int(i) for i in frame_indices]
    if any(not 0 <= i < n_frames for i in idx):
        raise ValueError("frame index out of range")
    bg = _background(rng)
    o = _new_object(rng, *_PAIRS[int(rng.integers(len(_PAIRS)))])
    direction = DIRECTIONS[int(rng.integers(len(DIRECTIONS)))]
    # Integer travel and start, so the first and last boxes are exactly `travel` apart;
    # in-between positions are float and rounded when rasterised.
    travel = int(rng.integers(MIN_TRAVEL, MAX_TRAVEL + 1))
    room = IMAGE_SIZE - o.size
    along = int(rng.integers(0, room - travel + 1))  # leftmost/topmost box origin on the path
    across = int(rng.integers(0, room + 1))
    sign = 1 if direction in ("right", "down") else -1
    start = along if sign > 0 else along + travel
    boxes = []
    for k in range(n_frames):
        p = int(np.floor(start + sign * travel * k / (n_frames - 1) + 0.5))
        x0, y0 = (p, across) if direction in ("left", "right") else (across, p)
        boxes.append((x0, y0, x0 + o.size, y0 + o.size))
    o.box = boxes[0]
    # One seed per frame, always all of them: frame k's noise does not depend on which
    # frames are rendered, and rng ends in the same state either way.
    seeds = rng.integers(0, 2**63, size=n_frames)
    frames = []
    for k in idx:
        moved = ShapeObject(o.shape, o.colour, o.rgb, o.size, boxes[k])
        frames.append(_render(bg, [moved], np.random.default_rng(int(seeds[k]))))
    caption = f"a {o.name} moving {direction}"
    questions = [(f"which way is the {o.shape} moving?", direction),
                 ("what color is the moving object?", o.colour)]
    return VideoClip(frames, o, boxes, direction, caption, questions, idx)


# ---------------------------------------------------------------- writers

_CODECS = {".mp4": "libx264", ".webm": "libvpx-vp9"}


def write_video(path: str, frames: list[Image.Image], fps: int = FPS) -> None:
    """Encode PIL frames to ``path``: .mp4 -> H.264, .webm -> VP9 (yuv420p, constant fps)."""
    import av  # imported here so scenes can be drawn without PyAV installed

    ext = os.path.splitext(path)[1].lower()
    if ext not in _CODECS:
        raise ValueError(f"unsupported video extension {ext!r}; use .mp4 or .webm")
    codec = _CODECS[ext]
    if codec not in av.codecs_available:
        raise RuntimeError(f"this PyAV build has no {codec} encoder; cannot write {ext}")
    # Near-lossless settings: the frames are small and colours matter to the model.
    options = {"crf": "18"} if codec == "libx264" else {"crf": "20", "b": "0", "deadline": "realtime", "cpu-used": "8"}
    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        for img in frames:
            frame = av.VideoFrame.from_image(img.convert("RGB")).reformat(format="yuv420p")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))           # flush


def write_dataset(folder: str, n_scenes: int, n_videos: int, seed: int, video_format: str = "mp4") -> dict:
    """Write scene_XXXXX.png, video_XXXXX.{mp4,webm} and truth.json into ``folder``; return the truth."""
    if video_format not in ("mp4", "webm"):
        raise ValueError("video_format must be 'mp4' or 'webm'")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    files: dict[str, dict] = {}
    for i in range(n_scenes):
        sc = draw_scene(rng)
        name = f"scene_{i:05d}.png"
        sc.image.save(os.path.join(folder, name))
        files[name] = {"kind": "image", "caption": sc.caption, "layout": sc.layout,
                       "objects": [o.to_dict() for o in sc.objects],
                       "questions": [list(qa) for qa in sc.questions]}
    for i in range(n_videos):
        clip = draw_video(rng)
        name = f"video_{i:05d}.{video_format}"
        write_video(os.path.join(folder, name), clip.frames, FPS)
        files[name] = {"kind": "video", "caption": clip.caption, "direction": clip.direction,
                       "objects": [clip.object.to_dict()], "boxes": [list(b) for b in clip.boxes],
                       "fps": FPS, "n_frames": len(clip.frames),
                       "questions": [list(qa) for qa in clip.questions]}
    truth = {"world": "shapes", "spec": "SHAPES_WORLD.md", "seed": seed,
             "box_convention": "(x0, y0, x1, y1) pixels, x1/y1 exclusive", "files": files}
    with open(os.path.join(folder, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    return truth
