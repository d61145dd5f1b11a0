"""Gradient-weighted relevancy (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for
Interpreting Bi-Modal and Encoder-Decoder Transformers"), for the decoder's self-attention.

For one generated token t (its logit y_t at the query q that produced it):
    R = I (S x S);  for each decoder layer l in order:  R += mean_heads( clamp(dy_t/dA_l * A_l, min=0) ) @ R
and the token's relevancy map is row q of R over the image keys (CLS left out, renormalised as the
default view is). Unlike raw attention it weighs each attention edge by whether the token's logit goes
up when the edge is strengthened, so it reads "what pushed the model towards this word".

The mechanism needs no hooks and no change to the models: with `AttentionRecord.FULL` the probabilities a
layer returns are the very tensor it multiplies the values by (`layers.attend`), so under
`torch.enable_grad()`, with pixel_values as a leaf that requires grad (the loaded weights are frozen), they
sit in the autograd graph and `torch.autograd.grad(logit, attentions)` reaches them. Everything stays per call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.layers import AttentionRecord
from .maps import ImageLayout, split_image


@dataclass
class Forward:
    """One teacher-forced pass over [image; prompt; answer] for a batch of pixel copies."""

    logits: torch.Tensor  # (B, T, vocab) float32 at the T query positions that produced the answer
    attentions: list[torch.Tensor] | None  # per decoder layer (B, H, S, S) when recorded
    queries: list[int]  # the T query positions in the full sequence


def forward(model, inputs, token_ids: list[int], pixel_values: torch.Tensor | None = None,
            record: bool = False) -> Forward:
    """Teacher-forced pass of `inputs` (a `pipeline.Inputs`) followed by `token_ids`.

    pixel_values: None for the inputs' own, or a batch of B copies (e.g. occluded) of the same shape
    but the first axis; the text is repeated for each. Grad mode is the caller's: wrap in
    `torch.enable_grad()` for relevancy, `torch.inference_mode()` for deletion tests.
    """
    pv = inputs.pixel_values if pixel_values is None else pixel_values
    pv = pv.to(model.device, model.dtype)
    if torch.is_grad_enabled() and not pv.requires_grad:
        # loaded weights are frozen (requires_grad False): a leaf input that asks for gradients puts the
        # attention probabilities into the autograd graph without touching the model
        pv = pv.detach().float().to(model.dtype).requires_grad_(True)
    b = pv.shape[0]
    answer = torch.tensor([list(token_ids)], dtype=torch.long)
    seq = torch.cat([inputs.input_ids, answer], 1).to(model.device).expand(b, -1)
    mask = torch.ones_like(seq)
    if inputs.attention_mask is not None:
        mask[:, : inputs.attention_mask.shape[1]] = inputs.attention_mask.to(seq.device)
    position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
    extra = {}
    if inputs.token_type_ids is not None:  # PaliGemma: the answer is suffix (1s)
        types = torch.ones_like(seq)
        types[:, : inputs.token_type_ids.shape[1]] = inputs.token_type_ids.to(seq.device)
        extra["token_type_ids"] = types
    rec = AttentionRecord.FULL if record else AttentionRecord.NONE
    out, image_embeds, _ = model.prefill(pv, seq, mask, position_ids, None, rec, **extra)
    # GIT puts the image in front of the prompt; PaliGemma's prompt already holds its image tokens
    front = 0 if getattr(model, "image_tokens_in_prompt", False) or image_embeds is None else image_embeds.shape[1]
    p = inputs.input_ids.shape[1]
    queries = [front + p - 1 + i for i in range(len(token_ids))]
    return Forward(out.logits[:, queries].float(), out.attentions if record else None, queries)


def relevancy_matrix(attentions: list[torch.Tensor], grads: list[torch.Tensor], row: int = 0) -> torch.Tensor:
    """Chefer's rule on one batch row: per layer (B, H, S, S) probabilities and their gradients -> R (S, S)."""
    s = attentions[0].shape[-1]
    r = torch.eye(s, dtype=torch.float32, device=attentions[0].device)
    for a, g in zip(attentions, grads):
        cam = (g[row].float() * a[row].float()).clamp(min=0).mean(0)  # (S, S), mean over heads
        r = r + cam @ r
    return r


def relevancy(model, inputs, token_ids: list[int], steps: list[int] | None = None) -> list[np.ndarray]:
    """Relevancy maps (F, rows, cols) of the answer tokens at `steps` (default: every one), summing to 1.

    One forward with the attention graph kept, then one backward per token (the graph is reused).
    """
    steps = list(range(len(token_ids))) if steps is None else list(steps)
    layout: ImageLayout = inputs.layout
    maps = []
    with torch.enable_grad():
        fw = forward(model, inputs, token_ids, record=True)
        for k, t in enumerate(steps):
            target = fw.logits[0, t, int(token_ids[t])]
            grads = torch.autograd.grad(target, fw.attentions, retain_graph=k < len(steps) - 1)
            r = relevancy_matrix([a.detach() for a in fw.attentions], [g.detach() for g in grads])
            maps.append(split_image(r[fw.queries[t]].cpu(), layout))
    return maps


__all__ = ["Forward", "forward", "relevancy_matrix", "relevancy"]
