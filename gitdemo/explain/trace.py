"""ONE teacher-forced trace of a finished answer, for any family: what the attention explorer shows.

One full forward over [image; prompt; generated tokens] with attentions recorded
(`generation.teacher_forced`) gives, for every generated token, exactly the record incremental decoding
saw (row q of the full pass is what cached step q computed), the next-token distribution at that step,
attention rollout, the vision encoder's own attention (GIT: its CLS query), and the mask the model used.
So the explorer works the same whether the text came from greedy, beam or sampled decoding, or from a
cached example, and for GIT and PaliGemma alike.
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


@torch.inference_mode()
def trace(model, processor, images, prompt, token_ids: list[int], model_name: str = "",
          top_k: int = 5) -> Exploration:
    """images: an image or a list of frames; prompt: GIT's question (or None) / PaliGemma's prompt;
    token_ids: the generated answer (without eos)."""
    if not token_ids:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    inputs = pipeline_inputs.prepare(model, processor, images, prompt)
    text = pipeline_inputs.token_text
    layout, prompt_ids = inputs.layout, inputs.input_ids
    seq = torch.cat([prompt_ids, torch.tensor([list(token_ids)], dtype=torch.long)], dim=1)
    tf = teacher_forced(model, inputs.pixel_values, seq, prompt_ids.shape[1], inputs.attention_mask,
                        inputs.token_type_ids)
    steps = [stack_step(s).cpu() for s in tf.steps]  # per token (L, H, K)
    probs = tf.logits[0].softmax(-1).cpu()  # (T, vocab)
    top_v, top_i = probs.topk(min(top_k, probs.shape[-1]))
    top = [[(text(processor, int(i)), float(v)) for i, v in zip(ids, ps)] for ids, ps in zip(top_i, top_v)]
    roll = rollout([a.cpu() for a in tf.full])  # (S, S)
    rolled = [split_image(roll[q], layout) for q in tf.queries]
    # the vision encoder's CLS query -> all tokens, per layer (F, H, 1, n); SigLIP has no CLS token
    vision = [a[:, :, :1].float().cpu().clone() for a in tf.vision] if tf.vision and layout.has_cls else None
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


__all__ = ["trace"]
