"""GIT: the BERT-style decoder over [image; text] and `GitForCausalLM` (the image side is `vision.py`).

Module attribute names mirror the checkpoint keys of `GitForCausalLM`
(e.g. `git.image_encoder.vision_model.encoder.layers.0.self_attn.q_proj.weight`), so a state
dict loads with strict key checking. Quirks reproduced on purpose:
  * the CLIP encoder is pre-LN and applies `post_layernorm` to *every* token (not just CLS);
  * the text decoder is post-LN (BERT): LayerNorm(x + sublayer(x));
  * video frames each add a learned temporal embedding to their vision features;
  * logits cover image *and* text positions (the reference's layout); the loss uses text only.
Shapes: B batch, F frames, N image tokens, T text tokens, D hidden size.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputError
from ..layers import (
    AttentionRecord,
    KVCache,
    StepOutput,
    activation,
    attend,
    embedding,
    mask_for_new,
    merge_heads,
    ranks_from_ar,
    split_heads,
)
from ..protocol import GenerativeModel
from .config import GitConfig
from .vision import GitProjection, GitVisionModel


# ============================================================================ text decoder (BERT, post-LN)
class GitEmbeddings(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.word_embeddings = embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids, position_ids):
        return self.LayerNorm(self.word_embeddings(input_ids) + self.position_embeddings(position_ids))


class GitSelfAttention(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        d = cfg.hidden_size
        self.head_dim = d // cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)


class GitDenseLN(nn.Module):
    """dense -> LayerNorm(. + residual): BERT's `attention.output` and `output` blocks."""

    def __init__(self, d_in: int, d_out: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class GitAttention(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.self = GitSelfAttention(cfg)
        self.output = GitDenseLN(cfg.hidden_size, cfg.hidden_size, cfg.layer_norm_eps)


class GitIntermediate(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.act = activation(cfg.hidden_act)

    def forward(self, x):
        return self.act(self.dense(x))


class GitLayer(nn.Module):
    def __init__(self, cfg: GitConfig, index: int):
        super().__init__()
        self.index = index
        self.attention = GitAttention(cfg)
        self.intermediate = GitIntermediate(cfg)
        self.output = GitDenseLN(cfg.intermediate_size, cfg.hidden_size, cfg.layer_norm_eps)

    def forward(self, x, mask, cache: KVCache | None, record: AttentionRecord):
        sa = self.attention.self
        q, k, v = (split_heads(p(x), sa.head_dim) for p in (sa.query, sa.key, sa.value))  # (B, H, Q, Dh)
        if cache is not None:
            k, v = cache.update(self.index, k, v)  # (B, H, K, Dh), K = cached + Q
        a, probs = attend(q, k, v, mask, record.at(self.index))
        x = self.attention.output(merge_heads(a), x)
        return self.output(self.intermediate(x), x), probs


class GitEncoder(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.layer = nn.ModuleList(GitLayer(cfg, i) for i in range(cfg.num_hidden_layers))


# ============================================================================ the whole model
@dataclass
class GitOutput:
    """What `GitForCausalLM.forward` returns (the reference's field names)."""

    logits: torch.Tensor  # (B, N + T, vocab): image and text positions
    loss: torch.Tensor | None = None
    attentions: tuple[torch.Tensor, ...] | None = None  # per decoder layer (B, H, N + T, N + T)
    vision_attentions: tuple[torch.Tensor, ...] | None = None  # per vision layer (B*F, H, n, n)


class GitModel(nn.Module):
    def __init__(self, cfg: GitConfig):
        super().__init__()
        self.embeddings = GitEmbeddings(cfg)
        self.image_encoder = GitVisionModel(cfg.vision_config)
        self.encoder = GitEncoder(cfg)
        self.visual_projection = GitProjection(cfg)
        if cfg.num_image_with_embedding:
            self.img_temporal_embedding = nn.ParameterList(
                nn.Parameter(torch.zeros(1, 1, cfg.vision_config.hidden_size)) for _ in range(cfg.num_image_with_embedding)
            )


class GitForCausalLM(GenerativeModel):
    """GIT with its LM head. Pure tensor code: no PIL, tokenizer or sampling in here."""

    def __init__(self, config: GitConfig):
        super().__init__()
        self.config = config
        self.git = GitModel(config)
        self.output = nn.Linear(config.hidden_size, config.vocab_size)

    # ------------------------------------------------------------------ helpers
    def lm_head_weight(self) -> torch.Tensor:
        return self.output.weight

    def num_decoder_layers(self) -> int:
        return self.config.num_hidden_layers

    def encode_image(self, pixel_values: torch.Tensor, record: AttentionRecord | bool = AttentionRecord.NONE,
                     interpolate_pos_encoding: bool = False):
        """(B, 3, H, W) or (B, F, 3, H, W) -> projected image tokens (B, N, D), recorded vision attentions.

        A video's frames go through the encoder as one batch of B*F images; each frame's tokens
        then get that frame's temporal embedding and the frames are laid side by side (F*n tokens).
        """
        vit = self.git.image_encoder.vision_model
        record = AttentionRecord.of(record)
        pixel_values = pixel_values.to(self.dtype)
        if pixel_values.ndim == 4:
            feats, att = vit(pixel_values, record, interpolate_pos_encoding)
        elif pixel_values.ndim == 5:
            b, f = pixel_values.shape[:2]
            temporal = getattr(self.git, "img_temporal_embedding", None)
            if temporal is None or f > len(temporal):
                trained = 0 if temporal is None else len(temporal)
                raise InputError(f"This checkpoint was trained on {trained or 'single images, not'} "
                                 f"{'frames' if trained else 'videos'}; got {f} frames.")
            feats, att = vit(pixel_values.flatten(0, 1), record, interpolate_pos_encoding)
            feats = feats.unflatten(0, (b, f)) + torch.stack(list(temporal[:f]), dim=1)  # (B, F, n, Dv)
            feats = feats.flatten(1, 2)
        else:
            raise InputError(f"pixel_values must have 4 or 5 dimensions, got shape {tuple(pixel_values.shape)}.")
        return self.git.visual_projection(feats), att

    def decode(self, embeds: torch.Tensor, ranks: torch.Tensor, valid: torch.Tensor, cache: KVCache | None,
               record: AttentionRecord = AttentionRecord.NONE, logits_for: slice | None = None) -> StepOutput:
        """Run the decoder over new positions `embeds` (B, Q, D) on top of `cache`.

        `ranks`/`valid` (B, Q) describe the new positions for the mask rule; the cache (if any)
        remembers them for later steps. `logits_for` restricts the LM head to some positions.
        """
        mask, _ = mask_for_new(ranks, valid, cache)
        x, attentions = embeds, []
        for layer in self.git.encoder.layer:
            x, probs = layer(x, mask, cache, record)
            attentions.append(probs)
        if logits_for is not None:  # contiguous: a strided 3-D input makes F.linear copy the weight
            x = x[:, logits_for].contiguous()
        return StepOutput(self.output(x), attentions if record.keep else None)

    def embed_text(self, input_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
        if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= self.config.vocab_size):
            raise InputError(f"Token ids must lie in [0, {self.config.vocab_size}).")
        if position_ids.numel() and position_ids.max() >= self.config.max_position_embeddings:
            raise InputError(f"The text is too long: this model reads at most "
                             f"{self.config.max_position_embeddings} tokens.")
        return self.git.embeddings(input_ids, position_ids)

    def prefill(self, pixel_values=None, input_ids=None, attention_mask=None, position_ids=None,
                cache: KVCache | None = None, output_attentions: AttentionRecord | bool = False,
                logits_for: slice | None = None, image_embeds: torch.Tensor | None = None,
                interpolate_pos_encoding=False):
        """Image tokens (bidirectional block) followed by text tokens (causal), in one pass.

        Returns (StepOutput, image_embeds, vision_attentions). With a cache, the image keys and
        values stay in it, so later steps never look at the image again. output_attentions: a bool
        (all rows, or none) or an `AttentionRecord`; LAST_ROW records only the newest query row per
        decoder layer and CLIP's CLS row per vision layer (what generation shows).
        """
        record = AttentionRecord.of(output_attentions)
        vision_att = None
        if image_embeds is None and pixel_values is not None:
            image_embeds, vision_att = self.encode_image(pixel_values, record.for_vision(class_token=True),
                                                         interpolate_pos_encoding)
        if input_ids is None:
            if image_embeds is None:
                raise InputError("Give pixel_values, input_ids, or both.")
            input_ids = torch.empty(image_embeds.shape[0], 0, dtype=torch.long, device=image_embeds.device)
        b, t = input_ids.shape
        device = input_ids.device
        if attention_mask is None:
            attention_mask = torch.ones(b, t, dtype=torch.long, device=device)
        if position_ids is None:  # the reference counts positions 0..T-1 whatever the padding
            position_ids = torch.arange(t, device=device).expand(b, t)
        parts, ar, valid = [], [], []
        if image_embeds is not None:
            if image_embeds.shape[0] != b:  # one image for several prompts (the reference repeats it)
                image_embeds = image_embeds.repeat(b // image_embeds.shape[0], 1, 1)
            n = image_embeds.shape[1]
            parts.append(image_embeds)
            ar.append(torch.zeros(b, n, dtype=torch.long, device=device))  # one bidirectional block
            valid.append(torch.ones(b, n, dtype=torch.bool, device=device))
        parts.append(self.embed_text(input_ids, position_ids).to(self.dtype))
        ar.append(torch.ones(b, t, dtype=torch.long, device=device))  # causal text
        valid.append(attention_mask.bool())
        embeds = torch.cat(parts, dim=1)
        if cache is not None:  # the next text token continues each row's own count
            cache.next_position = position_ids[:, -1] + 1 if t else torch.zeros(b, dtype=torch.long, device=device)
        step = self.decode(embeds, ranks_from_ar(torch.cat(ar, 1)), torch.cat(valid, 1), cache, record, logits_for)
        return step, image_embeds, vision_att

    # ------------------------------------------------------------------ the image block on its own
    # GIT's image tokens attend only to each other, so their keys and values in every decoder layer are a
    # function of the image alone: a server can keep them per picture (`serving.image_cache`) and
    # prefill each new prompt on top of them.
    image_block_first = True

    def image_block(self, image_embeds: torch.Tensor) -> KVCache:
        """A cache holding the decoder's keys/values of the image tokens (B, N, D) alone."""
        b, n = image_embeds.shape[:2]
        cache = self.new_cache()
        mask, _ = mask_for_new(torch.zeros(b, n, dtype=torch.long, device=image_embeds.device),
                               torch.ones(b, n, dtype=torch.bool, device=image_embeds.device), cache)
        x = image_embeds.to(self.dtype)
        for layer in self.git.encoder.layer:
            x, _ = layer(x, mask, cache, AttentionRecord.NONE)
        return cache

    def prefill_after_image(self, cache: KVCache, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                            position_ids: torch.Tensor, output_attentions: AttentionRecord | bool = False,
                            logits_for: slice | None = None) -> StepOutput:
        """`prefill`'s text part on top of `image_block`'s cache: the same logits and records as one
        prefill of image and text (each text token sees the image block and the text before it)."""
        b, t = input_ids.shape
        n = cache.length
        ar = torch.cat([torch.zeros(b, n, dtype=torch.long, device=input_ids.device),
                        torch.ones(b, t, dtype=torch.long, device=input_ids.device)], 1)
        cache.next_position = position_ids[:, -1] + 1
        return self.decode(self.embed_text(input_ids, position_ids).to(self.dtype), ranks_from_ar(ar)[:, n:],
                           attention_mask.bool(), cache, AttentionRecord.of(output_attentions), logits_for)

    def step(self, input_ids: torch.Tensor, cache: KVCache, output_attentions: AttentionRecord | bool = False,
             valid: torch.Tensor | None = None) -> StepOutput:
        """Decode new text tokens (B, Q) after what the cache holds; each new token opens a new rank."""
        position_ids, ranks, valid = cache.next_text(input_ids.shape[1], valid)
        return self.decode(self.embed_text(input_ids, position_ids).to(self.dtype), ranks, valid, cache,
                           AttentionRecord.of(output_attentions))

    # ------------------------------------------------------------------ the reference-style API
    def forward(self, input_ids=None, attention_mask=None, position_ids=None, pixel_values=None, labels=None,
                output_attentions: bool = False, interpolate_pos_encoding: bool = False) -> GitOutput:
        """Logits over [image; text] positions, the shifted LM loss over text, attentions per layer."""
        step, image_embeds, vision_att = self.prefill(
            pixel_values, input_ids, attention_mask, position_ids, None, bool(output_attentions),
            interpolate_pos_encoding=interpolate_pos_encoding)
        logits = step.logits
        loss = None
        if labels is not None:
            n = 0 if image_embeds is None else image_embeds.shape[1]
            text_logits = logits[:, n:-1]  # position i predicts token i + 1
            loss = F.cross_entropy(text_logits.reshape(-1, text_logits.shape[-1]).float(),
                                   labels[:, 1:].reshape(-1).to(logits.device), ignore_index=-100)
        return GitOutput(
            logits=logits, loss=loss,
            attentions=tuple(step.attentions) if output_attentions else None,
            vision_attentions=tuple(vision_att) if output_attentions and vision_att else None,
        )


__all__ = ["GitForCausalLM", "GitModel", "GitOutput", "StepOutput"]
