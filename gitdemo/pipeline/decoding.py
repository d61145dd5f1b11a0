"""The decoding settings a user picks (greedy / beam / sampling) and the app's streaming call built on them.

`generate(...)` streams `(text, payload)`: the text so far, and at the end the payload that the API
returns (`Result.to_json()` plus the model, question and settings): plain JSON, as a `Payload`, a dict that also
carries the finished `Result` (its attention record) for the app's explorer; JSON encoders see only the dict.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator

from ..errors import InputError
from .inputs import prepare
from .run import run, run_stream

DECODING = ("greedy", "beam", "sampling")
MAX_NEW_TOKENS = 40


class Payload(dict):
    """A result's JSON (a plain dict to every encoder) that also carries `record`: the `pipeline.Result` it
    describes, attention record included, so the app's explorer starts from it without another model call."""

    def __init__(self, data: dict, record=None):
        super().__init__(data)
        self.record = record


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


def _fit_tokens(model, prompt_len: int, wanted: int) -> int:
    """Room left in the decoder's position table for new tokens (the embedded model has 64)."""
    room = model.config.max_position_embeddings - prompt_len
    if room < 1:
        raise InputError("The question is too long for this model; shorten it.")
    return min(wanted, room)


def generate(model, processor, images, question: str | None, decoding: Decoding, model_name: str,
             streamer=None) -> Iterator[tuple[str, dict | None]]:
    """GIT: yield (text so far, None) per token, then (text, payload) once at the end.
    `streamer`: see `run_stream` (the app's batching engine)."""
    decoding.check()
    prompt = prepare(model, processor, images, question).input_ids  # validates the question early
    max_new = _fit_tokens(model, prompt.shape[1], decoding.max_new_tokens)
    settings = dict(asdict(decoding))
    if decoding.mode == "beam":
        result = run(model, processor, images, question, max_new_tokens=max_new, num_beams=decoding.num_beams)
    else:
        sampling = decoding.mode == "sampling"
        result = None
        for result in run_stream(model, processor, images, question, max_new_tokens=max_new, do_sample=sampling,
                                 temperature=decoding.temperature if sampling else 1.0,
                                 top_p=decoding.top_p if sampling else None,
                                 seed=decoding.seed if sampling else None, streamer=streamer):
            if not result.done:
                yield result.text, None
    payload = Payload({"model": model_name, "question": question, "settings": settings, **result.to_json()}, result)
    yield result.text, payload


__all__ = ["DECODING", "MAX_NEW_TOKENS", "Decoding", "Payload", "generate"]
