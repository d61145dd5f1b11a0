"""Gradient-weighted relevancy (Chefer, Gur & Wolf 2021, "Generic Attention-model Explainability for
Interpreting Bi-Modal and Encoder-Decoder Transformers"), for the decoder's self-attention.

For one generated token t (its logit y_t at the query q that produced it):
    R = I (S x S);  for each decoder layer l in order:  R += mean_heads( clamp(dy_t/dA_l * A_l, min=0) ) @ R
and the token's relevancy map is row q of R over the image keys (CLS left out, renormalised as the
default view is). Unlike raw attention it weighs each attention edge by whether the token's logit goes
up when the edge is strengthened, so it reads "what pushed the model towards this word".

The gradients come from the one teacher-forced pass (`generation.teacher_forced(..., grad=True)`): with
`AttentionRecord.FULL` the probabilities a layer returns are the very tensor it multiplies the values by
(`layers.attend`), and with the pixel values as a leaf that requires grad (the loaded weights are frozen)
they sit in the autograd graph, so `torch.autograd.grad(logit, attentions)` reaches them. No hooks, no change
to the models, everything per call. int8 layers give no gradients: relevancy needs a float model.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from ..errors import InputError
from ..generation import TeacherForced, teacher_forced
from .maps import ImageLayout, split_image


def forward(model, inputs, token_ids: list[int], pixel_values: torch.Tensor | None = None,
            record: bool = False, grad: bool = False) -> TeacherForced:
    """The teacher-forced pass of `inputs` (a `pipeline.Inputs`) followed by `token_ids`
    (`generation.teacher_forced` on [prompt; answer]).

    pixel_values: None for the inputs' own, or a batch of B copies (e.g. occluded) of the same shape but the
    first axis; the text serves each. record: keep the attention; grad: keep it in the autograd graph (for
    `relevancy`; runs under autograd whatever the caller's mode), else the pass runs under inference mode.
    """
    if grad and getattr(model, "precision", "fp32") == "int8":
        raise InputError("Relevancy needs gradients, and int8 layers give none: use the exact (fp32) model.")
    pv = inputs.pixel_values if pixel_values is None else pixel_values
    answer = torch.tensor([list(token_ids)], dtype=torch.long)
    seq = torch.cat([inputs.input_ids, answer], 1)
    return teacher_forced(model, pv, seq, inputs.input_ids.shape[1], inputs.attention_mask, inputs.token_type_ids,
                          record=record or grad, grad=grad)


def relevancy_matrix(attentions: list[torch.Tensor], grads: list[torch.Tensor], row: int = 0) -> torch.Tensor:
    """Chefer's rule on one batch row: per layer (B, H, S, S) probabilities and their gradients -> R (S, S)."""
    s = attentions[0].shape[-1]
    r = torch.eye(s, dtype=torch.float32, device=attentions[0].device)
    for a, g in zip(attentions, grads):
        cam = (g[row].float() * a[row].float()).clamp(min=0).mean(0)  # (S, S), mean over heads
        r = r + cam @ r
    return r


def relevancy_rows(tf: TeacherForced, token_ids: list[int], steps: list[int]) -> Iterator[torch.Tensor]:
    """Per step t of `steps`: row q_t of R (over every key), from a `teacher_forced(..., grad=True)` pass; one
    backward per token, the graph kept until the last."""
    att = [a.detach() for a in tf.attentions]
    for k, t in enumerate(steps):
        with torch.inference_mode(False), torch.enable_grad():  # per block, never across the `yield`
            target = tf.logits[0, t, int(token_ids[t])]
            grads = torch.autograd.grad(target, tf.attentions, retain_graph=k < len(steps) - 1)
            row = relevancy_matrix(att, [g.detach() for g in grads])[tf.queries[t]].cpu()
        yield row


def relevancy(model, inputs, token_ids: list[int], steps: list[int] | None = None) -> list[np.ndarray]:
    """Relevancy maps (F, rows, cols) of the answer tokens at `steps` (default: every one), each summing to 1
    over the patches (CLS left out, as the default view).

    One forward with the attention graph kept, then one backward per token (the graph is reused).
    """
    steps = list(range(len(token_ids))) if steps is None else list(steps)
    layout: ImageLayout = inputs.layout
    tf = forward(model, inputs, token_ids, grad=True)
    return [split_image(row, layout) for row in relevancy_rows(tf, token_ids, steps)]


__all__ = ["forward", "relevancy_matrix", "relevancy_rows", "relevancy"]
