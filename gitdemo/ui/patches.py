"""Pick a patch, see which tokens read it: the explorer read backwards, and the `/patch_readers` endpoint.

`PatchPanel` sits inside each tab's one explorer (`Explorer` builds and wires it). A patch is picked on the
explorer's heatmap itself: a click on a cell, or the arrow keys and Enter on the focused grid (`viz.html.HEAT_JS`).
The panel then shows one bar per generated token (its attention to that patch, mean over layers and heads) as an
HTML table, and, in an accordion, the same values layer by layer. The logic is `explain.reverse`; the per-layer
figure is `viz.readers`; the API endpoint `/patch_readers` is in `patch_api`.
"""
from __future__ import annotations

import gradio as gr

from .. import viz
from ..explain.reverse import patch_at, patch_readers
from ..explain.views import Exploration
from ..lang import say
from .controls import EXPLORE, guard
from .i18n import local, tr

SIDE = 336  # patch_at's reference size (kept for /patch_readers' pixel coordinates)


def _where(expl: Exploration, frame: int, row: int, col: int) -> str:
    if expl.is_video:
        return say("the patch at frame {frame}, row {row}, column {col}", frame=frame + 1, row=row + 1, col=col + 1)
    return say("the patch at row {row}, column {col}", row=row + 1, col=col + 1)


def readers_html(tokens, values, uniform: float, where: str) -> str:
    """One bar per generated token (its share of image attention on the patch), with the even-spread line in
    words; the same caption as the PNG figure (`viz.readers_bar`)."""
    values = [float(v) for v in values]
    best = max(range(len(values)), key=values.__getitem__) if values else 0
    ratio = values[best] / uniform if values and uniform > 0 else 0.0
    caption = say("Each bar is one generated token: the share of its image attention that went to {where} (mean "
                  "over layers and heads). An even spread over all patches would give each {uniform}; '{token}' read "
                  "this patch most ({ratio} x an even spread).", where=where, uniform=f"{100 * uniform:.1f}%",
                  token=tokens[best] if values else "", ratio=f"{ratio:.1f}")
    items = [(f"{i + 1}. {t}", v) for i, (t, v) in enumerate(zip(tokens, values))]
    marked = items[best][0] if items else None
    return viz.html.bars(items, say("Which tokens read {where}", where=where), caption, marked,
                         value_name=say("share"), mark_name=say("most"))


def figures(expl: Exploration, frame: int, row: int, col: int, drop_sink: bool = True, cmap: str = "viridis"):
    """(readers HTML, per-layer Figure, PatchReaders) for one patch (indices from 0)."""
    readers = patch_readers(expl, frame, row, col, drop_sink)
    where = _where(expl, frame, row, col)
    bars = readers_html(readers.tokens, readers.mean, readers.uniform, where)
    layers = viz.readers_layers(readers.tokens, readers.per_layer, where, cmap if cmap in viz.CMAPS else "viridis")
    return bars, layers, readers


class PatchPanel:
    """Built inside the explorer's group; `wire` after the explorer's own events."""

    HINT = ("Pick a patch on the heatmap (click a square, or Tab to the picture, move with the arrow keys and press "
            "Enter): the bars show how much each generated token read that patch.")

    def __init__(self, key: str):
        self.key = key
        with gr.Accordion(tr("Pick a patch: which tokens read it?"), open=False, elem_id=f"{key}-patches") as acc:
            self.accordion = acc
            self.bars = gr.HTML(tr(self.HINT), elem_id=f"{key}-readers", elem_classes=["figure-html"])
            with gr.Accordion(tr("Per layer"), open=False):
                self.layers = gr.Image(label=tr("Per layer"), show_label=False, type="pil", format="png",
                                       interactive=False, buttons=["download"], elem_id=f"{key}-readers-layers")
                self.layers_caption = gr.Markdown(elem_classes=["figure-caption"])

    @property
    def outputs(self) -> list:
        return [self.accordion, self.bars, self.layers, self.layers_caption]

    def show(self, expl: Exploration, frame: int, row: int, col: int, drop_sink: bool, cmap: str) -> list:
        bars, layers, _ = figures(expl, frame, row, col, bool(drop_sink), cmap)
        return [gr.Accordion(open=True), bars, gr.update(value=layers.image, alt_text=layers.caption), layers.caption]

    def _reset(self, expl, frame):
        if expl is not None:
            expl.picked = None
        return [gr.skip(), f"<p>{viz.html.esc(local(self.HINT))}</p>", None, ""]

    def wire(self, state, frame) -> None:
        """Clear the readers when the frame changes (the explorer's build clears them with its own outputs)."""
        common = dict(concurrency_id=EXPLORE, api_visibility="private", show_progress="hidden")
        frame.input(guard(self._reset), [state, frame], self.outputs, trigger_mode="always_last", **common)


__all__ = ["PatchPanel", "figures", "readers_html", "patch_at", "SIDE"]
