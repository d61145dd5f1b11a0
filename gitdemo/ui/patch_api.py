"""`/patch_readers(media, result, row, col, frame)`: which generated tokens read one patch, as JSON.

Returns {"frame", "row", "col", "uniform", "tokens": [{"text", "mean", "per_layer"}], "top_token", "model"};
`media` is the image or video file a generation endpoint was given, `result` the JSON it returned; row,
col and frame count from 1. The same numbers as the explorer's patch panel (`patches`, `explain.reverse`).
"""
from __future__ import annotations

import gradio as gr

from ..errors import InputError
from ..explain.reverse import patch_readers
from . import registry
from .controls import EXPLORE, guard, progress_callback
from .explorer import exploration


def _number(value, name: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise InputError(f"The {name} must be a whole number counted from 1.") from None


def patch_readers_api(media, result, row=1, col=1, frame=1, progress=gr.Progress()):
    """Which generated tokens of `result` (the JSON a generation endpoint returned for `media`) read the
    patch at row, col (and frame, for a video), all counted from 1."""
    if not isinstance(result, dict) or not result.get("tokens"):
        raise InputError("Pass the JSON result of /caption, /vqa, /video or /paligemma (with its tokens).")
    loaded = registry.CACHE.load(registry.key_of(result), progress_callback(progress))
    expl = exploration(loaded, media, result, video=int(result.get("frames") or 1) > 1)
    readers = patch_readers(expl, _number(frame, "frame") - 1, _number(row, "row") - 1, _number(col, "column") - 1)
    return {**readers.to_json(), "model": result.get("model") or loaded.name}


def register_api() -> None:
    """The `/patch_readers` endpoint on hidden components (call inside the app's `gr.Blocks`)."""
    with gr.Group(visible=False):
        media = gr.File(type="filepath", label="Image or video")
        result = gr.JSON(label="Result JSON")
        row = gr.Number(1, precision=0, label="Row")
        col = gr.Number(1, precision=0, label="Column")
        frame = gr.Number(1, precision=0, label="Frame")
        out = gr.JSON(label="Tokens reading the patch")
        go = gr.Button("Patch readers")
    go.click(guard(patch_readers_api), [media, result, row, col, frame], out, api_name="patch_readers",
             concurrency_id=EXPLORE)


__all__ = ["patch_readers_api", "register_api"]
