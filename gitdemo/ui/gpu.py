"""ZeroGPU glue, in one place. On a Hugging Face ZeroGPU Space the `spaces` package lends a GPU only while a
function decorated with `spaces.GPU` runs; everywhere else that package is absent (we never depend on it) or
its decorator does nothing, and the app runs exactly as before.

What runs on a lent GPU: the generation of every tab (`stream`, a generator: the text streams out token by
token) and the explorer's teacher-forced pass (`traced`). Models are loaded by the cache as usual (on the CPU
when no GPU is visible at load time, as on ZeroGPU) and moved to "cuda" inside the decorated function, where
ZeroGPU expects it. The time asked for (`spaces.GPU(duration=...)`, a callable given the same arguments as
the function) is estimated from the request: new tokens x beams x model size, bounded to 10..120 s; a
shorter ask gets a better place in ZeroGPU's queue. See docs/hosting.md for the versions ZeroGPU supports.
"""
from __future__ import annotations

import logging
import math

log = logging.getLogger("gitdemo.ui")

try:  # optional: present on Spaces (ZeroGPU or not), absent on a laptop or a classroom server
    import spaces as _spaces
except Exception:  # noqa: BLE001 - ImportError, or a `spaces` that cannot start here: run without it
    _spaces = None

MIN_S, MAX_S = 10, 120


def enabled() -> bool:
    """True when the `spaces` package was importable (its decorator is a no-op unless ZeroGPU is on)."""
    return _spaces is not None


def estimate_seconds(max_new_tokens: int, num_beams: int = 1, nbytes: int = 0, frames: int = 1) -> int:
    """GPU seconds to ask for: moving the weights (~1 s per GB, counted twice for safety), then per new token
    ~30 ms plus 20 ms per GB of weights, beams costing a quarter of a token each extra (batched), frames a
    little more prefill; bounded to MIN_S..MAX_S."""
    gb = max(0.0, nbytes / 1e9)
    per_token = 0.03 + 0.02 * gb
    beams = 1 + 0.25 * max(0, int(num_beams or 1) - 1)
    seconds = 3 + 2 * gb + max(1, int(max_new_tokens or 1)) * beams * per_token * 2 + 0.2 * max(1, frames)
    return int(min(MAX_S, max(MIN_S, math.ceil(seconds))))


def place(model):
    """Put `model` on the GPU when one is visible (inside a decorated call on ZeroGPU); else leave it."""
    import torch

    if torch.cuda.is_available():
        try:
            if next(model.parameters()).device.type != "cuda":
                model.to("cuda")
        except StopIteration:
            pass
    return model


def _gpu(duration):
    """`spaces.GPU(duration=duration)` when `spaces` is importable, else the identity."""
    if _spaces is None:
        return lambda fn: fn
    return _spaces.GPU(duration=duration)


# ----------------------------------------------------------------------------- the decorated compute
def _stream_seconds(generate_fn, loaded, images, question, decoding) -> int:
    beams = decoding.num_beams if getattr(decoding, "mode", "greedy") == "beam" else 1
    return estimate_seconds(decoding.max_new_tokens, beams, getattr(loaded, "nbytes", 0), len(images or [1]))


@_gpu(_stream_seconds)
def stream(generate_fn, loaded, images, question, decoding):
    """A GIT generation (`pipeline.decoding.generate`) on the lent GPU: yields what `generate_fn` yields."""
    place(loaded.model)
    yield from generate_fn(loaded.model, loaded.processor, images, question, decoding, loaded.name)


def _stream_pali_seconds(run_stream_fn, loaded, image, prompt, **kwargs) -> int:
    return estimate_seconds(kwargs.get("max_new_tokens", 32), kwargs.get("num_beams", 1),
                            getattr(loaded, "nbytes", 0))


@_gpu(_stream_pali_seconds)
def stream_pali(run_stream_fn, loaded, image, prompt, **kwargs):
    """A PaliGemma generation (`pipeline.run.run_stream`) on the lent GPU."""
    place(loaded.model)
    yield from run_stream_fn(loaded.model, loaded.processor, image, prompt, **kwargs)


def _traced_seconds(exploration_fn, loaded, *args) -> int:
    return estimate_seconds(1, 1, getattr(loaded, "nbytes", 0))


@_gpu(_traced_seconds)
def traced(exploration_fn, loaded, *args):
    """The explorer's teacher-forced pass (one forward with attentions) on the lent GPU."""
    place(loaded.model)
    return exploration_fn(loaded, *args)


__all__ = ["enabled", "estimate_seconds", "place", "stream", "stream_pali", "traced", "MIN_S", "MAX_S"]
