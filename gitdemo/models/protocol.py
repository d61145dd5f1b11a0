"""The generation protocol GIT and PaliGemma implement, and what they share around it.

    model.new_cache() -> KVCache
    model.prefill(pixel_values, input_ids, attention_mask, position_ids, cache, output_attentions, logits_for, ...)
        -> (StepOutput, image_embeds, vision_attentions)
    model.step(input_ids, cache, output_attentions) -> StepOutput

`gitdemo.generation` drives any model with these methods; `generate` / `stream` here only hand the
model to it (imported when called: generation comes after the models in the flow and imports
`models.layers` itself).
"""
from __future__ import annotations

import torch
from torch import nn

from .layers import KVCache


class GenerativeModel(nn.Module):
    """What GIT and PaliGemma share around the generation protocol (`prefill`, `step`, `new_cache`):
    dtype and device (the LM head's), the cache, and the reference-style `generate` / `stream`."""

    def lm_head_weight(self) -> torch.Tensor:
        raise NotImplementedError

    def num_decoder_layers(self) -> int:
        raise NotImplementedError

    @property
    def dtype(self) -> torch.dtype:
        w = self.lm_head_weight()
        return w.dtype if w.is_floating_point() else torch.float32  # an int8 head computes in float32

    @property
    def device(self) -> torch.device:
        return self.lm_head_weight().device

    def new_cache(self) -> KVCache:
        return KVCache(self.num_decoder_layers())

    def generate(self, pixel_values=None, input_ids=None, **kwargs):
        """Token ids like the reference's `generate`; see `gitdemo.generation.generate` for the options
        (PaliGemma also takes token_type_ids)."""
        from ..generation import generate

        return generate(self, pixel_values=pixel_values, input_ids=input_ids, **kwargs)

    def stream(self, pixel_values=None, input_ids=None, **kwargs):
        """Yield each new token as it is produced; see `gitdemo.generation.stream`."""
        from ..generation import stream

        return stream(self, pixel_values=pixel_values, input_ids=input_ids, **kwargs)


__all__ = ["GenerativeModel"]
