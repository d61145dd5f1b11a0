"""A user's input -> what a model reads, for either family: the one place that knows how GIT and PaliGemma differ
on the way in (and how their tokens read back out).

GIT: frames (1 image, or F video frames) + an optional question; the image tokens go *in front of* input_ids
(the model prepends them), each frame being CLIP's class token then rows x cols patches.
PaliGemma: one image + a required prompt; input_ids already hold the `<image>` placeholders (N = rows x cols
SigLIP patches, no class token), then `<bos>`, the prompt, "\\n"; token_type_ids mark that prefix.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InputError
from ..explain.maps import ImageLayout
from .answers import image_size
from .prompts import clean_prompt, clean_question


def family(model) -> str:
    """"git" or "paligemma": the model's `config.model_type`."""
    return "paligemma" if getattr(model.config, "model_type", "git") == "paligemma" else "git"


@dataclass
class Inputs:
    family: str
    prompt: str | None  # the cleaned question (GIT; None: a caption) or prompt (PaliGemma)
    pixel_values: torch.Tensor  # (1, 3, H, W), or (1, F, 3, H, W) for a GIT video (F = 1: image, video checkpoint)
    input_ids: torch.Tensor  # (1, T): GIT [CLS] (+ question); PaliGemma <image> x N, <bos>, prompt, "\n"
    layout: ImageLayout
    attention_mask: torch.Tensor | None = None  # (1, T) PaliGemma only
    token_type_ids: torch.Tensor | None = None  # (1, T) PaliGemma only: 0 = prefix
    image_size: tuple[int, int] | None = None  # (width, height) of the original image (PaliGemma's boxes)

    @property
    def model_kwargs(self) -> dict:
        """What generation / the model takes: pixel_values, input_ids (+ PaliGemma's mask and token types)."""
        kw = dict(pixel_values=self.pixel_values, input_ids=self.input_ids)
        if self.family == "paligemma":
            kw.update(attention_mask=self.attention_mask, token_type_ids=self.token_type_ids)
        return kw


def _git(model, processor, images, question) -> Inputs:
    frames = list(images) if isinstance(images, (list, tuple)) else [images]
    if not frames or any(f is None for f in frames):
        raise InputError("No image was given.")
    pixels = processor.image_processor(frames)  # (F, 3, H, W)
    # a clip, or any input of a video checkpoint (one image = a one-frame clip, as the reference's VideoMAE processor)
    clip = len(frames) > 1 or getattr(processor.image_processor, "video_input", False)
    pixel_values = pixels[None] if clip else pixels
    tok = processor.tokenizer
    question = clean_question(question)
    if question is None:
        ids = [tok.cls_token_id]
    else:
        limit = model.config.max_position_embeddings // 2
        ids = tok.encode_prompt(question)[:limit]
    return Inputs("git", question, pixel_values, torch.tensor([ids]), ImageLayout.for_model(model, len(frames)))


def _paligemma(model, processor, image, prompt) -> Inputs:
    if isinstance(image, (list, tuple)):
        if len(image) != 1:
            raise InputError(f"PaliGemma reads one image at a time, not {len(image)}.")
        image = image[0]
    if image is None:
        raise InputError("Upload an image first.")
    prompt = clean_prompt(prompt)
    batch = processor(images=image, text=prompt)
    layout = ImageLayout.for_model(model)
    n = int(model.image_token_mask(batch.input_ids)[0].sum())
    if n != layout.num_image_tokens:
        raise InputError(f"This processor makes {n} image tokens but the model's vision tower has "
                         f"{layout.num_image_tokens} patches: the processor and model folders disagree.")
    return Inputs("paligemma", prompt, batch.pixel_values, batch.input_ids, layout, batch.attention_mask,
                  batch.token_type_ids, image_size(image))


def prepare(model, processor, images, prompt=None) -> Inputs:
    """Check and encode one input: images (an image or a list of frames) and the question / prompt."""
    if family(model) == "paligemma":
        return _paligemma(model, processor, images, prompt)
    return _git(model, processor, images, prompt)


def token_text(processor, token_id: int) -> str:
    """One token as the tokenizer holds it (SentencePiece's word marker shown as a space)."""
    tok = getattr(processor, "tokenizer", None)
    if hasattr(tok, "token_text"):  # GIT's WordPiece tokenizer
        return tok.token_text(int(token_id))
    piece = tok.id_to_token(int(token_id))
    return "" if piece is None else piece.replace("▁", " ")


def eos_ids(model, processor) -> set[int]:
    """Every id that ends an answer (PaliGemma's tokenizer and config may name different ones)."""
    cfg = model.config
    ids = list(getattr(cfg, "eos_token_ids", None) or [cfg.eos_token_id]) + [getattr(processor, "eos_id", None)]
    return {int(i) for i in ids if i is not None}


__all__ = ["Inputs", "family", "prepare", "token_text", "eos_ids"]
