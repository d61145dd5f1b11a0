"""Images and text -> the tensors GIT reads: `pixel_values` (B, 3, H, W) and `input_ids`.

`ImageProcessor` reproduces the reference *slow* (PIL) CLIP image processor that every GIT
checkpoint names in its `preprocessor_config.json`, step for step, so our pixels match it to
float rounding:

    convert to RGB (alpha composited onto white) -> resize (PIL, bicubic) -> centre crop
    -> rescale (x 1/255, in float64, then float32) -> normalise ((x - mean) / std, float32)

Deliberate differences, all for inputs the reference handles badly:
- EXIF orientation is applied first (`ImageOps.exif_transpose`): a phone photo taken upright is
  seen upright. Only images that carry an EXIF rotation are affected.
- 16-bit / 32-bit / float grey images (`I;16`, `I`, `F`) whose values go above 255 are scaled to
  0..255; the reference clips them, which turns a normal 16-bit PNG white.
- An image whose resized copy would exceed `MAX_RESIZED_PIXELS` (a 1 x 5000 sliver) is refused
  with an InputError instead of allocating gigabytes.

`GitTokenizer` wraps a `tokenizers.Tokenizer` (BERT WordPiece, bert-base-uncased ids). User text
can never produce a special token: "[SEP]" typed in a question is the three tokens "[", "sep", "]"
(the reference maps it to the special id 102 unless `split_special_tokens=True`).
"""
from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import CheckpointError, InputError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
MAX_PIXELS = 100_000_000  # refuse files above 100 megapixels before decoding them (decompression bombs)
MAX_RESIZED_PIXELS = 40_000_000  # refuse absurd aspect ratios whose resized copy would be huge


# ----------------------------------------------------------------------------- opening user files
def open_image(source: Any) -> Image.Image:
    """A decoded, upright PIL image from a path, bytes, a binary file object, or a PIL image.

    Only the header is read before the pixel count is checked, so a 12000 x 12000 "bomb" is refused
    in milliseconds. Animated GIF / WebP / APNG give their first frame. Every failure (missing file,
    not an image, truncated, empty, too large) is an InputError that says what to do.
    """
    if isinstance(source, Image.Image):
        _check_pixels(source.size)
        return _upright(source)
    if isinstance(source, (bytes, bytearray)):
        source, name = io.BytesIO(source), "the uploaded data"
    elif isinstance(source, (str, os.PathLike)):
        name = f"'{os.path.basename(os.fspath(source))}'"
        if not os.path.isfile(source):
            raise InputError(f"No image file at {os.fspath(source)}.")
        if os.path.getsize(source) == 0:
            raise InputError(f"{name} is empty (0 bytes); upload the image again.")
    elif hasattr(source, "read"):
        name = "the uploaded file"
    else:
        raise InputError(f"Cannot open an image from a {type(source).__name__}; give a file path or a PIL image.")
    try:
        with warnings.catch_warnings():  # our own limit below replaces Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                _check_pixels(im.size)
                im.seek(0)  # first frame of an animation
                im.load()
                image = im.copy()  # detached from the file, which is closed on leaving `with`
    except Image.DecompressionBombError as exc:
        raise InputError(f"{name} is too large to open safely (over {MAX_PIXELS // 1_000_000} megapixels).") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{name} is not an image Pillow can read; use a JPEG, PNG, GIF or WebP file.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{name} could not be decoded ({exc}); the file may be truncated or corrupt.") from exc
    return _upright(image)


def _check_pixels(size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise InputError(f"The image has no pixels ({w} x {h}).")
    if w * h > MAX_PIXELS:
        raise InputError(f"The image is {w} x {h} ({w * h / 1e6:.0f} megapixels); the limit is "
                         f"{MAX_PIXELS // 1_000_000}. Downscale it and try again.")


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag (a no-op, without a copy, for images that have none)."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the image being used
        return image
    return ImageOps.exif_transpose(image) if orientation in range(2, 9) else image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB the way the reference does it: transparency composited onto white, the rest `convert`."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        peak = float(a.max()) if a.size else 0.0
        if peak > 255:  # real 16/32-bit data: scale instead of clipping (see the module docstring)
            a = a * (255.0 / max(peak, 65535.0))
        image = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "L")
    try:
        if "A" in image.getbands() or image.info.get("transparency") is not None:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return image.convert("RGB")
    except ValueError as exc:
        raise InputError(f"Images in colour mode {image.mode} are not supported; "
                         f"save it as an RGB PNG or JPEG.") from exc


def _as_pil(image: Any) -> Image.Image:
    """PIL images pass through; uint8 arrays (H, W), (H, W, C) or (C, H, W) become PIL images.

    (An RGBA *array* is then composited by PIL, which may round 1/255 differently from the
    reference's numpy blend; RGB and grey arrays match it exactly.)"""
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    if not isinstance(image, np.ndarray):
        raise InputError(f"Expected a PIL image or a numpy array, got {type(image).__name__}.")
    a = image
    if a.ndim == 3 and a.shape[-1] not in (1, 3, 4) and a.shape[0] in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # channels first -> last
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise InputError(f"An image array must be (H, W), (H, W, 3|4) or (3|4, H, W); got shape {image.shape}.")
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and a.min() >= 0 and a.max() <= 1:
            a = a * 255.0  # floats in [0, 1]
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


# ----------------------------------------------------------------------------- image processor
def _size_dict(value: Any, default_to_square: bool) -> dict[str, int]:
    """The reference's legacy size spellings -> a dict: an int is the shortest edge for `size`
    (CLIP's default_to_square=False) and a square for `crop_size`; a pair is (height, width)."""
    if isinstance(value, dict):
        return {k: int(v) for k, v in value.items() if v is not None}
    if isinstance(value, int):
        return {"height": value, "width": value} if default_to_square else {"shortest_edge": value}
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return {"height": int(value[0]), "width": int(value[1])}
    raise CheckpointError(f"Cannot read an image size from {value!r} in preprocessor_config.json.")


@dataclass
class ImageProcessor:
    """PIL images -> normalised (B, 3, H, W) float32, as the reference slow CLIPImageProcessor.

    `size` is {"shortest_edge": N} (keep the aspect ratio, short side N; GIT), optionally with
    "longest_edge", or {"height", "width"} (squash to that size; PaliGemma, with do_center_crop False).
    """

    size: dict = field(default_factory=lambda: {"shortest_edge": 224})
    crop_size: dict = field(default_factory=lambda: {"height": 224, "width": 224})
    resample: int = Image.Resampling.BICUBIC
    do_resize: bool = True
    do_center_crop: bool = True
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    do_normalize: bool = True
    image_mean: tuple = CLIP_MEAN
    image_std: tuple = CLIP_STD
    do_convert_rgb: bool = True

    @classmethod
    def from_dict(cls, cfg: dict) -> "ImageProcessor":
        """From a `preprocessor_config.json` dict; absent keys keep the CLIP defaults."""
        kw = {k: cfg[k] for k in ("resample", "do_resize", "do_center_crop", "do_rescale", "rescale_factor",
                                  "do_normalize", "do_convert_rgb") if cfg.get(k) is not None}
        if cfg.get("size") is not None:
            kw["size"] = _size_dict(cfg["size"], default_to_square=False)
        if cfg.get("crop_size") is not None:
            kw["crop_size"] = _size_dict(cfg["crop_size"], default_to_square=True)
        for key in ("image_mean", "image_std"):
            if cfg.get(key) is not None:
                v = cfg[key]
                kw[key] = tuple(v) if isinstance(v, (list, tuple)) else (float(v),) * 3
        return cls(**kw)

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(H, W) of every output image, when the config fixes it."""
        if self.do_center_crop:
            return self.crop_size["height"], self.crop_size["width"]
        if self.do_resize and "height" in self.size:
            return self.size["height"], self.size["width"]
        return None

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) after resizing, with the reference's rounding (int() truncates)."""
        s = self.size
        if "shortest_edge" in s and "longest_edge" in s:
            return _short_long_size(height, width, s["shortest_edge"], s["longest_edge"])
        if "shortest_edge" in s:
            short, long = min(height, width), max(height, width)
            new_short, new_long = s["shortest_edge"], int(s["shortest_edge"] * long / short)
            return (new_long, new_short) if width <= height else (new_short, new_long)
        if "height" in s and "width" in s:
            return s["height"], s["width"]
        raise CheckpointError(f"Unsupported image size setting {s}: use shortest_edge or height and width.")

    def process_one(self, image: Any) -> np.ndarray:
        """One image -> (3, H, W) float32 array."""
        image = _upright(_as_pil(image))
        image = to_rgb(image) if self.do_convert_rgb else image.convert("RGB")
        if self.do_resize:
            h, w = self.resized_size(image.height, image.width)
            if h * w > MAX_RESIZED_PIXELS:
                raise InputError(f"The image ({image.width} x {image.height}) is too long and thin to process; "
                                 f"crop it closer to a normal aspect ratio.")
            image = image.resize((w, h), resample=self.resample)  # PIL sizes are (width, height)
        a = np.asarray(image)  # (H, W, 3) uint8
        if self.do_center_crop:
            a = center_crop(a, self.crop_size["height"], self.crop_size["width"])
        x = a.astype(np.float64) * self.rescale_factor if self.do_rescale else a
        x = x.astype(np.float32)
        if self.do_normalize:
            x = (x - np.asarray(self.image_mean, np.float32)) / np.asarray(self.image_std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))  # (H, W, 3) -> (3, H, W)

    def __call__(self, images: Any) -> torch.Tensor:
        """An image or a list of images (PIL of any mode, or uint8 arrays) -> (B, 3, H, W) float32."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        if not images:
            raise InputError("No image given.")
        arrays = [self.process_one(im) for im in images]
        if len({a.shape for a in arrays}) > 1:
            raise InputError("These images come out at different sizes (the config has no centre crop); "
                             "process them one at a time.")
        return torch.from_numpy(np.stack(arrays))

    def preprocess_frames(self, frames: Sequence[Image.Image]) -> torch.Tensor:
        """Video frames -> (F, 3, H, W); each frame is processed exactly like an image."""
        return self(list(frames))


def _short_long_size(height: int, width: int, size: int, max_size: int) -> tuple[int, int]:
    """The reference's shortest_edge + longest_edge rule (get_size_with_aspect_ratio)."""
    raw = None
    lo, hi = float(min(height, width)), float(max(height, width))
    if hi / lo * size > max_size:
        raw = max_size * lo / hi
        size = int(round(raw))
    if (height <= width and height == size) or (width <= height and width == size):
        return height, width
    if width < height:
        return int((raw if raw is not None else size) * height / width), size
    return size, int((raw if raw is not None else size) * width / height)


def center_crop(a: np.ndarray, ch: int, cw: int) -> np.ndarray:
    """Crop (H, W, C) to (ch, cw) about the centre; the offset rounds down, as in the reference.
    A side smaller than the crop is padded with zeros (top/left get the extra pixel)."""
    h, w = a.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0:
        return a[top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    pt, pl = -(-(nh - h) // 2), -(-(nw - w) // 2)  # ceil division
    out = np.zeros((nh, nw) + a.shape[2:], a.dtype)
    out[pt:pt + h, pl:pl + w] = a
    top, left = top + pt, left + pl
    return out[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]


# ----------------------------------------------------------------------------- tokenizer
def _token_name(value: Any, default: str) -> str:
    """tokenizer_config.json spells special tokens as strings or as {"content": ...} dicts."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else default


class GitTokenizer:
    """BERT WordPiece text <-> ids, as the reference BertTokenizerFast (bert-base-uncased ids).

    Never pads or truncates on its own; `max_length` cuts the text tokens so that the result,
    special tokens included, is at most that long.
    """

    def __init__(self, backend, cls_token: str = "[CLS]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                 unk_token: str = "[UNK]", mask_token: str = "[MASK]"):
        backend.no_truncation()  # some tokenizer.json files carry the trainer's truncation/padding
        backend.no_padding()
        backend.add_special_tokens([t for t in (pad_token, unk_token, cls_token, sep_token, mask_token)
                                    if backend.token_to_id(t) is not None])  # so decode can skip them
        backend.encode_special_tokens = True  # user text "[SEP]" stays text: no injected special tokens
        self.backend = backend
        ids = {name: backend.token_to_id(tok) for name, tok in
               (("cls", cls_token), ("sep", sep_token), ("pad", pad_token))}
        missing = [n for n, i in ids.items() if i is None]
        if missing:
            raise CheckpointError(f"The tokenizer has no {', '.join(missing)} token; is this a BERT/GIT tokenizer?")
        self.cls_token_id, self.sep_token_id, self.pad_token_id = ids["cls"], ids["sep"], ids["pad"]
        self.vocab_size = backend.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_file(cls, tokenizer_json: str | os.PathLike, **special) -> "GitTokenizer":
        from tokenizers import Tokenizer

        try:
            backend = Tokenizer.from_file(str(tokenizer_json))
        except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception for bad JSON
            raise CheckpointError(f"{tokenizer_json} is not a readable tokenizer.json ({exc}).") from exc
        return cls(backend, **special)

    @classmethod
    def from_vocab(cls, vocab_txt: str | os.PathLike, do_lower_case: bool = True, tokenize_chinese_chars: bool = True,
                   strip_accents: bool | None = None, unk_token: str = "[UNK]", **special) -> "GitTokenizer":
        """The BERT pipeline built from a WordPiece `vocab.txt` (one token per line, id = line number)."""
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

        with open(vocab_txt, encoding="utf-8") as f:
            vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}  # a repeated line keeps its last id
        backend = Tokenizer(models.WordPiece(vocab, unk_token=unk_token, max_input_chars_per_word=100))
        backend.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=tokenize_chinese_chars,
                                                        strip_accents=strip_accents, lowercase=do_lower_case)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.WordPiece(prefix="##", cleanup=True)
        return cls(backend, unk_token=unk_token, **special)

    def _text_ids(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise InputError(f"Text must be a string, got {type(text).__name__}.")
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode(self, text: str, add_special_tokens: bool = True, max_length: int | None = None) -> list[int]:
        """[CLS] text [SEP] (or the bare text ids); cut to `max_length` keeping [SEP] last."""
        ids = self._text_ids(text)
        extra = 2 if add_special_tokens else 0
        if max_length is not None:
            ids = ids[:max(0, max_length - extra)]
        return [self.cls_token_id, *ids, self.sep_token_id] if add_special_tokens else ids

    def encode_prompt(self, question: str, max_length: int | None = None) -> list[int]:
        """[CLS] question, no [SEP]: the model continues the text with the answer (GIT's VQA prompt)."""
        ids = self._text_ids(question)
        if max_length is not None:
            ids = ids[:max(0, max_length - 1)]
        return [self.cls_token_id, *ids]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """Ids -> text, cleaned the BERT way ("##" pieces joined; unknown ids dropped)."""
        return self.backend.decode(_id_list(ids), skip_special_tokens=skip_special_tokens)

    def batch_decode(self, sequences: Iterable[Iterable[int]], skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(s, skip_special_tokens) for s in sequences]

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.token_text(i) for i in _id_list(ids)]

    def token_text(self, token_id: int) -> str:
        """The vocabulary entry, for showing one token in the UI: "dog", "##s", "[SEP]"."""
        token = self.backend.id_to_token(int(token_id))
        return token if token is not None else f"<{int(token_id)}>"


def _id_list(ids: Any) -> list[int]:
    if isinstance(ids, torch.Tensor):
        ids = ids.reshape(-1).tolist()
    return [int(i) for i in ids]


# ----------------------------------------------------------------------------- the processor
class GitProcessor:
    """Image processor + tokenizer, batching prompts the way GIT's generation wants them."""

    def __init__(self, image_processor: ImageProcessor, tokenizer: GitTokenizer, num_frames: int = 1,
                 max_length: int = 1024):
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.num_frames = num_frames  # frames per video the checkpoint was trained on (1: images only)
        self.max_length = max_length  # text positions the model has (max_position_embeddings)

    def __call__(self, images=None, text=None, question=None, videos=None, padding_side: str = "left",
                 max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Any of: `images` -> pixel_values (B, 3, H, W); `videos` (lists of frames) -> (B, F, 3, H, W);
        `text` -> [CLS] text [SEP] (captions for training or scoring); `question` -> [CLS] question
        (a prompt to continue). Text batches are padded on `padding_side` ("left" keeps every
        prompt's last token in the last column, which generation needs), with an attention_mask.
        """
        if text is not None and question is not None:
            raise InputError("Give either text (a caption) or question (a prompt), not both.")
        if padding_side not in ("left", "right"):
            raise InputError(f"padding_side must be 'left' or 'right', not {padding_side!r}.")
        out: dict[str, torch.Tensor] = {}
        if images is not None:
            out["pixel_values"] = self.image_processor(images)
        if videos is not None:
            videos = getattr(videos, "frames", videos)  # a video.VideoFrames
            if videos and isinstance(videos[0], Image.Image):
                videos = [videos]  # one video
            out["pixel_values"] = torch.stack([self.image_processor.preprocess_frames(v) for v in videos])
        strings = text if text is not None else question
        if strings is not None:
            strings = [strings] if isinstance(strings, str) else list(strings)
            if not strings:
                raise InputError("An empty list of texts was given.")
            limit = max_length or self.max_length
            rows = [self.tokenizer.encode(s, max_length=limit) if text is not None
                    else self.tokenizer.encode_prompt(s, max_length=limit) for s in strings]
            out["input_ids"], out["attention_mask"] = self.pad(rows, padding_side)
            n_images = len(out["pixel_values"]) if "pixel_values" in out else 1
            if 1 < n_images != len(rows) > 1:
                raise InputError(f"{n_images} images but {len(rows)} texts: give one text per image.")
        return out

    def pad(self, rows: list[list[int]], padding_side: str = "left") -> tuple[torch.Tensor, torch.Tensor]:
        """Rows of ids -> (input_ids, attention_mask), both (B, T) long, padded with [PAD]."""
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            cols = slice(width - len(r), width) if padding_side == "left" else slice(0, len(r))
            ids[i, cols] = torch.tensor(r, dtype=torch.long)
            mask[i, cols] = 1
        return ids, mask

    def answer_from_ids(self, ids, prompt_len: int) -> str:
        """The generated text after a prompt of `prompt_len` tokens (padding included, if any)."""
        return self.tokenizer.decode(_id_list(ids)[prompt_len:]).strip()

    def batch_decode(self, sequences, skip_special_tokens: bool = True) -> list[str]:
        return self.tokenizer.batch_decode(sequences, skip_special_tokens)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens)


# ----------------------------------------------------------------------------- loading
def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}).") from exc


def load_tokenizer(folder: str | os.PathLike) -> GitTokenizer:
    """tokenizer.json if present, else vocab.txt with tokenizer_config.json's do_lower_case (default True)."""
    folder = Path(folder)
    cfg = _read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    special = {f"{k}_token": _token_name(cfg.get(f"{k}_token"), f"[{k.upper()}]")
               for k in ("cls", "sep", "pad", "mask")}
    if (folder / "tokenizer.json").is_file():
        return GitTokenizer.from_file(folder / "tokenizer.json", unk_token=_token_name(cfg.get("unk_token"), "[UNK]"),
                                      **special)
    if (folder / "vocab.txt").is_file():
        return GitTokenizer.from_vocab(folder / "vocab.txt", do_lower_case=cfg.get("do_lower_case", True),
                                       tokenize_chinese_chars=cfg.get("tokenize_chinese_chars", True),
                                       strip_accents=cfg.get("strip_accents"),
                                       unk_token=_token_name(cfg.get("unk_token"), "[UNK]"), **special)
    raise CheckpointError(f"No tokenizer in {folder}: expected tokenizer.json or vocab.txt.")


def load_processor(name_or_path: str | os.PathLike | None = None):
    """The processor of a checkpoint: a folder, a Hub id, or None for the embedded model.

    Without a preprocessor_config.json the CLIP defaults are used at the config's image size
    (shortest edge = crop = vision_config.image_size): that is what every GIT checkpoint uses.
    A `model_type: paligemma` folder is handed to `gitdemo.paligemma_processing` when present.
    """
    if name_or_path is None:
        from .loading import default_model_path

        folder = Path(default_model_path())
    else:
        from .weights import resolve

        folder = Path(resolve(name_or_path, patterns=("*.json", "*.txt")))
    raw = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    if raw.get("model_type") == "paligemma":
        try:
            from .paligemma_processing import load_paligemma_processor
        except ModuleNotFoundError as exc:  # only the module itself missing; its own import errors propagate
            if exc.name != f"{__package__}.paligemma_processing":
                raise
            raise CheckpointError("This is a PaliGemma checkpoint, and PaliGemma processing "
                                  "is not in this build.") from None
        return load_paligemma_processor(folder)
    from .config import GitConfig

    config = GitConfig.from_dict(raw) if raw else GitConfig()
    if (folder / "preprocessor_config.json").is_file():
        image_processor = ImageProcessor.from_dict(_read_json(folder / "preprocessor_config.json"))
    else:
        n = config.vision_config.image_size
        image_processor = ImageProcessor(size={"shortest_edge": n}, crop_size={"height": n, "width": n})
    return GitProcessor(image_processor, load_tokenizer(folder), num_frames=config.num_frames,
                        max_length=config.max_position_embeddings)


__all__ = ["open_image", "to_rgb", "ImageProcessor", "center_crop", "GitTokenizer", "GitProcessor",
           "load_tokenizer", "load_processor", "MAX_PIXELS"]
