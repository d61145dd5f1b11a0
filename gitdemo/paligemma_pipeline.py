# SHIM (issue 16): removed at merge
"""Old home of PaliGemma's pipeline: now `gitdemo.pipeline` (one run for every family) and `gitdemo.explain`."""
from __future__ import annotations

from typing import Iterator

from .explain.mask import MaskView, mask_views, sequence  # noqa: F401
from .explain.maps import ImageLayout
from .explain.trace import trace as exploration  # noqa: F401
from .pipeline.answers import LOC_BINS, LOC_EXPLANATION, ParsedAnswer, annotations, describe_detections  # noqa: F401
from .pipeline.inputs import token_text  # noqa: F401
from .pipeline.prompts import TASK_CHOICES, TASKS, build_prompt, clean_prompt  # noqa: F401
from .pipeline.run import Result as PaliResult
from .pipeline.run import TokenInfo, run_stream as _run_stream  # noqa: F401


def layout_for(model) -> ImageLayout:
    return ImageLayout.for_model(model)


def run_stream(model, processor, image, prompt: str, max_new_tokens: int = 32, do_sample: bool = False,
               temperature: float = 1.0, top_p: float | None = None, seed: int | None = None, num_beams: int = 1,
               masks: bool = True, decoder=None) -> Iterator[PaliResult]:
    return _run_stream(model, processor, image, prompt, max_new_tokens, do_sample, temperature, None, top_p, seed,
                       True, num_beams, masks, decoder)


def run(model, processor, image, prompt: str, **kwargs) -> PaliResult:
    result = None
    for result in run_stream(model, processor, image, prompt, **kwargs):
        pass
    return result


__all__ = ["TASK_CHOICES", "TASKS", "LOC_EXPLANATION", "build_prompt", "clean_prompt", "layout_for", "PaliResult",
           "run_stream", "run", "annotations", "describe_detections", "MaskView", "mask_views", "exploration"]
