"""From a user's input to a described result, for every family (no Gradio).

run.py       ONE `run` / `run_stream` and ONE `Result` for GIT and PaliGemma
inputs.py    what each family reads (pixels, ids, layout) and how its tokens read back
prompts.py   questions, PaliGemma's task prompts
decoding.py  the decoding settings a user picks, and the app's streaming call
answers.py   PaliGemma's `<loc>` / `<seg>` answers -> boxes and masks
segmask.py   the VQ-VAE decoder of `<seg>` codes
"""
from .answers import (
    LOC_BINS,
    LOC_EXPLANATION,
    Detection,
    ParsedAnswer,
    annotations,
    describe_detections,
    parse,
    parse_locations,
)
from .decoding import DECODING, MAX_NEW_TOKENS, Decoding, generate
from .inputs import Inputs, family, prepare, token_text
from .prompts import MAX_QUESTION_CHARS, TASK_CHOICES, build_prompt, clean_prompt, clean_question
from .run import Result, TokenInfo, run, run_stream

__all__ = ["run", "run_stream", "Result", "TokenInfo", "clean_question", "clean_prompt", "build_prompt",
           "TASK_CHOICES", "MAX_QUESTION_CHARS", "Decoding", "DECODING", "MAX_NEW_TOKENS", "generate", "Inputs",
           "family", "prepare", "token_text", "LOC_BINS", "LOC_EXPLANATION", "Detection", "ParsedAnswer", "parse",
           "parse_locations", "annotations", "describe_detections"]
