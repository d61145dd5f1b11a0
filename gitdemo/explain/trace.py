"""ONE explanation of a finished answer, for any family: what the attention explorer shows. Two ways to it:

`from_record(model, processor, result)`: the explorer's first view, from what generation already recorded (each
token's attention over every key, per layer and head, its top candidates, the vision tower's CLS row), with no
model call: the heatmap for any layer / head, top-k, shares, small multiples, patch readers and the scrubber.
Rollout needs every row of every layer, so it is left empty (`Exploration.rollout is None`) until `trace` fills it.

`trace(model, processor, images, prompt, token_ids)`: ONE teacher-forced forward over [image; prompt; generated
tokens] with attentions recorded (`generation.teacher_forced`). Row q of the full pass is exactly what cached step
q computed, so both give the same per-token records (tests/test_record_view.py holds them equal), and `trace`
adds attention rollout. It serves what the record lacks: rollout, results that carry no record (a cached example
seen for the first time, the API's `/patch_readers`), and the old path for comparison (GITDEMO_EXPLORE_FROM=trace).
"""
from __future__ import annotations

import torch

from .. import viz
from ..errors import InputError
from ..generation import teacher_forced
from ..pipeline import inputs as pipeline_inputs  # a module, not names: pipeline imports explain.maps too
from .maps import rollout, split_image, stack_step
from .mask import model_mask
from .views import Exploration


def _assemble(model, processor, inputs, token_ids: list[int], steps, top, rolled, vision,
              model_name: str) -> Exploration:
    """The parts both paths share: pictures the model saw, token texts, segments, the mask it used."""
    text = pipeline_inputs.token_text
    layout, prompt_ids = inputs.layout, inputs.input_ids
    ip = processor.image_processor
    pix = inputs.pixel_values[0] if inputs.pixel_values.ndim == 5 else inputs.pixel_values  # (F, 3, H, W)
    pictures = [viz.model_view(x.float().cpu().numpy(), ip.image_mean, ip.image_std) for x in pix]
    # GIT's image tokens go in front of its prompt; PaliGemma's prompt starts with its <image> placeholders
    n = layout.num_image_tokens
    in_prompt = inputs.family == "paligemma"
    prompt_tokens = [text(processor, int(i)) for i in prompt_ids[0, n if in_prompt else 0:]]
    tokens = [text(processor, int(i)) for i in token_ids]
    p = n + len(prompt_tokens)  # where the answer starts in the mask
    t = len(token_ids)
    image_name = "video" if layout.num_frames > 1 else "image"
    segments = [viz.Segment(image_name, 0, n), viz.Segment("prompt", n, p, prompt_tokens),
                viz.Segment("answer" if in_prompt else "output", p, p + t, tokens)]
    return Exploration(model_name, processor.decode(token_ids), layout, pictures, prompt_tokens, tokens,
                       list(token_ids), steps, top, rolled, vision, model_mask(model, inputs, token_ids), segments)


def _cls_rows(vision, layout) -> list[torch.Tensor] | None:
    """The vision tower's CLS query per layer (F, H, 1, n); SigLIP has no CLS token."""
    if not vision or not layout.has_cls:
        return None
    return [a[:, :, :1].float().cpu().clone() for a in vision]


def from_record(model, processor, result, model_name: str = "") -> Exploration:
    """The explorer's view of a finished `pipeline.Result` from its own record: no model call.

    The result must have been generated with `record=True` (the app always does): each token's (L, H, K)
    attention in `result.steps`, its candidates in `tokens[i].top`, and what the model read in `result.inputs`.
    """
    if not result.tokens:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    if result.inputs is None or len(result.steps) != len(result.tokens):
        raise InputError("This answer carries no attention record; generate again.")
    ids = [t.id for t in result.tokens]
    steps = [s.float().cpu() for s in result.steps]
    top = [list(t.top) for t in result.tokens]
    return _assemble(model, processor, result.inputs, ids, steps, top, None,
                     _cls_rows(result.vision_attentions, result.layout), model_name)


@torch.inference_mode()
def trace(model, processor, images, prompt, token_ids: list[int], model_name: str = "",
          top_k: int = 5) -> Exploration:
    """images: an image or a list of frames; prompt: GIT's question (or None) / PaliGemma's prompt;
    token_ids: the generated answer (without eos)."""
    if not token_ids:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    inputs = pipeline_inputs.prepare(model, processor, images, prompt)
    text = pipeline_inputs.token_text
    prompt_ids = inputs.input_ids
    seq = torch.cat([prompt_ids, torch.tensor([list(token_ids)], dtype=torch.long)], dim=1)
    tf = teacher_forced(model, inputs.pixel_values, seq, prompt_ids.shape[1], inputs.attention_mask,
                        inputs.token_type_ids)
    steps = [stack_step(s).cpu() for s in tf.steps]  # per token (L, H, K)
    probs = tf.logits[0].softmax(-1).cpu()  # (T, vocab)
    top_v, top_i = probs.topk(min(top_k, probs.shape[-1]))
    top = [[(text(processor, int(i)), float(v)) for i, v in zip(ids, ps)] for ids, ps in zip(top_i, top_v)]
    roll = rollout([a.cpu() for a in tf.full])  # (S, S)
    rolled = [split_image(roll[q], inputs.layout) for q in tf.queries]
    return _assemble(model, processor, inputs, list(token_ids), steps, top, rolled,
                     _cls_rows(tf.vision, inputs.layout), model_name)


__all__ = ["trace", "from_record"]
