"""The sampling knobs, live: at one step of an answer, the next-token distribution, then with temperature, then cut
by top-k / top-p, and what 100 draws from it give, with no new generation.

The logits come from ONE teacher-forced pass over the finished answer (`generation.teacher_forced`, nothing
recorded), computed once per result; only the `KEEP` largest logits of each step are kept (the tail of a 30k- or
257k-token vocabulary would cost memory per user and carries almost no probability). The first stage is exact (the
full-vocabulary softmax of those tokens, with the rest summed as "all other tokens"); the later stages apply
`generation.sampling_probs` (the one implementation the decoder samples with) to the kept logits, so they are the
decoder's distribution renormalised over those tokens. Nothing here imports Gradio.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..generation import sampling_probs, teacher_forced
from ..pipeline import inputs as pipeline_inputs  # a module, not names: pipeline imports explain.maps too

KEEP = 50  # logits kept per step
DRAWS = 100  # draws of "sample again"


@dataclass
class StepLogits:
    """Per generated token: the KEEP likeliest next tokens at its step and their logits (largest first)."""

    ids: list[list[int]]
    texts: list[list[str]]
    logits: list[list[float]]
    full_probs: list[list[float]]  # their probability under the whole vocabulary at temperature 1
    chosen: list[int]  # the token the answer has at each step

    def __len__(self) -> int:
        return len(self.chosen)


@dataclass
class Stages:
    """One step's distribution at each stage, over the kept tokens (largest logit first)."""

    step: int
    ids: list[int]
    texts: list[str]
    base: list[float]  # softmax at temperature 1 over the whole vocabulary (exact)
    other: float  # probability of every token not kept, at temperature 1
    tempered: list[float]  # after temperature, renormalised over the kept tokens
    final: list[float]  # after temperature, top-k and top-p: what sampling would draw from
    chosen: int  # index into ids of the answer's token, or -1 when it is not among them
    temperature: float
    top_k: int
    top_p: float

    @property
    def kept(self) -> int:
        """How many tokens top-k / top-p leave."""
        return sum(1 for p in self.final if p > 0)


@torch.inference_mode()
def step_logits(model, processor, inputs: pipeline_inputs.Inputs, token_ids: list[int], keep: int = KEEP) -> StepLogits:
    """One teacher-forced pass (no attention recorded) -> the top `keep` logits of every step."""
    seq = torch.cat([inputs.input_ids, torch.tensor([list(token_ids)], dtype=torch.long)], dim=1)
    tf = teacher_forced(model, inputs.pixel_values, seq, inputs.input_ids.shape[1], inputs.attention_mask,
                        inputs.token_type_ids, record=False)
    logits = tf.logits[0].float().cpu()  # (T, vocab)
    top_v, top_i = logits.topk(min(keep, logits.shape[-1]), dim=-1)
    full = (top_v - torch.logsumexp(logits, -1, keepdim=True)).exp()
    text = pipeline_inputs.token_text
    return StepLogits([row.tolist() for row in top_i], [[text(processor, int(i)) for i in row] for row in top_i],
                      [row.tolist() for row in top_v], [row.tolist() for row in full], [int(t) for t in token_ids])


def _clean(temperature, top_k, top_p, keep: int) -> tuple[float, int, float]:
    t = float(temperature if temperature is not None else 1.0)
    k = int(top_k or 0)
    p = float(top_p if top_p is not None else 1.0)
    return min(max(t, 0.05), 5.0), min(max(k, 0), keep), min(max(p, 0.01), 1.0)


def stages(data: StepLogits, step: int, temperature=1.0, top_k=0, top_p=1.0) -> Stages:
    """The distribution of step `step` (from 0) at each stage, for these knob settings (top_k 0: off)."""
    step = int(min(max(int(step or 0), 0), len(data) - 1))
    t, k, p = _clean(temperature, top_k, top_p, len(data.ids[step]))
    logits = torch.tensor(data.logits[step], dtype=torch.float32)
    tempered = sampling_probs(logits, t, None, None)
    final = sampling_probs(logits, t, k or None, p)
    ids = data.ids[step]
    chosen = ids.index(data.chosen[step]) if data.chosen[step] in ids else -1
    base = data.full_probs[step]
    return Stages(step, ids, data.texts[step], base, max(0.0, 1.0 - sum(base)), tempered.tolist(), final.tolist(),
                  chosen, t, k, p)


def draw(st: Stages, n: int = DRAWS, seed: int = 0) -> list[tuple[int, int]]:
    """`n` draws from the final distribution (seeded): (index into st.ids, count), most frequent first."""
    g = torch.Generator().manual_seed(int(seed))
    probs = torch.tensor(st.final, dtype=torch.float64)
    picks = torch.multinomial(probs, int(n), replacement=True, generator=g)
    counts = torch.bincount(picks, minlength=len(st.final))
    order = sorted(((i, int(c)) for i, c in enumerate(counts.tolist()) if c), key=lambda x: (-x[1], x[0]))
    return order


__all__ = ["KEEP", "DRAWS", "StepLogits", "Stages", "step_logits", "stages", "draw"]
