"""Click a patch, see which tokens read it: the explorer read backwards, and the `/patch_readers` endpoint.

`PatchPanel` sits inside each tab's one explorer (`Explorer` builds and wires it): the model's view of the
picture (or of the explorer's current video frame) with its patch grid; clicking a square draws one bar per
generated token (its attention to that patch, mean over layers and heads) and, in an accordion, the same
values layer by layer. The logic is `explain.reverse`; the figures are `viz.readers`; the API endpoint
`/patch_readers` is in `patch_api`.
"""
from __future__ import annotations

import gradio as gr

from .. import viz
from ..explain.reverse import patch_at, patch_readers
from ..explain.views import Exploration
from ..lang import say
from .controls import EXPLORE, guard
from .i18n import local, tr

SIDE = 336  # the picker is drawn at this size, so click pixels map to patches without knowing the upload


def _where(expl: Exploration, frame: int, row: int, col: int) -> str:
    if expl.is_video:
        return say("the patch at frame {frame}, row {row}, column {col}", frame=frame + 1, row=row + 1, col=col + 1)
    return say("the patch at row {row}, column {col}", row=row + 1, col=col + 1)


def _frame(expl: Exploration, frame) -> int:
    return int(min(max(int(frame or 1), 1), expl.layout.num_frames)) - 1


def figures(expl: Exploration, frame: int, row: int, col: int, drop_sink: bool = True, cmap: str = "viridis"):
    """(picker image, bar Figure, per-layer Figure, PatchReaders) for one patch (indices from 0)."""
    readers = patch_readers(expl, frame, row, col, drop_sink)
    where = _where(expl, frame, row, col)
    picker = viz.patch_picker(expl.frames[frame], expl.layout.rows, expl.layout.cols, (row, col), SIDE)
    bars = viz.readers_bar(readers.tokens, readers.mean, readers.uniform, where)
    layers = viz.readers_layers(readers.tokens, readers.per_layer, where, cmap if cmap in viz.CMAPS else "viridis")
    return picker, bars, layers, readers


class PatchPanel:
    """Built inside the explorer's group; `wire` after the explorer's own events."""

    HINT = "Click a square of the picture: the bars show how much each generated token read that patch."

    def __init__(self, key: str):
        self.key = key
        with gr.Accordion(tr("Click a patch: which tokens read it?"), open=False, elem_id=f"{key}-patches"):
            with gr.Row():
                with gr.Column(scale=2):
                    self.picker = gr.Image(label=tr("The model's view: click a patch"), type="pil", format="png",
                                           interactive=False, buttons=[], height=SIDE, elem_id=f"{key}-picker")
                with gr.Column(scale=3):
                    self.bars = gr.Image(label=tr("Tokens reading the patch"), show_label=False, type="pil",
                                         format="png", interactive=False, buttons=["download"],
                                         elem_id=f"{key}-readers")
                    self.caption = gr.Markdown(tr(self.HINT), elem_id=f"{key}-readers-caption",
                                               elem_classes=["figure-caption"])
            with gr.Accordion(tr("Per layer"), open=False):
                self.layers = gr.Image(label=tr("Per layer"), show_label=False, type="pil", format="png",
                                       interactive=False, buttons=["download"], elem_id=f"{key}-readers-layers")
                self.layers_caption = gr.Markdown(elem_classes=["figure-caption"])

    @property
    def outputs(self) -> list:
        return [self.picker, self.bars, self.caption, self.layers, self.layers_caption]

    def _reset(self, expl, frame):
        if expl is None:
            return [None, None, local(self.HINT), None, ""]
        f = _frame(expl, frame)
        picture = viz.patch_picker(expl.frames[f], expl.layout.rows, expl.layout.cols, None, SIDE)
        return [picture, None, local(self.HINT), None, ""]

    def _click(self, expl, frame, drop_sink, cmap, evt: gr.SelectData):
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        x, y = evt.index[0], evt.index[1]
        f = _frame(expl, frame)
        row, col = patch_at(expl.layout, x, y, SIDE, SIDE)
        picker, bars, layers, _ = figures(expl, f, row, col, bool(drop_sink), cmap)
        return [picker, bars.image, bars.caption, layers.image, layers.caption]

    def wire(self, build_event, state, frame, drop_sink, cmap) -> None:
        """Draw the picker after each new exploration (`build_event.then`) and when the frame changes."""
        common = dict(concurrency_id=EXPLORE, api_visibility="private", show_progress="hidden")
        build_event.then(guard(self._reset), [state, frame], self.outputs, **common)
        frame.input(guard(self._reset), [state, frame], self.outputs, trigger_mode="always_last", **common)
        self.picker.select(guard(self._click), [state, frame, drop_sink, cmap], self.outputs, **common)


__all__ = ["PatchPanel", "figures", "SIDE"]
