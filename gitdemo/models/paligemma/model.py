"""PaliGemma: SigLIP image tokens, a linear projector, and a Gemma (or Gemma 2) decoder with a prefix-LM mask.

The prompt the decoder reads is the reference's: `<image>` x N, `<bos>`, prompt, `\\n` (the prefix),
then the answer (the suffix). The image features replace the `<image>` placeholders, so image
tokens sit *inside* `input_ids` (after any left padding), unlike GIT where they come in front.
Mask (the one rule of `layers.visibility`, ranks = cumsum(token_type_ids)): the whole prefix,
image included, is one bidirectional block; each suffix token sees the prefix and the suffix up
to itself. Quirks reproduced on purpose:
  * positions are 1-indexed (the first token has position 1);
  * image features are *not* scaled by sqrt(hidden): only text embeddings are (the reference's
    older code divided the image features by the same factor the decoder later multiplied back);
  * without token_type_ids the reference's forward is causal everywhere, image included; so is ours;
  * Gemma 2 soft-caps the final logits: tanh(logits / cap) * cap.

Module attribute names mirror transformers 5.x keys (`model.vision_tower.*`,
`model.multi_modal_projector.*`, `model.language_model.*`, `lm_head.weight` tied to the token
embeddings); the names in the public checkpoints and in `save_pretrained` files
(`vision_tower.vision_model.*`, `language_model.model.*`, ...) are mapped by
`io.checkpoint.PALIGEMMA_RENAMES` (part of `io.checkpoint.RENAMES`).
Shapes: B batch, N image tokens, L sequence length (image + text), V vocabulary, D hidden size.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputError
from ..layers import AttentionRecord, KVCache, StepOutput, ranks_from_ar, visibility
from ..protocol import GenerativeModel
from .config import PaliGemmaConfig
from .gemma import GemmaModel
from .siglip import SiglipVisionModel


@dataclass
class PaliGemmaOutput:
    """What `PaliGemmaForConditionalGeneration.forward` returns (the reference's field names)."""

    logits: torch.Tensor  # (B, L, V): every position, image placeholders included
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per decoder layer (B, H, L, L)
    vision_attentions: tuple[torch.Tensor, ...] | None = None  # per vision layer (B, H, N, N)
    image_hidden_states: torch.Tensor | None = None  # (B, N, D) projected image tokens


class PaliGemmaMultiModalProjector(nn.Module):
    def __init__(self, cfg: PaliGemmaConfig):
        super().__init__()
        self.linear = nn.Linear(cfg.vision_config.hidden_size, cfg.projection_dim)

    def forward(self, x):
        return self.linear(x)


class PaliGemmaModel(nn.Module):
    def __init__(self, cfg: PaliGemmaConfig):
        super().__init__()
        self.vision_tower = SiglipVisionModel(cfg.vision_config)
        self.multi_modal_projector = PaliGemmaMultiModalProjector(cfg)
        self.language_model = GemmaModel(cfg.text_config)


class PaliGemmaForConditionalGeneration(GenerativeModel):
    """PaliGemma / PaliGemma 2 with the LM head. Pure tensor code: no PIL, tokenizer or sampling."""

    default_dtype = torch.bfloat16  # what `load_model` uses unless told otherwise (registry.DEFAULT_DTYPES)
    image_tokens_in_prompt = True  # image placeholders are part of input_ids (GIT puts them in front)

    def __init__(self, config: PaliGemmaConfig):
        super().__init__()
        self.config = config
        self.model = PaliGemmaModel(config)
        t = config.text_config
        self.lm_head = nn.Linear(t.hidden_size, t.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.language_model.embed_tokens.weight
            # a checkpoint read with assign=True brings separate tensors: share them again (one copy in memory)
            self.register_load_state_dict_post_hook(lambda module, _keys: module.tie_weights())

    @classmethod
    def tied_weights(cls, config: PaliGemmaConfig) -> dict[str, str]:
        """Parameters a checkpoint may leave out because they share another's tensor."""
        return {"lm_head.weight": "model.language_model.embed_tokens.weight"} if config.tie_word_embeddings else {}

    def tie_weights(self) -> None:
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.language_model.embed_tokens.weight

    def lm_head_weight(self) -> torch.Tensor:
        return self.lm_head.weight

    def num_decoder_layers(self) -> int:
        return self.config.text_config.num_hidden_layers

    # ------------------------------------------------------------------ pieces
    def encode_image(self, pixel_values: torch.Tensor, record: AttentionRecord | bool = AttentionRecord.NONE,
                     interpolate_pos_encoding: bool = False):
        """(B, 3, H, W) -> projected image tokens (B, N, D) and the recorded per-layer vision attentions."""
        if pixel_values.ndim != 4:
            raise InputError(f"PaliGemma reads one image per prompt: pixel_values must be (batch, 3, height, width), "
                             f"got shape {tuple(pixel_values.shape)}.")
        feats, att = self.model.vision_tower(pixel_values.to(self.dtype), AttentionRecord.of(record),
                                             interpolate_pos_encoding)
        return self.model.multi_modal_projector(feats), att

    def image_token_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, L) True where `input_ids` holds the `<image>` placeholder (where the image tokens go)."""
        return input_ids == self.config.image_token_index

    def embed(self, input_ids: torch.Tensor, image_embeds: torch.Tensor | None) -> torch.Tensor:
        """Scaled token embeddings, with the image tokens written over the `<image>` placeholders."""
        vocab = self.config.text_config.vocab_size
        is_image = self.image_token_mask(input_ids)
        ids = input_ids.masked_fill(is_image, 0) if self.config.image_token_index >= vocab else input_ids
        if ids.numel() and (ids.min() < 0 or ids.max() >= vocab):
            raise InputError(f"Token ids must lie in [0, {vocab}).")
        embeds = self.model.language_model.embed(ids)
        if image_embeds is None:
            return embeds
        counts = is_image.sum(1)
        n = image_embeds.shape[1]
        if bool((counts != n).any()):
            raise InputError(f"Each prompt needs exactly {n} <image> tokens for its image, found "
                             f"{sorted(set(counts.tolist()))}; build prompts with the PaliGemma processor.")
        if image_embeds.shape[0] != ids.shape[0]:  # one image for several prompts
            image_embeds = image_embeds.expand(ids.shape[0], -1, -1)
        # image tokens are not scaled by sqrt(hidden): they replace the already scaled placeholders
        return embeds.masked_scatter(is_image[..., None], image_embeds.to(embeds.dtype))

    def layout(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
               token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Ranks and validity (B, L) of every position: what the mask rule reads.

        token_type_ids 0 (prefix: image + prompt) share one rank; each 1 (suffix) opens a new rank.
        Without token_type_ids every position opens its own rank (causal), as in the reference.
        """
        mask_ar = torch.ones_like(input_ids) if token_type_ids is None else token_type_ids.to(input_ids.device)
        valid = (torch.ones_like(input_ids) if attention_mask is None else attention_mask.to(input_ids.device)).bool()
        return ranks_from_ar(mask_ar), valid

    def mask_for(self, input_ids, attention_mask=None, token_type_ids=None) -> torch.Tensor:
        """(B, 1, L, L) boolean: the full-attention layers' mask for this input (for the mask view)."""
        ranks, valid = self.layout(input_ids, attention_mask, token_type_ids)
        return visibility(ranks, ranks, valid)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        # 2-D into the head: a sliced 3-D view would send F.linear through bmm, which first copies
        # the whole (transposed) embedding matrix -- 1 GB for PaliGemma -- on every call
        logits = self.lm_head(hidden.reshape(-1, hidden.shape[-1])).view(*hidden.shape[:-1], -1)
        cap = self.config.text_config.final_logit_softcapping if self.config.text_config.is_gemma2 else None
        if cap is not None:  # Gemma 2: final logits soft-capped
            logits = torch.tanh(logits / cap) * cap
        return logits

    def decode(self, embeds, position_ids, ranks, valid, cache: KVCache | None,
               record: AttentionRecord = AttentionRecord.NONE, logits_for: slice | None = None) -> StepOutput:
        x, attentions = self.model.language_model(embeds, position_ids, ranks, valid, cache, record)
        if logits_for is not None:
            x = x[:, logits_for]
        return StepOutput(self.logits(x), attentions)

    # ------------------------------------------------------------------ the generation protocol
    def _insert_image_tokens(self, input_ids, attention_mask, token_type_ids, n: int):
        """Prompts without placeholders: put n `<image>` tokens first, after each row's left padding."""
        b = input_ids.shape[0]
        dev = input_ids.device
        ids = torch.cat([torch.full((b, n), self.config.image_token_index, dtype=input_ids.dtype, device=dev),
                         input_ids], 1)
        mask = torch.cat([torch.ones(b, n, dtype=attention_mask.dtype, device=dev), attention_mask], 1)
        types = torch.cat([torch.zeros(b, n, dtype=token_type_ids.dtype, device=dev), token_type_ids], 1)
        order = torch.argsort(mask.ne(0).int(), dim=1, stable=True)  # padding first, the rest in order
        return ids.gather(1, order), mask.gather(1, order), types.gather(1, order)

    def prefill(self, pixel_values=None, input_ids=None, attention_mask=None, position_ids=None,
                cache: KVCache | None = None, output_attentions: AttentionRecord | bool = False,
                logits_for: slice | None = None, image_embeds: torch.Tensor | None = None, token_type_ids=None,
                interpolate_pos_encoding=False):
        """Image and prompt in one pass; returns (StepOutput, image_embeds, vision_attentions).

        position_ids follow the protocol (0 for each row's first real token; left padding skipped);
        PaliGemma's 1-indexing is added here. token_type_ids: None means the whole prompt is prefix
        (one bidirectional block, as with the reference processor's output); pass 1s for suffix tokens.
        Prompts without `<image>` placeholders get them in front. With a cache, image keys and
        values stay in it: later steps never look at the image again. output_attentions: a bool or an
        `AttentionRecord` (LAST_ROW: the newest row per decoder layer, no vision records, as SigLIP has no CLS).
        """
        record = AttentionRecord.of(output_attentions)
        vision_att = None
        if image_embeds is None and pixel_values is not None:
            image_embeds, vision_att = self.encode_image(pixel_values, record.for_vision(class_token=False),
                                                         interpolate_pos_encoding)
        if input_ids is None:
            if image_embeds is None:
                raise InputError("Give pixel_values, input_ids, or both.")
            input_ids = torch.full((image_embeds.shape[0], 1), self.config.bos_token_id, device=image_embeds.device)
        dev = input_ids.device
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if image_embeds is not None and not bool(self.image_token_mask(input_ids).any()):
            input_ids, attention_mask, token_type_ids = self._insert_image_tokens(
                input_ids, attention_mask, token_type_ids, image_embeds.shape[1])
            position_ids = None  # recount over the longer prompt
        if position_ids is None:
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        position_ids = position_ids.to(dev) + 1  # PaliGemma's positions are 1-indexed
        if cache is not None:
            cache.next_position = position_ids[:, -1] + 1
        embeds = self.embed(input_ids, image_embeds)
        ranks, valid = self.layout(input_ids, attention_mask, token_type_ids)
        step = self.decode(embeds, position_ids, ranks, valid, cache, record, logits_for)
        return step, image_embeds, vision_att

    def step(self, input_ids: torch.Tensor, cache: KVCache, output_attentions: AttentionRecord | bool = False,
             valid: torch.Tensor | None = None) -> StepOutput:
        """Decode new tokens (B, Q) after what the cache holds: suffix tokens, each opening a new rank."""
        position_ids, ranks, valid = cache.next_text(input_ids.shape[1], valid)
        return self.decode(self.embed(input_ids, None), position_ids, ranks, valid, cache,
                           AttentionRecord.of(output_attentions))

    # ------------------------------------------------------------------ the reference-style API
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None,
                token_type_ids=None, labels=None, output_attentions: bool = False,
                interpolate_pos_encoding: bool = False, image_embeds: torch.Tensor | None = None) -> PaliGemmaOutput:
        """Logits at every position, the shifted LM loss over labels != -100, attentions per layer.

        As the reference: position_ids default to 1..L (whatever the padding); the processor's
        labels carry -100 on the prefix and padding, so only the suffix is scored.
        """
        if input_ids is None:
            raise InputError("PaliGemma needs input_ids (with <image> placeholders); use the PaliGemma processor.")
        record = AttentionRecord.of(bool(output_attentions))
        vision_att = None
        if image_embeds is None and pixel_values is not None:
            image_embeds, vision_att = self.encode_image(pixel_values, record, interpolate_pos_encoding)
        if position_ids is None:
            position_ids = torch.arange(1, input_ids.shape[1] + 1, device=input_ids.device).expand_as(input_ids)
        ranks, valid = self.layout(input_ids, attention_mask, token_type_ids)
        step = self.decode(self.embed(input_ids, image_embeds), position_ids, ranks, valid, None, record)
        loss = None
        if labels is not None:
            shifted = step.logits[:, :-1].float()  # position i predicts token i + 1
            loss = F.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), labels[:, 1:].reshape(-1).to(shifted.device),
                                   ignore_index=-100)
        return PaliGemmaOutput(
            logits=step.logits, loss=loss,
            attentions=tuple(step.attentions) if output_attentions else None,
            vision_attentions=tuple(vision_att) if output_attentions and vision_att else None,
            image_hidden_states=image_embeds,
        )


__all__ = ["PaliGemmaForConditionalGeneration", "PaliGemmaModel", "PaliGemmaOutput"]
