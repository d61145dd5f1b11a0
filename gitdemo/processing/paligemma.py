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

from ..errors import CheckpointError, InputError
from ..io.hub import resolve
from ..io.images import open_image
from ._shared import check_padding_side, pad_rows, read_json
from .image import square_image_processor

IMAGE_TOKEN = "<image>"
LOC_TOKENS = [f"<loc{i:04d}>" for i in range(1024)]
SEG_TOKENS = [f"<seg{i:03d}>" for i in range(128)]
MAX_PROMPT_CHARS = 2000
MAX_PROMPT_TOKENS = 1024  # text tokens per row (image tokens not counted)
PROCESSOR_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "preprocessor_config.json", "config.json")


# The task prefixes PaliGemma was trained with (big_vision's PaliGemma README; the *-mix models
# answer all of them). {lang} is a language code such as "en"; {text} the user's part.
TASKS = {
    "caption": "caption {lang}",
    "describe": "describe {lang}",
    "answer": "answer {lang} {text}",
    "question": "question {lang} {text}",
    "detect": "detect {text}",
    "segment": "segment {text}",
    "ocr": "ocr",
}


def task_prompt(task: str, text: str = "", lang: str = "en") -> str:
    """The prompt for a task: task_prompt("detect", "cat ; dog") -> "detect cat ; dog"."""
    if task not in TASKS:
        raise InputError(f"Unknown task '{task}'; choose one of {', '.join(TASKS)}.")
    if not isinstance(text, str) or not isinstance(lang, str):
        raise InputError("The task's text and language must be text.")
    lang = lang.strip() or "en"
    if not lang.replace("-", "").isalnum() or len(lang) > 10:
        raise InputError(f"'{lang}' is not a language code (like en, fr, zh-CN).")
    text = " ".join(text.split())
    if "{text}" in TASKS[task] and not text:
        raise InputError(f"The '{task}' task needs some text (what to {'find' if task != 'answer' else 'answer'}).")
    if task in ("detect", "segment"):  # objects are separated by " ; " as the model writes them
        text = " ; ".join(part.strip() for part in text.split(";") if part.strip())
    return TASKS[task].format(lang=lang, text=text)


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


def _pixels(image_processor, images) -> torch.Tensor:
    """Images (PIL, uint8 arrays, paths or bytes; one or a list) -> (B, 3, S, S) float32.

    Files and PIL images go through `open_image` (size limits, EXIF orientation, as for GIT)."""
    if not isinstance(images, (list, tuple)):
        images = [images]
    opened = [im if isinstance(im, (np.ndarray, torch.Tensor)) else open_image(im) for im in images]
    return image_processor(opened)


class PaliGemmaProcessor:
    """Images and prompts -> `PaliGemmaInputs`; generated ids -> text. Holds no model."""

    def __init__(self, tokenizer, image_processor, image_seq_length: int,
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
        if missing and len(missing) < len(LOC_TOKENS + SEG_TOKENS):
            raise CheckpointError(f"tokenizer.json has some <loc>/<seg> tokens but not {missing[0]}: a broken file?")
        # as the reference's add_tokens: existing pieces become unsplittable, absent ones are appended
        tokenizer.add_tokens([AddedToken(t, normalized=False) for t in LOC_TOKENS + SEG_TOKENS])
        tokenizer.encode_special_tokens = True  # typed text can never produce a control token
        self.image_token_id = tokenizer.token_to_id(IMAGE_TOKEN)
        self.bos_id, self.eos_id, self.pad_id = (self._id(t) for t in ("<bos>", "<eos>", "<pad>"))
        self.loc_ids = {tokenizer.token_to_id(t) for t in LOC_TOKENS}
        self.seg_ids = {tokenizer.token_to_id(t) for t in SEG_TOKENS}
        self.special_ids = {i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
        self.special_ids |= {self.image_token_id, self.bos_id, self.eos_id, self.pad_id}

    @property
    def image_size(self) -> int:
        """The square side images are resized to."""
        return self.image_processor.size["height"]

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
        if not all(isinstance(t, str) for t in texts + list(suffix if isinstance(suffix, (list, tuple)) else [])):
            raise InputError("Prompts and suffixes must be text.")
        if not texts:
            raise InputError("No prompt given.")
        suffixes = None if suffix is None else ([suffix] if isinstance(suffix, str) else list(suffix))
        if suffixes is not None and len(suffixes) != len(texts):
            raise InputError(f"Got {len(suffixes)} suffixes for {len(texts)} prompts.")
        pixel_values = None
        if images is not None:
            pixel_values = _pixels(self.image_processor, images)
            if pixel_values.shape[0] not in (1, len(texts)):
                raise InputError(f"Got {pixel_values.shape[0]} images for {len(texts)} prompts: give one image per "
                                 f"prompt, or a single image for all.")
        rows = [self._row(t, None if suffixes is None else s) for t, s in zip(texts, suffixes or texts)]
        side = check_padding_side(padding_side or self.padding_side)
        ids, mask = pad_rows([row for row, _ in rows], self.pad_id, side)
        types, _ = pad_rows([tt for _, tt in rows], 0, side)
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
        return token_id in self.loc_ids

    def is_seg(self, token_id: int) -> bool:
        return token_id in self.seg_ids


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

    path = resolve(folder, patterns=PROCESSOR_FILES)
    tok_file = Path(path) / "tokenizer.json"
    if not tok_file.is_file():
        raise CheckpointError(f"No tokenizer.json in {path}: PaliGemma's processor needs the Gemma tokenizer file.")
    try:
        tokenizer = Tokenizer.from_file(str(tok_file))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises its own exception types
        raise CheckpointError(f"{tok_file} is not a readable tokenizer file ({exc}).") from exc
    pre = read_json(Path(path) / "preprocessor_config.json")
    cfg = read_json(Path(path) / "config.json")
    image = square_image_processor(pre)
    seq = pre.get("image_seq_length")
    if seq is None:  # older folders: from the model config (one token per patch)
        vision = cfg.get("vision_config") or {}
        patch = vision.get("patch_size", 14)
        seq = (image.size["height"] // (patch[0] if isinstance(patch, list) else patch)) ** 2
    if not 1 <= int(seq) <= 16384:
        raise CheckpointError(f"image_seq_length {seq} is out of range.")
    return PaliGemmaProcessor(tokenizer, image, int(seq), padding_side)


__all__ = ["PaliGemmaProcessor", "PaliGemmaInputs", "load_paligemma_processor", "task_prompt", "TASKS",
           "IMAGE_TOKEN", "LOC_TOKENS", "SEG_TOKENS", "MAX_PROMPT_CHARS"]
