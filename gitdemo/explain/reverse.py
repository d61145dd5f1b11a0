"""The explorer read backwards: click one image patch, see which generated tokens read it (no Gradio).

The forward explorer answers "where did this token look?"; here the question is "which tokens looked
*here*?". For one patch (frame, row, col) and every generated token, the value is the same number the
default heatmap shows in that square (the producing query's attention, mean over heads, CLS sinks left
out and the patches renormalised to sum to 1), averaged over layers for the bars, one layer at a time
for the breakdown. `uniform` is what every patch would get if attention were spread evenly: a bar above
it means the token read this patch more than an average patch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .maps import ImageLayout, select, split_image
from .views import Exploration


@dataclass
class PatchReaders:
    frame: int  # counted from 0
    row: int
    col: int
    tokens: list[str]
    mean: np.ndarray  # (T,) mean over layers (and heads)
    per_layer: np.ndarray  # (T, L)
    uniform: float  # 1 / (frames * rows * cols) with renormalised patches

    @property
    def top_token(self) -> int:
        return int(np.argmax(self.mean))

    def to_json(self) -> dict:
        return {"frame": self.frame + 1, "row": self.row + 1, "col": self.col + 1, "uniform": self.uniform,
                "tokens": [{"text": t, "mean": round(float(m), 6), "per_layer": [round(float(v), 6) for v in pl]}
                           for t, m, pl in zip(self.tokens, self.mean, self.per_layer)],
                "top_token": self.top_token}


def patch_at(layout: ImageLayout, x: float, y: float, width: float, height: float) -> tuple[int, int]:
    """Pixel (x, y) on a picture of width x height that shows one frame's patch grid -> (row, col) from 0."""
    if width <= 0 or height <= 0:
        raise InputError("The picture has no size, so no patch can be found.")
    col = int(np.clip(np.floor(float(x) / width * layout.cols), 0, layout.cols - 1))
    row = int(np.clip(np.floor(float(y) / height * layout.rows), 0, layout.rows - 1))
    return row, col


def patch_readers(expl: Exploration, frame: int, row: int, col: int, drop_sink: bool = True) -> PatchReaders:
    """Per generated token, its attention to patch (frame, row, col) (all counted from 0): the layer mean
    and the per-layer values, mean over heads. Out-of-range indices raise `InputError`."""
    lay = expl.layout
    for name, v, n in (("frame", frame, lay.num_frames), ("row", row, lay.rows), ("column", col, lay.cols)):
        if not 0 <= int(v) < n:
            raise InputError(f"The {name} must be between 1 and {n}; got {int(v) + 1}.")
    frame, row, col = int(frame), int(row), int(col)
    per_layer = np.zeros((len(expl.steps), expl.num_layers))
    mean = np.zeros(len(expl.steps))
    for t, att in enumerate(expl.steps):
        mean[t] = split_image(select(att, "mean", "mean"), lay, renormalise=drop_sink)[frame, row, col]
        for l in range(expl.num_layers):
            per_layer[t, l] = split_image(select(att, l, "mean"), lay, renormalise=drop_sink)[frame, row, col]
    uniform = 1.0 / (lay.num_frames * lay.rows * lay.cols)
    return PatchReaders(frame, row, col, list(expl.tokens), mean, per_layer, uniform)


__all__ = ["PatchReaders", "patch_at", "patch_readers"]
