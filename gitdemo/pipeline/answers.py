"""PaliGemma's structured answers: `<loc>` boxes, `<seg>` masks, labels separated by " ; ".

One object in an answer is 4 `<locNNNN>` tokens (y_min, x_min, y_max, x_max, each a bin of 1024
over the image's height or width), optionally 16 `<segNNN>` tokens (codes of a VQ-VAE whose
decoder draws a 64 x 64 mask inside the box), then its label; objects are separated by " ; ":

    "<loc0256><loc0128><loc0768><loc0896> cat ; <loc0010><loc0020><loc0500><loc0400> dog"

Parsing rules (tolerant: a model's output is never an error):
  * a run of `<loc>` tokens whose length is not a multiple of 4 is malformed and skipped;
    a run of 4k makes k boxes, the label going to the last;
  * a run of `<seg>` tokens of any length but 16 is skipped (its box stays, without a mask);
  * a box whose max edge lies before its min edge is skipped; coordinates are clipped to the image;
  * a missing label is the empty string.
Masks need the decoder's weights (`segmask.py`); without them `parse` still returns every box and says why
masks are missing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import CheckpointError, HubError, InputError
from ..lang import say
from .segmask import SEG_PER_OBJECT, MaskDecoder, load_mask_decoder

LOC_BINS = 1024  # <loc0000>..<loc1023>: each coordinate is a bin of 1/1024 of the image's height or width
TOKEN_RE = re.compile(r"<loc(\d{4})>|<seg(\d{3})>|;|[^<;]+|<")
MAX_ANSWER_CHARS = 100_000


@dataclass
class Detection:
    """One object: a pixel box in the original image, its label, and its mask when one was decoded."""

    box: tuple[int, int, int, int]  # (x_min, y_min, x_max, y_max), pixels, clipped to the image
    label: str
    mask: np.ndarray | None = None  # (height, width) float32 in [0, 1]; 0 outside the box
    bins: tuple[int, int, int, int] = (0, 0, 0, 0)  # the raw <loc> values: (y_min, x_min, y_max, x_max)
    seg_codes: tuple[int, ...] | None = None  # the 16 <seg> values, when present


@dataclass
class ParsedAnswer:
    detections: list[Detection]
    text: str  # the answer with <loc>/<seg> tokens removed
    mask_note: str | None = None  # why some masks are missing (decoder weights unavailable), else None
    image_size: tuple[int, int] = (0, 0)  # (width, height) the boxes refer to
    extra: dict = field(default_factory=dict)


# ============================================================================ parsing
def _items(answer: str) -> list[tuple[str, int | str]]:
    """The answer as ('loc', n) / ('seg', n) / ('sep', ';') / ('text', s) items."""
    items = []
    for m in TOKEN_RE.finditer(answer):
        if m.group(1) is not None:
            items.append(("loc", int(m.group(1))))
        elif m.group(2) is not None:
            items.append(("seg", int(m.group(2))))
        elif m.group(0) == ";":
            items.append(("sep", ";"))
        else:
            items.append(("text", m.group(0)))
    return items


def _run(items, i: int, kind: str) -> list[int]:
    values = []
    while i + len(values) < len(items) and items[i + len(values)][0] == kind:
        values.append(items[i + len(values)][1])
    return values


def _to_pixels(bins, width: int, height: int) -> tuple[int, int, int, int] | None:
    y0, x0, y1, x1 = bins
    if y1 < y0 or x1 < x0:
        return None
    clip = lambda v, hi: int(min(max(round(v), 0), hi))  # noqa: E731
    return (clip(x0 / LOC_BINS * width, width), clip(y0 / LOC_BINS * height, height),
            clip(x1 / LOC_BINS * width, width), clip(y1 / LOC_BINS * height, height))


def parse_locations(answer: str, width: int, height: int) -> tuple[list[Detection], str]:
    """Boxes (no masks yet) and the plain text of an answer; see the module docstring for the rules."""
    if not isinstance(answer, str):
        raise InputError(f"Expected the model's answer as text, got {type(answer).__name__}.")
    if width < 1 or height < 1:
        raise InputError(f"The image size must be positive, got {width}x{height}.")
    answer = answer[:MAX_ANSWER_CHARS]
    items = _items(answer)
    detections: list[Detection] = []
    text = "".join(v for k, v in items if k in ("text", "sep"))
    i = 0
    while i < len(items):
        kind = items[i][0]
        if kind != "loc":
            i += 1
            continue
        locs = _run(items, i, "loc")
        i += len(locs)
        if len(locs) % 4:
            continue  # malformed run: no way to tell which four belong together
        codes = _run(items, i, "seg")
        i += len(codes)
        label = []
        while i < len(items) and items[i][0] == "text":
            label.append(items[i][1])
            i += 1
        if i < len(items) and items[i][0] == "sep":
            i += 1
        groups = [tuple(locs[j:j + 4]) for j in range(0, len(locs), 4)]
        for g, bins in enumerate(groups):
            box = _to_pixels(bins, width, height)
            if box is None:
                continue
            last = g == len(groups) - 1
            detections.append(Detection(
                box=box, label="".join(label).strip() if last else "", bins=bins,
                seg_codes=tuple(codes) if last and len(codes) == SEG_PER_OBJECT else None))
    return detections, re.sub(r"\s+", " ", text).strip()


def masks_in_image(decoder: MaskDecoder, detections: list[Detection], width: int, height: int) -> None:
    """Decode each detection's codes and paste its mask, resized to the box, into an image-sized array."""
    from PIL import Image

    todo = [d for d in detections if d.seg_codes is not None]
    if not todo:
        return
    with torch.no_grad():
        m64 = decoder(torch.tensor([d.seg_codes for d in todo]))  # (B, 64, 64)
    probs = (m64.float() * 0.5 + 0.5).clamp(0, 1).numpy()  # [-1, 1] -> [0, 1]
    for det, p in zip(todo, probs):
        x0, y0, x1, y1 = det.box
        full = np.zeros((height, width), np.float32)
        if x1 > x0 and y1 > y0:
            small = Image.fromarray((p * 255).astype(np.uint8)).resize((x1 - x0, y1 - y0), Image.BILINEAR)
            full[y0:y1, x0:x1] = np.asarray(small, np.float32) / 255.0
        det.mask = full


def parse(answer: str, image_size: tuple[int, int], masks: bool = True,
          decoder: MaskDecoder | None = None) -> ParsedAnswer:
    """Detections (boxes, labels, masks when possible) of an answer about an image of (width, height)."""
    width, height = (int(v) for v in image_size)
    detections, text = parse_locations(answer, width, height)
    note = None
    if masks and any(d.seg_codes is not None for d in detections):
        try:
            masks_in_image(decoder or load_mask_decoder(), detections, width, height)
        except (HubError, CheckpointError) as exc:
            note = str(exc)
    return ParsedAnswer(detections, text, note, (width, height))


LOC_EXPLANATION = (
    f"Each box is 4 `<locNNNN>` tokens: y_min, x_min, y_max, x_max, each a bin out of {LOC_BINS} over the image's "
    f"height or width, so pixel x = NNNN / {LOC_BINS} x width (and y = NNNN / {LOC_BINS} x height); "
    f"16 `<segNNN>` tokens after a box are codes a small VQ-VAE decodes into the object's mask.")


def image_size(image) -> tuple[int, int]:
    """(width, height) of a PIL image or an (H, W, C) array: what boxes refer to."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.size
    arr = np.asarray(image)
    return int(arr.shape[1]), int(arr.shape[0])


def annotations(image, answer: str, masks: bool = True, decoder=None) -> tuple[tuple, ParsedAnswer]:
    """An answer -> (the `gr.AnnotatedImage` value (image, [(box, label), (mask, label)]), the parsed answer).

    Boxes are pixel (x0, y0, x1, y1) in the original image; an unlabeled object is called "object k"."""
    parsed = parse(answer, image_size(image), masks=masks, decoder=decoder)
    items = []
    for k, d in enumerate(parsed.detections, 1):
        label = d.label or f"object {k}"
        items.append((tuple(int(v) for v in d.box), label))
        if d.mask is not None:
            items.append((d.mask.astype(np.float32), label))
    return (image, items), parsed


def describe_detections(parsed: ParsedAnswer) -> str:
    """One line per box: its <loc> bins and the pixels they become."""
    if not parsed.detections:
        return say("No `<loc>` boxes in this answer (ask with `detect …` or `segment …` to get some).")
    w, h = parsed.image_size
    lines = [say(LOC_EXPLANATION), ""]
    for k, d in enumerate(parsed.detections, 1):
        y0, x0, y1, x1 = d.bins
        line = say("- **{label}**: `{locs}` → x {x0}/{bins}·{w} = {left} to {x1}/{bins}·{w} = {right}, "
                   "y {y0}/{bins}·{h} = {top} to {y1}/{bins}·{h} = {bottom} px",
                   label=d.label or say("object {k}", k=k), locs=f"<loc{y0:04d}><loc{x0:04d}><loc{y1:04d}><loc{x1:04d}>",
                   x0=x0, x1=x1, y0=y0, y1=y1, bins=LOC_BINS, w=w, h=h, left=d.box[0], right=d.box[2],
                   top=d.box[1], bottom=d.box[3])
        lines.append(line + (say("; mask decoded") if d.mask is not None else ""))
    if parsed.mask_note:
        lines.append(f"\n{parsed.mask_note}")
    return "\n".join(lines)


__all__ = ["LOC_BINS", "LOC_EXPLANATION", "Detection", "ParsedAnswer", "parse", "parse_locations", "masks_in_image",
           "image_size", "annotations", "describe_detections"]
