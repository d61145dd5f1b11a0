"""One call from a user's input to a described result, for every family: what the CLI and the app both use.

image(s) or video frames + question (GIT) or image + prompt (PaliGemma) -> `inputs.prepare` -> generation
(with attention records) -> per-token default attention grids. Streaming yields a growing result per token;
beam search yields once, at the end (its best hypothesis is known only then).

    model, processor = gitdemo.load_model(folder), gitdemo.load_processor(folder)
    result = run(model, processor, [image], question="what is red?")     # GIT
    result = run(model, processor, image, "detect cat ; dog")             # PaliGemma
    result.to_json()      # the CLI's --json object (PaliGemma adds its prompt, top tokens and detections)

Where the attention goes: a generated token's record (layers, heads, keys) has the image in its first N keys:
GIT's frames (CLS + rows x cols patches each) in front of the prompt, PaliGemma's `<image>` placeholders at
positions 0..N-1 (SigLIP patches, no CLS). Each token's default grid is the mean over layers and heads,
renormalised over the patches (`explain.maps.default_view`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from ..explain.maps import ImageLayout, default_view, image_share, stack_step
from ..generation import GenerateOutput, generate, stream
from .answers import ParsedAnswer, parse
from .inputs import Inputs, eos_ids, prepare, token_text

DEFAULT_NEW_TOKENS = {"git": 20, "paligemma": 32}


@dataclass
class TokenInfo:
    text: str
    id: int
    attention: np.ndarray | None  # (F, rows, cols) default view
    step: int
    top: list[tuple[str, float]] = field(default_factory=list)  # next-token candidates at this step


@dataclass
class Result:
    text: str  # the answer so far (PaliGemma: <loc>/<seg> tokens kept, control tokens dropped)
    tokens: list[TokenInfo]
    layout: ImageLayout
    prompt_ids: list[int]  # GIT: the text prompt; PaliGemma: the whole prefix (<image> x N, <bos>, prompt, "\n")
    steps: list[torch.Tensor] = field(default_factory=list)  # per token (L, H, K) attention
    vision_attentions: list[torch.Tensor] | None = None  # per vision layer (F, H, n, n)
    done: bool = False
    family: str = "git"
    prompt: str | None = None  # the cleaned question / prompt
    image_size: tuple[int, int] | None = None  # PaliGemma: (width, height) of the original image
    parsed: ParsedAnswer | None = None  # PaliGemma, when done: boxes (and masks) in image pixels
    # what the model read (pixels, ids, layout): with `steps` and each token's `top`, the generation's own record,
    # from which the explorer's first view is built with no further model call (`explain.from_record`)
    inputs: Inputs | None = field(default=None, repr=False)

    @property
    def grid(self) -> list[int]:
        return [self.layout.rows, self.layout.cols]

    def to_json(self) -> dict:
        """The CLI's `--json` object: text, tokens with their attention grid, the grid size (and, for
        PaliGemma, the prompt, each token's top candidates, the image size and the detections)."""
        video = self.layout.num_frames > 1
        pali = self.family == "paligemma"
        tokens = []
        aligned = len(self.steps) == len(self.tokens)  # one record per token (else no share is given)
        for i, t in enumerate(self.tokens):
            item = {"text": t.text, "id": t.id,
                    "attention": None if t.attention is None else
                    np.round(t.attention if video else t.attention[0], 6).tolist()}
            if aligned and t.attention is not None:  # where its attention went: image patches, CLS, text
                item["share"] = {k: round(v, 4) for k, v in image_share(self.steps[i], self.layout).items()}
            if pali:
                item["top"] = [[s, round(p, 6)] for s, p in t.top]
            tokens.append(item)
        if not pali:
            return {"text": self.text, "tokens": tokens, "grid": self.grid, "frames": self.layout.num_frames}
        parsed = self.parsed
        return {
            "prompt": self.prompt, "text": self.text, "plain_text": parsed.text if parsed else None,
            "tokens": tokens, "grid": self.grid, "frames": self.layout.num_frames,
            "image_size": list(self.image_size),
            "detections": [{"box": list(d.box), "label": d.label, "bins": list(d.bins), "has_mask": d.mask is not None}
                           for d in (parsed.detections if parsed else [])],
            "mask_note": parsed.mask_note if parsed else None,
        }


def _start(inputs: Inputs) -> Result:
    return Result("", [], inputs.layout, inputs.input_ids[0].tolist(), family=inputs.family, prompt=inputs.prompt,
                  image_size=inputs.image_size, inputs=inputs)


def _add(result: Result, processor, token: int, att, step: int, top_ids, top_probs) -> None:
    """Append one generated token: its (L, H, K) record, its default grid, its top candidates."""
    if att is not None:
        result.steps.append(att)
    top = [(token_text(processor, int(i)), float(p)) for i, p in zip(top_ids, top_probs)]
    grid = default_view(att, result.layout) if att is not None else None
    result.tokens.append(TokenInfo(token_text(processor, token), token, grid, step, top))


def _finish(result: Result, ids: list[int], processor, masks: bool, decoder) -> Result:
    result.text = processor.decode(ids)
    if result.family == "paligemma":
        result.parsed = parse(result.text, result.image_size, masks=masks, decoder=decoder)
    result.done = True
    return result


def run_stream(model, processor, images, question=None, max_new_tokens=None, do_sample=False, temperature=1.0,
               top_k=None, top_p=None, seed=None, record=True, num_beams: int = 1, masks: bool = True,
               decoder=None, streamer=None) -> Iterator[Result]:
    """Yield a growing `Result` after every generated token (greedy or sampling), then the finished one.

    `streamer`: what produces the steps, `generation.stream` unless given (the app passes its batching
    engine's `serving.stream`, which takes the same arguments).
    `question` is GIT's optional question or PaliGemma's prompt; `masks` / `decoder`: PaliGemma's `<seg>` masks."""
    inputs = prepare(model, processor, images, question)
    result = _start(inputs)
    if max_new_tokens is None:
        max_new_tokens = DEFAULT_NEW_TOKENS[inputs.family]
    eos = eos_ids(model, processor)
    ids: list[int] = []
    if num_beams > 1:
        out: GenerateOutput = generate(model, **inputs.model_kwargs, max_new_tokens=int(max_new_tokens),
                                       num_beams=int(num_beams), output_attentions=record, return_dict=True)
        result.vision_attentions = out.vision_attentions
        for i, token in enumerate(out.new_tokens[0].tolist()):
            if token in eos:
                break
            ids.append(token)
            att = stack_step(out.attentions[i]) if record else None
            top_ids, top_probs = (out.top_ids[i][0], out.top_probs[i][0]) if out.top_ids else ([token], [1.0])
            _add(result, processor, token, att, i, top_ids, top_probs)
        yield _finish(result, ids, processor, masks, decoder)
        return
    sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed) if do_sample else {}
    for s in (streamer or stream)(model, **inputs.model_kwargs, max_new_tokens=int(max_new_tokens), do_sample=do_sample,
                    output_attentions=record, **sampling):
        token = int(s.token_ids[0])
        if s.vision_attentions:
            result.vision_attentions = [a.float() for a in s.vision_attentions]
        if token in eos:
            break
        ids.append(token)
        _add(result, processor, token, stack_step(s.attentions) if record else None, s.index, s.top_ids[0],
             s.top_probs[0])
        result.text = processor.decode(ids)
        yield result
    yield _finish(result, ids, processor, masks, decoder)


def run(model, processor, images, question=None, max_new_tokens=None, num_beams=1, do_sample=False,
        temperature=1.0, top_k=None, top_p=None, seed=None, record=True, masks: bool = True, decoder=None) -> Result:
    """The whole result at once (beam search included)."""
    result = None
    for update in run_stream(model, processor, images, question, max_new_tokens, do_sample, temperature, top_k,
                             top_p, seed, record, num_beams, masks, decoder):
        result = update
    return result


__all__ = ["run", "run_stream", "Result", "TokenInfo", "DEFAULT_NEW_TOKENS"]
