"""The attention mask a model used for one sequence, as the explorer and the mask tab draw it.

Both families build their mask with ONE rule (`layers.visibility` on ranks `cumsum(mask_ar)`):
GIT gives the image block one rank (bidirectional) and each text token its own (causal);
PaliGemma gives image + prompt one rank (a prefix) and each answer token its own.
PaliGemma's mask is read from `model.mask_for` (what its layers use); GIT's from the same rule with the
`mask_ar` its `prefill` builds (`git_mask_ar`). Row = query (who looks), column = key (what is looked at).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import viz
from ..lang import say
from ..models.layers import ranks_from_ar, visibility
from ..pipeline import inputs as pipeline_inputs  # a module, not names: pipeline imports explain.maps too


def git_mask_ar(num_image_tokens: int, num_text_tokens: int) -> torch.Tensor:
    """GIT's mask_ar (1, N + T): 0 for the image block (one rank, bidirectional), 1 per text token (causal).

    The same vector `GitForCausalLM.prefill` builds; ranks are its cumulative sum.
    """
    image = torch.zeros(num_image_tokens, dtype=torch.long)
    return torch.cat([image, torch.ones(num_text_tokens, dtype=torch.long)])[None]


def mask_for(num_image_tokens: int, attention_mask: torch.Tensor | list[int]) -> torch.Tensor:
    """The boolean (S, S) mask GIT uses for `num_image_tokens` image tokens followed by text tokens
    whose `attention_mask` (T,) marks real tokens (1) and padding (0): `layers.visibility` on the
    ranks of `git_mask_ar`, exactly as `GitForCausalLM.prefill` -> `decode` computes it."""
    text_valid = torch.as_tensor(attention_mask, dtype=torch.bool).reshape(1, -1)
    ranks = ranks_from_ar(git_mask_ar(num_image_tokens, text_valid.shape[1]))
    valid = torch.cat([torch.ones(1, num_image_tokens, dtype=torch.bool), text_valid], dim=1)
    return visibility(ranks, ranks, valid)[0, 0]


def sequence(model, processor, prompt: str, answer_ids: list[int]):
    """PaliGemma: input_ids, attention_mask, token_type_ids (1, L) of [prefix; answer] as the model reads them."""
    prompt = pipeline_inputs.clean_prompt(prompt)
    batch = processor(images=None, text=prompt)
    answer = torch.tensor([list(answer_ids)], dtype=torch.long)
    ids = torch.cat([batch.input_ids, answer], 1)
    types = torch.cat([batch.token_type_ids, torch.ones_like(answer)], 1)
    return ids, torch.ones_like(ids), types


def _pieces(processor, ids) -> list[str]:
    """Token texts for the diagram's labels: an invisible piece shown escaped (or as ␣)."""
    pieces = [pipeline_inputs.token_text(processor, int(i)) for i in ids]
    return [t if t.strip() else repr(t)[1:-1] or "␣" for t in pieces]


@dataclass
class MaskView:
    paligemma: viz.Figure
    paligemma_sentences: list[str]
    git: viz.Figure
    git_sentences: list[str]


def mask_views(model, processor, prompt: str, answer_ids: list[int], name: str = "PaliGemma") -> MaskView:
    """PaliGemma's mask for this prompt and answer, read from `model.mask_for` (the mask it really uses),
    beside the mask GIT's rule would give the same image and text (image one block, *all* text causal)."""
    ids, mask, types = sequence(model, processor, prompt, answer_ids)
    m = model.mask_for(ids, mask, types)[0, 0].cpu().numpy()
    n = int(model.image_token_mask(ids)[0].sum())
    p = int((types[0] == 0).sum())
    pieces = _pieces(processor, ids[0])
    segments = [viz.Segment("image", 0, n), viz.Segment("prompt", n, p, pieces[n:p])]
    t = len(answer_ids)
    if t:
        segments.append(viz.Segment("answer", p, p + t, pieces[p:]))
    pali, pali_sent = viz.mask_diagram(m, segments, title=say("{name}: prefix-LM mask", name=name))
    g = mask_for(n, torch.ones(p + t - n)).numpy()  # GIT's rule on the same sequence
    git, git_sent = viz.mask_diagram(g, segments, title=say("GIT's rule on the same sequence"))
    return MaskView(pali, pali_sent, git, git_sent)


def model_mask(model, inputs, token_ids: list[int]) -> np.ndarray:
    """(S, S) bool: the mask the model uses for `inputs` (a `pipeline.Inputs`) followed by `token_ids`."""
    new = torch.tensor([list(token_ids)], dtype=torch.long)
    if inputs.family == "paligemma":
        ids = torch.cat([inputs.input_ids, new], 1)
        types = torch.cat([inputs.token_type_ids, torch.ones_like(new)], 1)
        return model.mask_for(ids, torch.ones_like(ids), types)[0, 0].cpu().numpy()
    p = inputs.input_ids.shape[1]
    return mask_for(inputs.layout.num_image_tokens, torch.ones(p + new.shape[1])).numpy()


__all__ = ["git_mask_ar", "mask_for", "sequence", "MaskView", "mask_views", "model_mask"]
