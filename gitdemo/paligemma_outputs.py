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
Masks need the decoder's weights (`vae-oid.npz`, from the Hub Space big_vision published with
PaliGemma); without them `parse` still returns every box and says why masks are missing.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import CheckpointError, HubError, InputError

LOC_BINS, SEG_CODES, SEG_PER_OBJECT = 1024, 128, 16
TOKEN_RE = re.compile(r"<loc(\d{4})>|<seg(\d{3})>|;|[^<;]+|<")
# Where the decoder weights live: the PaliGemma demo Space of big_vision (a Space, not a model repo).
VAE_SOURCES = (("google/paligemma-hf", "vae-oid.npz"), ("big-vision/paligemma-hf", "vae-oid.npz"))
VAE_ENV = "GITDEMO_VAE_OID"  # a local vae-oid.npz, used first
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


# ============================================================================ the VQ-VAE mask decoder
class ResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(), nn.Conv2d(dim, dim, 3, padding=1),
                                 nn.ReLU(), nn.Conv2d(dim, dim, 1))

    def forward(self, x):
        return x + self.net(x)


class MaskDecoder(nn.Module):
    """16 codes (a 4 x 4 grid of 512-d codebook vectors) -> a 64 x 64 mask, roughly in [-1, 1].

    Layer indices mirror the keys of vae-oid.npz (`decoder.0` ... `decoder.12`): a 1x1 conv to
    128 channels, two residual blocks, four 2x transposed convolutions (128, 64, 32, 16
    channels; 4 -> 64 pixels), and a 1x1 conv to one channel.
    """

    def __init__(self, codebook_size: int = SEG_CODES, embed_dim: int = 512, dim: int = 128):
        super().__init__()
        self.codebook = nn.Parameter(torch.zeros(codebook_size, embed_dim))  # npz: _vq_vae._embedding
        ups, d = [], dim
        for out in (dim, dim // 2, dim // 4, dim // 8):
            ups += [nn.ConvTranspose2d(d, out, 4, stride=2, padding=1), nn.ReLU()]
            d = out
        self.decoder = nn.Sequential(nn.Conv2d(embed_dim, dim, 1), nn.ReLU(), ResBlock(dim), ResBlock(dim),
                                     *ups, nn.Conv2d(d, 1, 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes (B, 16) in [0, 128) -> (B, 64, 64)."""
        if codes.ndim != 2 or codes.shape[1] != SEG_PER_OBJECT:
            raise InputError(f"Mask codes must be (batch, {SEG_PER_OBJECT}), got {tuple(codes.shape)}.")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.codebook.shape[0]):
            raise InputError(f"Mask codes must lie in [0, {self.codebook.shape[0]}).")
        x = self.codebook[codes.long()]  # (B, 16, E)
        x = x.view(codes.shape[0], 4, 4, -1).permute(0, 3, 1, 2)  # (B, E, 4, 4): row-major grid
        return self.decoder(x)[:, 0]

    @classmethod
    def from_npz(cls, path: str | os.PathLike) -> "MaskDecoder":
        try:
            arrays = dict(np.load(path))
        except Exception as exc:  # noqa: BLE001 - numpy raises several types for a bad file
            raise CheckpointError(f"{path} is not a readable vae-oid.npz ({exc}).") from exc
        if "_vq_vae._embedding" not in arrays:
            raise CheckpointError(f"{path} has no '_vq_vae._embedding': not the PaliGemma mask decoder.")
        model = cls(*arrays["_vq_vae._embedding"].shape)
        state = {"codebook": arrays.pop("_vq_vae._embedding")}
        state.update({k: v for k, v in arrays.items() if k.startswith("decoder.")})
        own = model.state_dict()
        if set(own) != set(state) or any(tuple(own[k].shape) != tuple(state[k].shape) for k in own):
            raise CheckpointError(f"{path} does not match the mask decoder (keys or shapes differ).")
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()})
        return model.eval().requires_grad_(False)


_DECODER: MaskDecoder | None = None  # weights only (read-only after loading): safe to share between users


def load_mask_decoder(path: str | os.PathLike | None = None) -> MaskDecoder:
    """The decoder from `path`, $GITDEMO_VAE_OID, the Hub cache, or the Hub; a clear error otherwise."""
    global _DECODER
    if path is not None:
        return MaskDecoder.from_npz(path)
    if _DECODER is None:
        _DECODER = MaskDecoder.from_npz(os.environ.get(VAE_ENV) or _find_vae())
    return _DECODER


def _find_vae() -> Path:
    from .weights import hub_reachable

    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:  # pragma: no cover - a runtime dependency
        raise HubError("huggingface_hub is missing, so the mask decoder cannot be fetched.") from exc
    for online in (False, True):  # the cache first, then the network
        if online and not hub_reachable():
            break
        for repo, name in VAE_SOURCES:
            try:
                return Path(hf_hub_download(repo, name, repo_type="space", local_files_only=not online))
            except Exception:  # noqa: BLE001 - not cached / not found: try the next source
                continue
    raise HubError(f"Masks are unavailable: the mask decoder weights (vae-oid.npz, from the Hugging Face "
                   f"Space {VAE_SOURCES[0][0]}) could not be found or downloaded. Boxes still work; to get "
                   f"masks, download the file and set {VAE_ENV} to its path.")


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


__all__ = ["Detection", "ParsedAnswer", "parse", "parse_locations", "MaskDecoder", "load_mask_decoder",
           "masks_in_image", "VAE_SOURCES", "VAE_ENV"]
