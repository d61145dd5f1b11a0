"""What the app does, without Gradio: generate (streaming), then explore the attention of the result.

* `generate(...)` streams `(text, payload)`: the text so far, and at the end the payload that the
  API returns (`Result.to_json()` plus the model, question and settings) — plain JSON.
* `build_exploration(...)` turns an input and its generated token ids into an `Exploration`: one
  teacher-forced pass with `output_attentions=True` gives, for every generated token, exactly
  the attention record incremental decoding saw (row i of the full pass is what cached step i
  computed), the next-token distribution (for the scrubber), attention rollout, the vision
  encoder's attention, and the mask. So the explorer works the same whether the text came from
  greedy, beam or sampled decoding, or from a cached example.
* `render(exploration, View)` draws every figure of the explorer for one selection.
* `mask_for(...)` is the mask the model builds for an input, from the model's own rule.

Everything here is per call: an `Exploration` belongs to one user's `gr.State`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from .. import explain, viz
from ..errors import InputError
from ..layers import ranks_from_ar, visibility
from ..pipeline import _inputs, run, run_stream

DECODING = ("greedy", "beam", "sampling")
MAX_NEW_TOKENS = 40


# ----------------------------------------------------------------------------- the mask
def git_mask_ar(num_image_tokens: int, num_text_tokens: int) -> torch.Tensor:
    """GIT's mask_ar (1, N + T): 0 for the image block (one rank, bidirectional), 1 per text token (causal).

    The same vector `GitForCausalLM.prefill` builds; ranks are its cumulative sum.
    """
    image = torch.zeros(num_image_tokens, dtype=torch.long)
    return torch.cat([image, torch.ones(num_text_tokens, dtype=torch.long)])[None]


def mask_for(num_image_tokens: int, attention_mask: torch.Tensor | list[int]) -> torch.Tensor:
    """The boolean (S, S) mask GIT uses for `num_image_tokens` image tokens followed by text tokens
    whose `attention_mask` (T,) marks real tokens (1) and padding (0): `layers.visibility` on the
    ranks of `git_mask_ar`, exactly as `GitForCausalLM.prefill` -> `decode` computes it.
    Row = query (who looks), column = key (what is looked at)."""
    text_valid = torch.as_tensor(attention_mask, dtype=torch.bool).reshape(1, -1)
    ranks = ranks_from_ar(git_mask_ar(num_image_tokens, text_valid.shape[1]))
    valid = torch.cat([torch.ones(1, num_image_tokens, dtype=torch.bool), text_valid], dim=1)
    return visibility(ranks, ranks, valid)[0, 0]


# ----------------------------------------------------------------------------- decoding settings
@dataclass
class Decoding:
    mode: str = "greedy"
    max_new_tokens: int = 20
    num_beams: int = 3
    temperature: float = 1.0
    top_p: float = 0.9
    seed: int = 0

    @classmethod
    def from_inputs(cls, mode, max_new_tokens, num_beams, temperature, top_p, seed) -> "Decoding":
        d = cls()
        mode = (mode or d.mode).lower()
        if mode not in DECODING:
            raise InputError(f"Decoding must be one of {', '.join(DECODING)}, not '{mode}'.")
        try:
            return cls(mode=mode,
                       max_new_tokens=int(max_new_tokens if max_new_tokens is not None else d.max_new_tokens),
                       num_beams=int(num_beams if num_beams is not None else d.num_beams),
                       temperature=float(temperature if temperature is not None else d.temperature),
                       top_p=float(top_p if top_p is not None else d.top_p),
                       seed=int(seed if seed is not None else d.seed))
        except (TypeError, ValueError) as exc:
            raise InputError(f"A decoding setting is not a number ({exc}).") from exc

    def check(self) -> None:
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS:
            raise InputError(f"Max new tokens must be between 1 and {MAX_NEW_TOKENS}.")
        if self.mode == "beam" and not 2 <= self.num_beams <= 8:
            raise InputError("Beam search needs between 2 and 8 beams.")
        if self.mode == "sampling" and not (0 < self.temperature <= 5 and 0 < self.top_p <= 1):
            raise InputError("Sampling needs a temperature in (0, 5] and top-p in (0, 1].")


def _fit_tokens(model, prompt_len: int, frames: int, wanted: int) -> int:
    """Room left in the decoder's position table for new tokens (the embedded model has 64)."""
    room = model.config.max_position_embeddings - prompt_len
    if room < 1:
        raise InputError("The question is too long for this model; shorten it.")
    return min(wanted, room)


def generate(model, processor, images, question: str | None, decoding: Decoding, model_name: str
             ) -> Iterator[tuple[str, dict | None]]:
    """Yield (text so far, None) per token, then (text, payload) once at the end."""
    decoding.check()
    _, prompt = _inputs(model, processor, images, question)  # validates the question early
    max_new = _fit_tokens(model, prompt.shape[1], len(images), decoding.max_new_tokens)
    settings = {k: v for k, v in asdict(decoding).items()}
    if decoding.mode == "beam":
        result = run(model, processor, images, question, max_new_tokens=max_new, num_beams=decoding.num_beams)
    else:
        sampling = decoding.mode == "sampling"
        result = None
        for result in run_stream(model, processor, images, question, max_new_tokens=max_new, do_sample=sampling,
                                 temperature=decoding.temperature if sampling else 1.0,
                                 top_p=decoding.top_p if sampling else None,
                                 seed=decoding.seed if sampling else None):
            if not result.done:
                yield result.text, None
    payload = {"model": model_name, "question": question, "settings": settings, **result.to_json()}
    yield result.text, payload


# ----------------------------------------------------------------------------- the exploration
@dataclass
class Exploration:
    model_name: str
    text: str
    layout: explain.ImageLayout
    frames: list[Image.Image]  # what the model saw, one picture per frame (resized, cropped)
    prompt_tokens: list[str]
    tokens: list[str]  # generated pieces, in order
    token_ids: list[int]
    steps: list[torch.Tensor]  # per generated token (L, H, K): the producing query's attention
    top: list[list[tuple[str, float]]]  # per generated token: most likely tokens at that step
    rollout: list[np.ndarray]  # per generated token (F, rows, cols)
    vision_cls: list[torch.Tensor] | None  # per vision layer (F, H, 1, n): CLS query -> all tokens
    mask: np.ndarray  # (S, S) bool
    segments: list[viz.Segment] = field(default_factory=list)

    @property
    def num_layers(self) -> int:
        return int(self.steps[0].shape[0]) if self.steps else 0

    @property
    def num_heads(self) -> int:
        return int(self.steps[0].shape[1]) if self.steps else 0

    @property
    def is_video(self) -> bool:
        return self.layout.num_frames > 1

    def chips(self) -> list[tuple[str, int]]:
        """(label, index) per generated token: the clickable chips."""
        return [(f"{t}", i) for i, t in enumerate(self.tokens)]


@torch.inference_mode()
def build_exploration(model, processor, images, question: str | None, token_ids: list[int],
                      model_name: str = "", top_k: int = 5) -> Exploration:
    """One teacher-forced pass over [image; prompt; generated tokens] with attentions recorded."""
    if not token_ids:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    pixel_values, prompt = _inputs(model, processor, images, question)
    frames = pixel_values.shape[1] if pixel_values.ndim == 5 else 1
    layout = explain.ImageLayout.for_model(model, frames)
    seq = torch.cat([prompt, torch.tensor([list(token_ids)], dtype=torch.long)], dim=1)
    out = model(input_ids=seq.to(model.device), pixel_values=pixel_values.to(model.device), output_attentions=True)
    n, p, t = layout.num_image_tokens, prompt.shape[1], len(token_ids)
    queries = [n + p - 1 + i for i in range(t)]  # the position whose output produced token i
    att = [a.float().cpu() for a in out.attentions]  # per layer (1, H, S, S)
    steps = [torch.stack([a[0, :, q, : q + 1] for a in att]) for q in queries]  # (L, H, K)
    probs = out.logits[0, queries].float().softmax(-1).cpu()  # (T, vocab)
    top_p, top_i = probs.topk(min(top_k, probs.shape[-1]))
    tok = processor.tokenizer
    top = [[(tok.token_text(int(i)), float(v)) for i, v in zip(ids, ps)] for ids, ps in zip(top_i, top_p)]
    roll = explain.rollout(att)  # (S, S)
    rollout = [explain.split_image(roll[q], layout) for q in queries]
    vision = [a[:, :, :1].float().cpu().clone() for a in out.vision_attentions] if out.vision_attentions else None
    ip = processor.image_processor
    pix = pixel_values[0] if pixel_values.ndim == 5 else pixel_values
    pictures = [viz.model_view(x.numpy(), ip.image_mean, ip.image_std) for x in pix]
    prompt_tokens = [tok.token_text(int(i)) for i in prompt[0]]
    tokens = [tok.token_text(int(i)) for i in token_ids]
    mask = mask_for(n, torch.ones(p + t)).numpy()
    image_name = "video" if frames > 1 else "image"
    segments = [viz.Segment(image_name, 0, n), viz.Segment("prompt", n, n + p, prompt_tokens),
                viz.Segment("output", n + p, n + p + t, tokens)]
    return Exploration(model_name, tok.decode(token_ids), layout, pictures, prompt_tokens, tokens, list(token_ids),
                       steps, top, rollout, vision, mask, segments)


# ----------------------------------------------------------------------------- drawing one selection
@dataclass
class View:
    token: int = 0
    layer: str = "mean"  # "mean" or a layer number counted from 1
    head: str = "mean"  # "mean", "max" or a head number counted from 1
    drop_sink: bool = True
    shared_scale: bool = True
    opacity: float = 0.5
    cmap: str = "viridis"
    frame: int = 1  # counted from 1 (video)

    def normalised(self, expl: Exploration) -> "View":
        """Clamp to what this exploration has (indices from the UI or the API may be anything)."""
        v = View(**asdict(self))
        v.token = int(min(max(int(v.token or 0), 0), max(0, len(expl.tokens) - 1)))
        v.layer = _pick(v.layer, expl.num_layers, ("mean",))
        v.head = _pick(v.head, expl.num_heads, ("mean", "max"))
        v.frame = int(min(max(int(v.frame or 1), 1), expl.layout.num_frames))
        v.opacity = float(min(max(float(v.opacity), 0.0), 1.0))
        v.cmap = v.cmap if v.cmap in viz.CMAPS else "viridis"
        return v


def _pick(value, count: int, words: tuple[str, ...]) -> str:
    value = str(value).strip().lower() if value is not None else words[0]
    if value in words:
        return value
    try:
        i = int(float(value))
    except ValueError:
        return words[0]
    return str(min(max(i, 1), count))


def _index(value: str):
    """UI numbers count from 1; explain counts from 0."""
    return value if value in ("mean", "max") else int(value) - 1


def _head_text(head: str) -> str:
    return {"mean": "mean over heads", "max": "max over heads"}.get(head, f"head {head}")


def _describe(view: View) -> str:
    layer = "mean over layers" if view.layer == "mean" else f"layer {view.layer}"
    head = _head_text(view.head)
    sink = "" if view.drop_sink else ", raw weights (CLS sink kept in the total)"
    return f"{layer}, {head}{sink}"


def _maps(expl: Exploration, att: torch.Tensor, layer, head, view: View) -> np.ndarray:
    return explain.split_image(explain.select(att, layer, head), expl.layout, renormalise=view.drop_sink)


def render(expl: Exploration, view: View) -> dict[str, viz.Figure | None]:
    """Every figure of the explorer for one token and one view setting."""
    view = view.normalised(expl)
    i, f = view.token, view.frame - 1
    att, token = expl.steps[i], expl.tokens[i]
    layer, head = _index(view.layer), _index(view.head)
    desc = _describe(view)
    grids = _maps(expl, att, layer, head, view)  # (F, rows, cols)
    where = f" (frame {view.frame})" if expl.is_video else ""
    figs: dict[str, viz.Figure | None] = {}
    figs["heatmap"] = viz.heatmap(expl.frames[f], grids[f], token, view.opacity, view.cmap, desc + where)

    layer_maps = [_maps(expl, att, l, head, view)[f] for l in range(expl.num_layers)]
    figs["layers"] = viz.small_multiples(
        expl.frames[f], layer_maps, [f"layer {l + 1}" for l in range(expl.num_layers)],
        f"all {expl.num_layers} decoder layers for '{token}'{where} ({_head_text(view.head)})",
        view.shared_scale, view.opacity, view.cmap, highlight=None if layer == "mean" else layer)
    head_maps = [_maps(expl, att, layer, h, view)[f] for h in range(expl.num_heads)]
    which = "averaged over layers" if layer == "mean" else f"of layer {view.layer}"
    figs["heads"] = viz.small_multiples(
        expl.frames[f], head_maps, [f"head {h + 1}" for h in range(expl.num_heads)],
        f"all {expl.num_heads} heads {which} for '{token}'{where}", view.shared_scale, view.opacity, view.cmap,
        highlight=head if isinstance(head, int) else None)

    raw = explain.default_view(att, expl.layout)[f]
    rolled = expl.rollout[i][f]
    pair = viz.small_multiples(expl.frames[f], [raw, rolled], ["raw attention", "rollout"], "", False,
                               view.opacity, view.cmap, ncols=2)
    figs["rollout"] = viz.Figure(pair.image, (
        f"Raw attention of '{token}' (left, mean over layers and heads) beside attention rollout (right: attention "
        f"multiplied through all layers with the residual path). Attention is not explanation: these show where "
        f"information could flow, not why the model chose the word."))

    figs["share"] = viz.share_bar(explain.image_share(att, expl.layout), token)
    figs["topk"] = viz.topk_bar(expl.top[i], token, i)

    if expl.is_video:
        total = float(grids.sum()) or 1.0
        split = [float(g.sum()) / total for g in grids]
        figs["frames"] = viz.frame_strip(expl.frames, grids, split, token, view.opacity, view.cmap)
    else:
        figs["frames"] = None

    if expl.vision_cls:
        vhead = view.head if view.head in ("mean", "max") else "mean"
        vmaps = explain.vision_cls_maps(expl.vision_cls, expl.layout, vhead)
        figs["vision"] = viz.small_multiples(
            expl.frames[f], [m[f] for m in vmaps], [f"vision layer {l + 1}" for l in range(len(vmaps))],
            f"the vision encoder's own attention{where}: how its CLS token reads the patches in each of its "
            f"{len(vmaps)} layers ({vhead} over heads), before any text exists", view.shared_scale,
            view.opacity, view.cmap)
    else:
        figs["vision"] = None
    return figs


def mask_figure(expl: Exploration) -> tuple[viz.Figure, list[str]]:
    return viz.mask_diagram(expl.mask, expl.segments, title=f"Mask of {expl.model_name or 'the model'}")


def token_summary(expl: Exploration, view: View) -> str:
    """One line about the selected token, for the scrubber."""
    view = view.normalised(expl)
    i = view.token
    top = ", ".join(f"{t} {p:.2f}" for t, p in expl.top[i][:3])
    return f"Step {i + 1} of {len(expl.tokens)}: **{expl.tokens[i]}** — the top candidates were {top}."


__all__ = ["mask_for", "git_mask_ar", "Decoding", "generate", "Exploration", "build_exploration", "View", "render",
           "mask_figure", "token_summary", "DECODING", "MAX_NEW_TOKENS"]
