"""One call from a user's input to a described result: what the CLI and the app both use.

image(s) or video frames (+ optional question) -> processor -> generation (with attention
records) -> per-token default attention grids. Streaming yields a partial result per token.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from . import explain
from .errors import InputError
from .generation import GenerateOutput, generate, stream

MAX_QUESTION_CHARS = 1000


@dataclass
class TokenInfo:
    text: str
    id: int
    attention: np.ndarray | None  # (F, rows, cols) default view
    step: int
    top: list[tuple[str, float]] = field(default_factory=list)  # next-token candidates at this step


@dataclass
class Result:
    text: str
    tokens: list[TokenInfo]
    layout: explain.ImageLayout
    prompt_ids: list[int]
    steps: list[torch.Tensor] = field(default_factory=list)  # per token (L, H, K) attention
    vision_attentions: list[torch.Tensor] | None = None  # per vision layer (F, H, n, n)
    done: bool = False

    @property
    def grid(self) -> list[int]:
        return [self.layout.rows, self.layout.cols]

    def to_json(self) -> dict:
        """The CLI's `--json` object: text, tokens with their attention grid, the grid size."""
        video = self.layout.num_frames > 1
        return {
            "text": self.text,
            "tokens": [
                {"text": t.text, "id": t.id,
                 "attention": None if t.attention is None else
                 np.round(t.attention if video else t.attention[0], 6).tolist()}
                for t in self.tokens
            ],
            "grid": self.grid,
            "frames": self.layout.num_frames,
        }


def clean_question(question: str | None) -> str | None:
    if question is None:
        return None
    question = " ".join(str(question).split())
    if not question:
        return None
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"The question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS}.")
    return question


def _inputs(model, processor, images, question):
    """pixel_values (1, 3, H, W) or (1, F, 3, H, W) and the prompt ids (1, T)."""
    frames = images if isinstance(images, (list, tuple)) else [images]
    if not frames:
        raise InputError("No image was given.")
    pixels = processor.image_processor(frames)  # (F, 3, H, W)
    pixel_values = pixels[None] if len(frames) > 1 else pixels
    tok = processor.tokenizer
    question = clean_question(question)
    if question is None:
        ids = [tok.cls_token_id]
    else:
        limit = model.config.max_position_embeddings // 2
        ids = tok.encode_prompt(question)[:limit]
    return pixel_values, torch.tensor([ids])


def _token_info(tok, layout, token_id, step_att, step, top_ids, top_probs) -> TokenInfo:
    grid = explain.default_view(step_att, layout) if step_att is not None else None
    top = [(tok.token_text(int(i)), float(p)) for i, p in zip(top_ids, top_probs)]
    return TokenInfo(tok.token_text(token_id), token_id, grid, step, top)


def run_stream(model, processor, images, question=None, max_new_tokens=20, do_sample=False, temperature=1.0,
               top_k=None, top_p=None, seed=None, record=True) -> Iterator[Result]:
    """Yield a growing `Result` after every generated token (greedy or sampling)."""
    pixel_values, prompt = _inputs(model, processor, images, question)
    frames = pixel_values.shape[1] if pixel_values.ndim == 5 else 1
    layout = explain.ImageLayout.for_model(model, frames)
    tok = processor.tokenizer
    result = Result("", [], layout, prompt[0].tolist())
    ids: list[int] = []
    eos = model.config.eos_token_id
    for s in stream(model, pixel_values=pixel_values, input_ids=prompt, max_new_tokens=max_new_tokens,
                    do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                    output_attentions=record):
        token = int(s.token_ids[0])
        if s.vision_attentions:
            result.vision_attentions = [a.float() for a in s.vision_attentions]
        if token == eos:
            break
        att = explain.stack_step(s.attentions) if record else None
        if att is not None:
            result.steps.append(att)
        ids.append(token)
        result.tokens.append(_token_info(tok, layout, token, att, s.index, s.top_ids[0], s.top_probs[0]))
        result.text = tok.decode(ids)
        yield result
    result.done = True
    yield result


def run(model, processor, images, question=None, max_new_tokens=20, num_beams=1, do_sample=False,
        temperature=1.0, top_k=None, top_p=None, seed=None, record=True) -> Result:
    """The whole result at once (beam search included)."""
    if num_beams <= 1:
        result = None
        for result in run_stream(model, processor, images, question, max_new_tokens, do_sample, temperature,
                                 top_k, top_p, seed, record):
            pass
        return result
    pixel_values, prompt = _inputs(model, processor, images, question)
    frames = pixel_values.shape[1] if pixel_values.ndim == 5 else 1
    layout = explain.ImageLayout.for_model(model, frames)
    out: GenerateOutput = generate(model, pixel_values=pixel_values, input_ids=prompt,
                                   max_new_tokens=max_new_tokens, num_beams=num_beams,
                                   output_attentions=record, return_dict=True)
    tok = processor.tokenizer
    new = out.new_tokens[0].tolist()
    eos = model.config.eos_token_id
    if eos in new:
        new = new[: new.index(eos)]
    result = Result(tok.decode(new), [], layout, prompt[0].tolist(), done=True,
                    vision_attentions=out.vision_attentions)
    for i, token in enumerate(new):
        att = explain.stack_step(out.attentions[i]) if record else None
        if att is not None:
            result.steps.append(att)
        result.tokens.append(_token_info(tok, layout, token, att, i, torch.tensor([token]), torch.tensor([1.0])))
    return result


__all__ = ["run", "run_stream", "Result", "TokenInfo", "clean_question"]
