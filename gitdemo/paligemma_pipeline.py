"""PaliGemma from an image and a prompt to a described result: what the app's PaliGemma tab runs (no Gradio).

    model, processor = gitdemo.load_model(folder), gitdemo.load_processor(folder)
    for result in run_stream(model, processor, image, "detect cat ; dog"):
        print(result.text)                     # the answer so far, <loc>/<seg> tokens kept
    result.parsed.detections                   # at the end: boxes (and masks) in image pixels
    result.to_json()                           # text, tokens with attention grids, detections

Where the attention goes: PaliGemma's prompt starts with its image tokens (`<image>` x N, then
`<bos>`, the prompt, "\\n"); one unpadded row puts them at positions 0..N-1, so a generated
token's attention record (layers, heads, keys) has the image in its first N keys: SigLIP's
rows x cols patches in raster order, with no class token (`ImageLayout(has_cls=False)`).
Each token's default grid is the mean over layers and heads, renormalised over the patches.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from . import explain, viz
from .errors import InputError
from .layers import ranks_from_ar, visibility
from .paligemma_outputs import LOC_BINS, ParsedAnswer, parse
from .paligemma_processing import MAX_PROMPT_CHARS, TASKS, task_prompt
from .pipeline import TokenInfo

# what the tab's task menu offers: (label, task key of paligemma_processing.TASKS)
TASK_CHOICES = [("caption", "caption"), ("describe", "describe"), ("answer a question", "answer"),
                ("detect objects", "detect"), ("segment objects", "segment"), ("read text (OCR)", "ocr")]
LOC_EXPLANATION = (
    f"Each box is 4 `<locNNNN>` tokens: y_min, x_min, y_max, x_max, each a bin out of {LOC_BINS} over the image's "
    f"height or width, so pixel x = NNNN / {LOC_BINS} x width (and y = NNNN / {LOC_BINS} x height); "
    f"16 `<segNNN>` tokens after a box are codes a small VQ-VAE decodes into the object's mask.")


def build_prompt(task: str | None, text: str = "", lang: str = "en", free_prompt: str | None = None) -> str:
    """The free prompt when one is typed, else the task's prompt ("detect cat ; dog")."""
    free = " ".join(str(free_prompt or "").split())
    if free:
        return free
    if not task:
        raise InputError("Choose a task or type a prompt (for example 'caption en').")
    return task_prompt(task, text or "", lang or "en")


def clean_prompt(prompt) -> str:
    if not isinstance(prompt, str):
        raise InputError("The prompt must be text.")
    prompt = " ".join(prompt.split())
    if not prompt:
        raise InputError("Type a prompt first, or build one with the task menu (for example 'caption en').")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"The prompt is {len(prompt)} characters long; keep it under {MAX_PROMPT_CHARS}.")
    return prompt


def layout_for(model) -> explain.ImageLayout:
    """SigLIP's patch grid: rows x cols image tokens, no class token."""
    v = model.config.vision_config
    grid = v.image_size // v.patch_size
    return explain.ImageLayout(1, grid, grid, has_cls=False)


def token_text(processor, token_id: int) -> str:
    """The piece as the tokenizer holds it, SentencePiece's word marker shown as a space."""
    piece = processor.tokenizer.id_to_token(int(token_id))
    return "" if piece is None else piece.replace("▁", " ")


@dataclass
class PaliResult:
    prompt: str
    text: str  # the answer so far: <loc>/<seg> tokens kept, control tokens dropped
    tokens: list[TokenInfo]
    layout: explain.ImageLayout
    prompt_ids: list[int]  # the whole prefix: <image> x N, <bos>, prompt, "\n"
    image_size: tuple[int, int]  # (width, height) of the original image: what boxes refer to
    steps: list[torch.Tensor] = field(default_factory=list)  # per token (L, H, K)
    parsed: ParsedAnswer | None = None  # only when done
    done: bool = False

    @property
    def grid(self) -> list[int]:
        return [self.layout.rows, self.layout.cols]

    def to_json(self) -> dict:
        parsed = self.parsed
        return {
            "prompt": self.prompt,
            "text": self.text,
            "plain_text": parsed.text if parsed else None,
            "tokens": [{"text": t.text, "id": t.id,
                        "attention": None if t.attention is None else np.round(t.attention[0], 6).tolist(),
                        "top": [[s, round(p, 6)] for s, p in t.top]}
                       for t in self.tokens],
            "grid": self.grid,
            "frames": 1,
            "image_size": list(self.image_size),
            "detections": [{"box": list(d.box), "label": d.label, "bins": list(d.bins), "has_mask": d.mask is not None}
                           for d in (parsed.detections if parsed else [])],
            "mask_note": parsed.mask_note if parsed else None,
        }


def _inputs(model, processor, image, prompt: str):
    """The processor's batch for one image and one prompt; checks the image tokens fill the patch grid."""
    if image is None:
        raise InputError("Upload an image first.")
    batch = processor(images=image, text=prompt)
    layout = layout_for(model)
    n = int(model.image_token_mask(batch.input_ids)[0].sum())
    if n != layout.num_image_tokens:
        raise InputError(f"This processor makes {n} image tokens but the model's vision tower has "
                         f"{layout.num_image_tokens} patches: the processor and model folders disagree.")
    return batch, layout


def _image_size(image) -> tuple[int, int]:
    if isinstance(image, Image.Image):
        return image.size
    arr = np.asarray(image)
    return int(arr.shape[1]), int(arr.shape[0])


def _finish(result: PaliResult, ids: list[int], processor, masks: bool, decoder) -> PaliResult:
    result.text = processor.decode(ids)
    result.parsed = parse(result.text, result.image_size, masks=masks, decoder=decoder)
    result.done = True
    return result


def run_stream(model, processor, image, prompt: str, max_new_tokens: int = 32, do_sample: bool = False,
               temperature: float = 1.0, top_p: float | None = None, seed: int | None = None, num_beams: int = 1,
               masks: bool = True, decoder=None) -> Iterator[PaliResult]:
    """Yield a growing `PaliResult` per generated token (greedy, sampling), then the finished one (parsed).

    Beam search yields once, at the end (its best hypothesis is known only then)."""
    prompt = clean_prompt(prompt)
    batch, layout = _inputs(model, processor, image, prompt)
    result = PaliResult(prompt, "", [], layout, batch.input_ids[0].tolist(), _image_size(image))
    eos = {processor.eos_id, model.config.eos_token_id}
    ids: list[int] = []
    common = dict(pixel_values=batch.pixel_values, input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                  token_type_ids=batch.token_type_ids, max_new_tokens=int(max_new_tokens), output_attentions=True)
    if num_beams > 1:
        # attention records by one teacher-forced pass (generation's own output_attentions path for beams
        # fails on PaliGemma: `_attach_attentions` asks prefill for logits_for=slice(0, 0))
        common["output_attentions"] = False
        out = model.generate(**common, num_beams=int(num_beams), return_dict=True)
        for token in out.new_tokens[0].tolist():
            if token in eos:
                break
            ids.append(token)
        if ids:
            steps, _, _ = _records(model, processor, batch, prompt, ids)
            for i, (token, att) in enumerate(zip(ids, steps)):
                result.steps.append(att)
                result.tokens.append(TokenInfo(token_text(processor, token), token, explain.default_view(att, layout),
                                               i, [(token_text(processor, token), 1.0)]))
        yield _finish(result, ids, processor, masks, decoder)
        return
    for s in model.stream(**common, do_sample=do_sample, temperature=temperature if do_sample else 1.0,
                          top_p=top_p if do_sample else None, seed=seed if do_sample else None):
        token = int(s.token_ids[0])
        if token in eos:
            break
        att = explain.stack_step(s.attentions)
        result.steps.append(att)
        ids.append(token)
        top = [(token_text(processor, int(i)), float(p)) for i, p in zip(s.top_ids[0], s.top_probs[0])]
        result.tokens.append(TokenInfo(token_text(processor, token), token, explain.default_view(att, layout),
                                       s.index, top))
        result.text = processor.decode(ids)
        yield result
    yield _finish(result, ids, processor, masks, decoder)


def run(model, processor, image, prompt: str, **kwargs) -> PaliResult:
    result = None
    for result in run_stream(model, processor, image, prompt, **kwargs):
        pass
    return result


# ----------------------------------------------------------------------------- boxes and masks
def annotations(image, answer: str, masks: bool = True, decoder=None) -> tuple[tuple, ParsedAnswer]:
    """An answer -> (the `gr.AnnotatedImage` value (image, [(box, label), (mask, label)]), the parsed answer).

    Boxes are pixel (x0, y0, x1, y1) in the original image; an unlabeled object is called "object k"."""
    parsed = parse(answer, _image_size(image), masks=masks, decoder=decoder)
    items = []
    for k, d in enumerate(parsed.detections, 1):
        label = d.label or f"object {k}"
        items.append((tuple(int(v) for v in d.box), label))
        if d.mask is not None:
            items.append((d.mask.astype(np.float32), label))
    return (image, items), parsed


def describe_detections(parsed: ParsedAnswer) -> str:
    """One line per box: its <loc> bins and the pixels they become."""
    if not parsed.detections:
        return "No `<loc>` boxes in this answer (ask with `detect …` or `segment …` to get some)."
    w, h = parsed.image_size
    lines = [LOC_EXPLANATION, ""]
    for k, d in enumerate(parsed.detections, 1):
        y0, x0, y1, x1 = d.bins
        lines.append(f"- **{d.label or f'object {k}'}**: `<loc{y0:04d}><loc{x0:04d}><loc{y1:04d}><loc{x1:04d}>` → "
                     f"x {x0}/{LOC_BINS}·{w} = {d.box[0]} to {x1}/{LOC_BINS}·{w} = {d.box[2]}, "
                     f"y {y0}/{LOC_BINS}·{h} = {d.box[1]} to {y1}/{LOC_BINS}·{h} = {d.box[3]} px"
                     + ("; mask decoded" if d.mask is not None else ""))
    if parsed.mask_note:
        lines.append(f"\n{parsed.mask_note}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the attention mask
@dataclass
class MaskView:
    paligemma: viz.Figure
    paligemma_sentences: list[str]
    git: viz.Figure
    git_sentences: list[str]


def sequence(model, processor, prompt: str, answer_ids: list[int]):
    """input_ids, attention_mask, token_type_ids (1, L) of [prefix; answer] as the model reads them."""
    prompt = clean_prompt(prompt)
    batch = processor(images=None, text=prompt)
    answer = torch.tensor([list(answer_ids)], dtype=torch.long)
    ids = torch.cat([batch.input_ids, answer], 1)
    mask = torch.ones_like(ids)
    types = torch.cat([batch.token_type_ids, torch.ones_like(answer)], 1)
    return ids, mask, types


def mask_views(model, processor, prompt: str, answer_ids: list[int], name: str = "PaliGemma") -> MaskView:
    """PaliGemma's mask for this prompt and answer, read from `model.mask_for` (the mask it really uses),
    beside the mask GIT's rule would give the same image and text (image one block, *all* text causal)."""
    ids, mask, types = sequence(model, processor, prompt, answer_ids)
    m = model.mask_for(ids, mask, types)[0, 0].cpu().numpy()
    n = int(model.image_token_mask(ids)[0].sum())
    p = int((types[0] == 0).sum())
    pieces = [token_text(processor, int(i)) for i in ids[0]]
    pieces = [t if t.strip() else repr(t)[1:-1] or "␣" for t in pieces]
    segments = [viz.Segment("image", 0, n), viz.Segment("prompt", n, p, pieces[n:p])]
    t = len(answer_ids)
    if t:
        segments.append(viz.Segment("answer", p, p + t, pieces[p:]))
    pali, pali_sent = viz.mask_diagram(m, segments, title=f"{name}: prefix-LM mask")
    # GIT's rule (layers.visibility on ranks cumsum(mask_ar), mask_ar 0 for the image, 1 per text token)
    mask_ar = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(p + t - n, dtype=torch.long)])[None]
    ranks = ranks_from_ar(mask_ar)
    g = visibility(ranks, ranks, torch.ones_like(ranks, dtype=torch.bool))[0, 0].numpy()
    git, git_sent = viz.mask_diagram(g, segments, title="GIT's rule on the same sequence")
    return MaskView(pali, pali_sent, git, git_sent)


# ----------------------------------------------------------------------------- the explorer's record
@torch.inference_mode()
def _records(model, processor, batch, prompt: str, token_ids: list[int]):
    """One teacher-forced pass over [prefix; answer]: per answer token the (L, H, K) attention of the query
    that produced it (row i is exactly what cached decoding step i saw), all layers' full attention, the output."""
    ids, mask, types = sequence(model, processor, prompt, token_ids)
    dev = model.device
    out = model(input_ids=ids.to(dev), pixel_values=batch.pixel_values.to(dev), attention_mask=mask.to(dev),
                token_type_ids=types.to(dev), output_attentions=True)
    p = batch.input_ids.shape[1]
    att = [a.float().cpu() for a in out.attentions]
    steps = [torch.stack([a[0, :, q, : q + 1] for a in att]) for q in range(p - 1, p - 1 + len(token_ids))]
    return steps, att, out


@torch.inference_mode()
def exploration(model, processor, image, prompt: str, token_ids: list[int], model_name: str = "", top_k: int = 5):
    """An `explore.Exploration` for the app's attention explorer: one teacher-forced pass over
    [prefix; answer] with attentions recorded (row i of it is what cached decoding step i saw)."""
    from .ui.explore import Exploration  # Gradio-free module of the app

    if not token_ids:
        raise InputError("Nothing was generated, so there is no attention to explore.")
    prompt = clean_prompt(prompt)
    batch, layout = _inputs(model, processor, image, prompt)
    steps, att, out = _records(model, processor, batch, prompt, token_ids)
    p, t = batch.input_ids.shape[1], len(token_ids)
    queries = [p - 1 + i for i in range(t)]
    ids, mask, types = sequence(model, processor, prompt, token_ids)
    probs = out.logits[0, queries].float().softmax(-1).cpu()
    top_v, top_i = probs.topk(min(top_k, probs.shape[-1]))
    top = [[(token_text(processor, int(i)), float(v)) for i, v in zip(row_i, row_v)] for row_i, row_v in
           zip(top_i, top_v)]
    roll = explain.rollout(att)
    rollout = [explain.split_image(roll[q], layout) for q in queries]
    ip = processor.image_processor
    picture = viz.model_view(batch.pixel_values[0].float().numpy(), ip.image_mean, ip.image_std)
    n = layout.num_image_tokens
    prompt_tokens = [token_text(processor, int(i)) for i in ids[0, n:p]]
    tokens = [token_text(processor, int(i)) for i in token_ids]
    m = model.mask_for(ids, mask, types)[0, 0].cpu().numpy()
    segments = [viz.Segment("image", 0, n), viz.Segment("prompt", n, p, prompt_tokens),
                viz.Segment("answer", p, p + t, tokens)]
    expl = Exploration(model_name, processor.decode(token_ids), layout, [picture], prompt_tokens, tokens,
                       list(token_ids), steps, top, rollout, None, m, segments)
    return expl


__all__ = ["TASK_CHOICES", "TASKS", "LOC_EXPLANATION", "build_prompt", "clean_prompt", "layout_for", "PaliResult",
           "run_stream", "run", "annotations", "describe_detections", "MaskView", "mask_views", "exploration"]
