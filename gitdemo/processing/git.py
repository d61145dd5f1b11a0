"""Text -> the ids GIT reads, and the GIT processor: images and text -> `pixel_values`, `input_ids`.

`GitTokenizer` wraps a `tokenizers.Tokenizer` (BERT WordPiece, bert-base-uncased ids). User text
can never produce a special token: "[SEP]" typed in a question is the three tokens "[", "sep", "]"
(the reference maps it to the special id 102 unless `split_special_tokens=True`).

`GitProcessor` pairs it with the CLIP `ImageProcessor` (see `image.py`) and batches prompts the
way GIT's generation wants them: left-padded, so every prompt ends in the last column.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import torch
from PIL import Image

from ..errors import CheckpointError, InputError
from ..models.git.config import GitConfig
from ._shared import check_padding_side, pad_rows, read_json
from .image import ImageProcessor, clip_preset


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
        """Any of: `images` -> pixel_values (B, 3, H, W) ((B, 1, 3, H, W) on a video checkpoint);
        `videos` (lists of frames) -> (B, F, 3, H, W);
        `text` -> [CLS] text [SEP] (captions for training or scoring); `question` -> [CLS] question
        (a prompt to continue). Text batches are padded on `padding_side` ("left" keeps every
        prompt's last token in the last column, which generation needs), with an attention_mask.
        """
        if text is not None and question is not None:
            raise InputError("Give either text (a caption) or question (a prompt), not both.")
        check_padding_side(padding_side)
        out: dict[str, torch.Tensor] = {}
        if images is not None:
            out["pixel_values"] = self.image_processor(images)
            if self.image_processor.video_input:  # a video checkpoint: each image is a one-frame clip
                out["pixel_values"] = out["pixel_values"][:, None]
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
        return pad_rows(rows, self.tokenizer.pad_token_id, padding_side)

    def answer_from_ids(self, ids, prompt_len: int) -> str:
        """The generated text after a prompt of `prompt_len` tokens (padding included, if any)."""
        return self.tokenizer.decode(_id_list(ids)[prompt_len:]).strip()

    def batch_decode(self, sequences, skip_special_tokens: bool = True) -> list[str]:
        return self.tokenizer.batch_decode(sequences, skip_special_tokens)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens)



# ----------------------------------------------------------------------------- loading
def load_tokenizer(folder: str | os.PathLike) -> GitTokenizer:
    """tokenizer.json if present, else vocab.txt with tokenizer_config.json's do_lower_case (default True)."""
    folder = Path(folder)
    cfg = read_json(folder / "tokenizer_config.json")
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


def load_git_processor(folder: Path, raw_config: dict) -> GitProcessor:
    """The processor of a local GIT checkpoint folder whose config.json reads `raw_config` ({} if absent).

    Without a preprocessor_config.json the CLIP preset is used at the config's image size
    (shortest edge = crop = vision_config.image_size): that is what every GIT checkpoint uses.
    """
    config = GitConfig.from_dict(raw_config) if raw_config else GitConfig()
    if (folder / "preprocessor_config.json").is_file():
        image_processor = ImageProcessor.from_dict(read_json(folder / "preprocessor_config.json"))
    else:
        image_processor = ImageProcessor.from_dict(clip_preset(config.vision_config.image_size))
        image_processor.video_input = config.num_frames > 1  # the video checkpoints use VideoMAE's processor
    return GitProcessor(image_processor, load_tokenizer(folder), num_frames=config.num_frames,
                        max_length=config.max_position_embeddings)


__all__ = ["GitTokenizer", "GitProcessor", "load_tokenizer", "load_git_processor"]
