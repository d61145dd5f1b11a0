"""PaliGemma inputs: images resized to the checkpoint's square, prompts laid out as the reference does.

    processor = load_paligemma_processor("google/paligemma2-3b-mix-224")   # or a local folder
    batch = processor(images=[img], text=["detect cat ; dog"])            # prompt only: for generation
    batch = processor(images=[img], text=["caption en"], suffix=["a cat"])  # with the answer: labels too

Layout of one row (the reference's): `<image>` x N, `<bos>`, prompt + "\\n" (the prefix, token
type 0), then suffix + `<eos>` (type 1, the only tokens with labels; -100 elsewhere). Rows are
left-padded with `<pad>` (type 0, attention 0), as generation wants.

Control tokens cannot be injected: typed text is tokenized with every *special* token of
tokenizer.json (`<image>`, `<bos>`, `<eos>`, `<pad>`, `<start_of_turn>`, ...) read as plain
characters (escaped, not stripped: "<image>" typed by a user reaches the model as the
characters "<", "image", ">"); the real control tokens are placed by id. `<loc0000>`..`<loc1023>`
and `<seg000>`..`<seg127>` are content, not control: they stay single tokens in prompts and in
decoded answers.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .errors import CheckpointError, InputError

IMAGE_TOKEN = "<image>"
LOC_TOKENS = [f"<loc{i:04d}>" for i in range(1024)]
SEG_TOKENS = [f"<seg{i:03d}>" for i in range(128)]
MAX_PROMPT_CHARS = 2000
MAX_PROMPT_TOKENS = 1024  # text tokens per row (image tokens not counted)
MIN_IMAGE_SIDE, MAX_IMAGE_SIDE = 8, 2048  # what a checkpoint's preprocessor config may ask for
PROCESSOR_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "preprocessor_config.json", "config.json")


@dataclass
class PaliGemmaInputs:
    """A batch ready for the model (the reference processor's keys)."""

    pixel_values: torch.Tensor | None  # (B or 1, 3, S, S) float32
    input_ids: torch.Tensor  # (B, L)
    attention_mask: torch.Tensor  # (B, L) 1 = real token
    token_type_ids: torch.Tensor  # (B, L) 0 prefix (image, bos, prompt, "\n"), 1 suffix
    labels: torch.Tensor | None = None  # (B, L) suffix ids, -100 elsewhere; only with a suffix

    def to_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __getitem__(self, key):  # batch["input_ids"], like the reference's BatchFeature
        return self.to_dict()[key]

    def keys(self):
        return self.to_dict().keys()


@dataclass
class SquareImageProcessor:
    """SigLIP's slow image processor: resize to S x S (PIL, bicubic), rescale, normalise; no crop."""

    size: int = 224
    resample: int = 3  # PIL.Image.BICUBIC
    rescale_factor: float = 1 / 255
    image_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    image_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    do_resize: bool = True
    do_rescale: bool = True
    do_normalize: bool = True

    @classmethod
    def from_config(cls, cfg: dict) -> "SquareImageProcessor":
        size = cfg.get("size", {"height": 224, "width": 224})
        if isinstance(size, dict):
            h, w = size.get("height", size.get("shortest_edge")), size.get("width", size.get("shortest_edge"))
        else:
            h = w = size
        if h is None or h != w:
            raise CheckpointError(f"preprocessor_config.json asks for a {h}x{w} image: PaliGemma needs a square size.")
        if not MIN_IMAGE_SIDE <= int(h) <= MAX_IMAGE_SIDE:
            raise CheckpointError(f"preprocessor_config.json asks for {h}x{w} images, outside "
                                  f"[{MIN_IMAGE_SIDE}, {MAX_IMAGE_SIDE}].")
        keep = {k: cfg[k] for k in ("resample", "rescale_factor", "do_resize", "do_rescale", "do_normalize")
                if cfg.get(k) is not None}
        mean, std = cfg.get("image_mean", cls.image_mean), cfg.get("image_std", cls.image_std)
        return cls(size=int(h), image_mean=tuple(mean), image_std=tuple(std), **keep)

    def to_rgb(self, image):
        """PIL image / path / (H, W, 3) uint8 array -> RGB PIL image (transparency onto white, as the reference)."""
        from PIL import Image

        if isinstance(image, (str, os.PathLike)):
            image = _open(image)
        elif isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[-1] not in (3, 4) or image.dtype != np.uint8:
                raise InputError(f"Image arrays must be (height, width, 3) uint8, got {image.shape} {image.dtype}.")
            image = Image.fromarray(image)
        if not isinstance(image, Image.Image):
            raise InputError(f"Expected an image (PIL image, path or uint8 array), got {type(image).__name__}.")
        if min(image.size) < 1:
            raise InputError(f"The image is empty ({image.size[0]}x{image.size[1]} pixels).")
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            rgba = image.convert("RGBA")
            return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
        return image.convert("RGB")

    def __call__(self, images) -> torch.Tensor:
        """One image or a list -> (B, 3, S, S) float32."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            raise InputError("No image given.")
        out = []
        for image in images:
            image = self.to_rgb(image)
            if self.do_resize:
                image = image.resize((self.size, self.size), resample=self.resample)
            x = np.asarray(image)
            if self.do_rescale:  # float64 multiply, then float32: the reference's order of rounding
                x = (x.astype(np.float64) * self.rescale_factor).astype(np.float32)
            else:
                x = x.astype(np.float32)
            if self.do_normalize:
                x = (x - np.array(self.image_mean, np.float32)) / np.array(self.image_std, np.float32)
            out.append(torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))))
        return torch.stack(out)


def _open(path):
    """A path -> PIL image, through gitdemo.processing.open_image when that module exists."""
    try:
        from .processing import open_image
    except ImportError:
        open_image = None
    if open_image is not None:
        return open_image(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"Cannot read an image from {path}: {exc}") from exc


class PaliGemmaProcessor:
    """Images and prompts -> `PaliGemmaInputs`; generated ids -> text. Holds no model."""

    def __init__(self, tokenizer, image_processor: SquareImageProcessor, image_seq_length: int,
                 padding_side: str = "left"):
        from tokenizers import AddedToken

        tokenizer = _loc_seg_not_special(tokenizer)
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.image_seq_length = int(image_seq_length)
        self.padding_side = padding_side
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        if IMAGE_TOKEN not in vocab:  # the reference adds it when the tokenizer lacks it
            tokenizer.add_special_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)])
        missing = [t for t in LOC_TOKENS + SEG_TOKENS if t not in vocab]
        tokenizer.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
        if missing and len(missing) < len(LOC_TOKENS + SEG_TOKENS):
            raise CheckpointError(f"tokenizer.json has some <loc>/<seg> tokens but not {missing[0]}: a broken file?")
        tokenizer.encode_special_tokens = True  # typed text can never produce a control token
        self.image_token_id = tokenizer.token_to_id(IMAGE_TOKEN)
        self.bos_id, self.eos_id, self.pad_id = (self._id(t) for t in ("<bos>", "<eos>", "<pad>"))
        self.loc0, self.seg0 = tokenizer.token_to_id(LOC_TOKENS[0]), tokenizer.token_to_id(SEG_TOKENS[0])
        self.special_ids = {i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
        self.special_ids |= {self.image_token_id, self.bos_id, self.eos_id, self.pad_id}

    def _id(self, token: str) -> int:
        i = self.tokenizer.token_to_id(token)
        if i is None:
            raise CheckpointError(f"tokenizer.json has no {token} token: is this a Gemma / PaliGemma tokenizer?")
        return i

    # ------------------------------------------------------------------ text
    def encode_text(self, text: str) -> list[int]:
        """Plain text -> ids, control tokens escaped (see the module docstring)."""
        if not isinstance(text, str):
            raise InputError(f"Prompts must be text, got {type(text).__name__}.")
        if len(text) > MAX_PROMPT_CHARS:
            raise InputError(f"The prompt is too long ({len(text)} characters; at most {MAX_PROMPT_CHARS}).")
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def _row(self, prompt: str, suffix: str | None) -> tuple[list[int], list[int]]:
        prefix = [self.image_token_id] * self.image_seq_length + [self.bos_id] + self.encode_text(prompt + "\n")
        answer = [] if suffix is None else self.encode_text(suffix) + [self.eos_id]
        if len(prefix) + len(answer) - self.image_seq_length > MAX_PROMPT_TOKENS:
            raise InputError(f"The prompt and answer are too long (at most {MAX_PROMPT_TOKENS} tokens).")
        return prefix + answer, [0] * len(prefix) + [1] * len(answer)

    def __call__(self, images=None, text: str | Sequence[str] | None = None,
                 suffix: str | Sequence[str] | None = None, padding_side: str | None = None) -> PaliGemmaInputs:
        """One image per prompt, or one image for every prompt. `text` None means an empty prompt."""
        texts = [text] if isinstance(text, str) or text is None else list(text)
        texts = ["" if t is None else t for t in texts]
        if not texts:
            raise InputError("No prompt given.")
        suffixes = None if suffix is None else ([suffix] if isinstance(suffix, str) else list(suffix))
        if suffixes is not None and len(suffixes) != len(texts):
            raise InputError(f"Got {len(suffixes)} suffixes for {len(texts)} prompts.")
        pixel_values = None
        if images is not None:
            pixel_values = self.image_processor(images)
            if pixel_values.shape[0] not in (1, len(texts)):
                raise InputError(f"Got {pixel_values.shape[0]} images for {len(texts)} prompts: give one image per "
                                 f"prompt, or a single image for all.")
        rows = [self._row(t, None if suffixes is None else s) for t, s in zip(texts, suffixes or texts)]
        length = max(len(ids) for ids, _ in rows)
        side = padding_side or self.padding_side
        ids, mask, types = (torch.full((len(rows), length), fill, dtype=torch.long)
                            for fill in (self.pad_id, 0, 0))
        for i, (row, tt) in enumerate(rows):
            span = slice(length - len(row), length) if side == "left" else slice(0, len(row))
            ids[i, span], mask[i, span], types[i, span] = torch.tensor(row), 1, torch.tensor(tt)
        labels = ids.masked_fill(types == 0, -100) if suffixes is not None else None
        return PaliGemmaInputs(pixel_values, ids, mask, types, labels)

    # ------------------------------------------------------------------ decoding
    def decode(self, ids, skip_special_tokens: bool = True, keep_loc_seg: bool = True) -> str:
        """Ids -> text. Control tokens are dropped when skip_special_tokens; <loc>/<seg> kept if keep_loc_seg."""
        ids = [int(i) for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids)]
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.special_ids]
        if not keep_loc_seg:
            ids = [i for i in ids if not self.is_loc(i) and not self.is_seg(i)]
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def batch_decode(self, rows, **kwargs) -> list[str]:
        return [self.decode(r, **kwargs) for r in rows]

    def is_loc(self, token_id: int) -> bool:
        return self.loc0 is not None and self.loc0 <= token_id < self.loc0 + 1024

    def is_seg(self, token_id: int) -> bool:
        return self.seg0 is not None and self.seg0 <= token_id < self.seg0 + 128


def _loc_seg_not_special(tokenizer):
    """A tokenizer whose <loc>/<seg> tokens are ordinary added tokens (some files mark them special,
    which would make them unreadable in prompts once special tokens are escaped)."""
    from tokenizers import Tokenizer

    names = set(LOC_TOKENS + SEG_TOKENS)
    if not any(t.special and t.content in names for t in tokenizer.get_added_tokens_decoder().values()):
        return tokenizer
    data = json.loads(tokenizer.to_str())
    for t in data.get("added_tokens", []):
        if t["content"] in names:
            t["special"] = False
    return Tokenizer.from_str(json.dumps(data))


def load_paligemma_processor(folder: str | os.PathLike, padding_side: str = "left") -> PaliGemmaProcessor:
    """The processor of a PaliGemma checkpoint: a local folder or a Hub repo id (tokenizer and configs only)."""
    from tokenizers import Tokenizer

    from .weights import resolve

    path = resolve(folder, patterns=PROCESSOR_FILES)
    tok_file = Path(path) / "tokenizer.json"
    if not tok_file.is_file():
        raise CheckpointError(f"No tokenizer.json in {path}: PaliGemma's processor needs the Gemma tokenizer file.")
    try:
        tokenizer = Tokenizer.from_file(str(tok_file))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises its own exception types
        raise CheckpointError(f"{tok_file} is not a readable tokenizer file ({exc}).") from exc
    pre = _read_json(Path(path) / "preprocessor_config.json")
    cfg = _read_json(Path(path) / "config.json")
    image = SquareImageProcessor.from_config(pre)
    seq = pre.get("image_seq_length")
    if seq is None:  # older folders: from the model config (one token per patch)
        vision = cfg.get("vision_config") or {}
        patch = vision.get("patch_size", 14)
        seq = (image.size // (patch[0] if isinstance(patch, list) else patch)) ** 2
    if not 1 <= int(seq) <= 16384:
        raise CheckpointError(f"image_seq_length {seq} is out of range.")
    return PaliGemmaProcessor(tokenizer, image, int(seq), padding_side)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}).") from exc


__all__ = ["PaliGemmaProcessor", "PaliGemmaInputs", "SquareImageProcessor", "load_paligemma_processor",
           "IMAGE_TOKEN", "LOC_TOKENS", "SEG_TOKENS"]
