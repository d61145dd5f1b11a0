"""The attention explorer under every tab, GIT or PaliGemma: token chips, scrubber, view controls, figures.

It is built from the JSON a generation returns (its `.change` event), so it works the same after a
fresh generation, a beam search or a cached example; all it keeps is one `Exploration` per user, in
`gr.State`. The model that wrote the result (the JSON's "model_key" or "model") is taken from the one
cache, and its family picks the teacher-forced pass in `exploration` (the only place that asks).

The main heatmap shows raw attention (the default), rollout or relevancy ("What the heatmap shows"). Relevancy
needs a backward pass, so `ensure_relevancy` computes it only when that view is chosen, for every token of the
result at once, and keeps it on the `Exploration` (from the exact model when the answer came from int8).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import gradio as gr
import numpy as np

from .. import explain, viz
from . import gpu, registry
from ..errors import GitDemoError
from ..explain.maps import DEFAULT_VIEW, VIEWS
from ..explain.relevancy import relevancy
from ..explain.trace import trace
from ..explain.views import Exploration, View, mask_figure, render, token_summary
from ..pipeline import inputs as pipeline_inputs
from .controls import EXPLORE, guard, open_images, open_video, progress_callback
from .faithful import TestThisMap
from .i18n import local, marker, tr
from ..lang import say
from .patches import PatchPanel
from .mechanism import MechanismPanel

log = logging.getLogger(__name__)
STATE_TTL_S = int(os.environ.get("GITDEMO_STATE_TTL_S", "3600"))
FIGURES = ("heatmap", "topk", "share", "layers", "heads", "rollout", "frames", "vision")
MAP_LABELS = {"attention": "raw attention (default)", "rollout": "attention rollout",
              "relevancy": "relevancy (gradient-weighted; computed on demand)"}
# figures inside closed accordions: drawn when their accordion opens (.expand), not on every click
LAZY = {"layers": ("layers", "heads"), "rollout": ("rollout",), "vision": ("vision",), "mask": ()}


@dataclass
class Slot:
    image: gr.Image
    caption: gr.Markdown


def _slot(label: str, elem_id: str, height: int | None = None) -> Slot:
    image = gr.Image(label=tr(label), show_label=False, type="pil", format="png", interactive=False,
                     buttons=["download", "fullscreen"], elem_id=elem_id, height=height)
    caption = gr.Markdown(elem_id=f"{elem_id}-caption", elem_classes=["figure-caption"])
    return Slot(image, caption)


def _model_input(loaded: registry.Loaded, media, prompt, video: bool):
    """(images, prompt) as the model that wrote a result read them: PaliGemma one image and its prompt; GIT the
    frames (or image) and its question."""
    if loaded.family == registry.PALIGEMMA:
        return open_images(media)[0], prompt or ""
    return (open_video(media, loaded.model.config.num_frames).frames if video else open_images(media)), prompt


def exploration(loaded: registry.Loaded, media, payload: dict, video: bool = False) -> Exploration:
    """The teacher-forced pass over [image; prompt; the result's tokens] (one `trace` for every family)."""
    ids = [int(t["id"]) for t in payload["tokens"]]
    pali = loaded.family == registry.PALIGEMMA
    prompt = payload.get("prompt") if pali else payload.get("question")
    images, prompt = _model_input(loaded, media, prompt, video)
    expl = trace(loaded.model, loaded.processor, images, prompt, ids,
                 registry.short_name(loaded.name) if pali else loaded.name)
    expl.origin = {"key": loaded.name, "precision": loaded.precision, "media": media, "prompt": prompt,
                   "video": video}
    return expl


def _relevancy_maps(loaded: registry.Loaded, origin: dict, token_ids: list[int]) -> list[np.ndarray]:
    images, prompt = _model_input(loaded, origin["media"], origin["prompt"], origin["video"])
    return relevancy(loaded.model, pipeline_inputs.prepare(loaded.model, loaded.processor, images, prompt), token_ids)


def ensure_relevancy(expl: Exploration, progress=None) -> None:
    """Relevancy maps of every token of the result, computed once (one forward, one backward per token) and kept
    on the `Exploration`, so other tokens and settings reuse them; on failure `relevancy_error` says why."""
    if expl is None or expl.relevancy is not None:
        return
    origin = expl.origin
    if not origin:
        expl.relevancy_error = say("this result carries no input to recompute it from; generate again.")
        return
    precision, note = origin["precision"], ""
    if precision == "int8":  # int8 layers give no gradients: the exact copy of the same checkpoint does
        precision, note = "fp32", say("Computed on the exact (fp32) model: int8 layers give no gradients.") + " "
    try:
        loaded = registry.CACHE.load(origin["key"], progress, precision)
        t0 = time.perf_counter()
        maps = gpu.traced(_relevancy_maps, loaded, origin, expl.token_ids)  # on a lent GPU under ZeroGPU
        seconds = time.perf_counter() - t0
    except GitDemoError as exc:
        expl.relevancy_error = registry.scrub(str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a failed view falls back to raw attention; the server lives on
        log.exception("relevancy failed")
        expl.relevancy_error = say("the backward pass failed ({error}).", error=type(exc).__name__)
        return
    expl.relevancy, expl.relevancy_error = maps, ""
    expl.relevancy_note = note + say("Maps of all {n} tokens computed once for this result in {seconds} s (one "
                                     "forward, one backward per token), then reused.", n=len(maps),
                                     seconds=f"{seconds:.2f}")


def _precision_note(precision: str) -> str:
    """Which arithmetic produced the maps: int8 moves attention a little (docs/results.md)."""
    from ..models.precision import LABELS

    exact = say(" Pick exact (fp32) above and generate again for the model's exact maps.") if precision != "fp32" \
        else ""
    return say(" Maps computed at precision {precision}.", precision=local(LABELS.get(precision, precision))) + exact


def _status(expl: Exploration) -> str:
    t = len(expl.tokens)
    if not expl.layout.has_cls:  # SigLIP (PaliGemma)
        return say("Exploring **{text}** ({n} tokens). SigLIP has no class token: the maps cover its {rows} x {cols} "
                   "patches. Click a token, or use the scrubber.", text=expl.text, n=t, rows=expl.layout.rows,
                   cols=expl.layout.cols)
    return say("Exploring **{text}** ({n} tokens, model {model}). Click a token, or step through the generation with "
               "the scrubber.", text=expl.text, n=t, model=local(registry.label(expl.model_name)))


class Explorer:
    """One explorer per tab; `key` prefixes its element ids and API names, `video` adds frames."""

    def __init__(self, key: str, video: bool = False):
        self.key, self.video = key, video
        self.state = gr.State(None, time_to_live=STATE_TTL_S)
        self.open = gr.State([])  # the lazy sections (LAZY) this user has open
        self.accordions: dict[str, gr.Accordion] = {}
        with gr.Group(elem_classes=["explorer"]):
            gr.Markdown(tr("### Attention explorer\nWhere did the model look while it wrote each token? "
                        "Attention shows where information *could* flow, not *why* the model decided."))
            self.status = gr.Markdown(tr("Generate something above, then click one of its tokens."),
                                      elem_id=f"{key}-status")
            self.chips = gr.Radio(choices=[], label=tr("Generated tokens: click one"), interactive=True,
                                  elem_id=f"{key}-chips", elem_classes=["token-chips"])
            self.scrubber = gr.Slider(1, 2, value=1, step=1, precision=0, label=tr("Generation scrubber: step"),
                                      interactive=False, elem_id=f"{key}-scrubber")
            self.step_text = gr.Markdown(elem_id=f"{key}-step")
            with gr.Row():
                with gr.Column(scale=3):
                    self.slots = {"heatmap": _slot("Attention over the image", f"{key}-heatmap")}
                with gr.Column(scale=2):
                    self.slots["topk"] = _slot("Next-token probabilities", f"{key}-topk")
                    self.slots["share"] = _slot("Image vs text", f"{key}-share")
            with gr.Row():
                self.layer = gr.Dropdown([(marker("mean of all layers"), "mean")], value="mean", label=tr("Layer"),
                                         elem_id=f"{key}-layer")
                self.head = gr.Dropdown([(marker("mean over heads"), "mean"), (marker("max over heads"), "max")],
                                        value="mean", label=tr("Head"), elem_id=f"{key}-head")
                self.cmap = gr.Dropdown(list(viz.CMAPS), value="viridis", label=tr("Colour map (colour-blind safe)"))
                self.map = gr.Dropdown([(tr(MAP_LABELS[v]), v) for v in VIEWS], value=DEFAULT_VIEW,
                                       label=tr("What the heatmap shows"), elem_id=f"{key}-map")
                self.frame = gr.Slider(1, 6, value=1, step=1, precision=0, label=tr("Frame"), visible=video,
                                       elem_id=f"{key}-frame")
            with gr.Row():
                self.opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label=tr("Heatmap opacity"))
                self.drop_sink = gr.Checkbox(value=True, label=tr("Leave out the CLS sink (rescale the patches to 100%)"))
                self.shared = gr.Checkbox(value=True, label=tr("One colour scale for all small multiples"))
            if video:
                with gr.Accordion(tr("Frames: where each frame is looked at"), open=True):
                    self.slots["frames"] = _slot("Sampled frames", f"{key}-frames")
            self.patches = PatchPanel(key)
            with gr.Accordion(tr("All layers and all heads (small multiples)"), open=False) as acc:
                self.slots["layers"] = _slot("Layers", f"{key}-layers")
                self.slots["heads"] = _slot("Heads", f"{key}-heads")
            self.accordions["layers"] = acc
            with gr.Accordion(tr("Raw attention beside rollout"), open=False) as acc:
                self.slots["rollout"] = _slot("Raw vs rollout", f"{key}-rollout")
            self.accordions["rollout"] = acc
            self.faithful = TestThisMap(key, video)
            with gr.Accordion(tr("The vision encoder's own attention (CLS to patches, per layer)"), open=False) as acc:
                self.slots["vision"] = _slot("Vision encoder", f"{key}-vision")
            self.accordions["vision"] = acc
            with gr.Accordion(tr("The attention mask the model used for this input"), open=False) as acc:
                self.mask = _slot("Attention mask", f"{key}-mask")
                self.mask_sentences = gr.Markdown()
            self.accordions["mask"] = acc
            self.mechanism = MechanismPanel(key)  # issue 23: attention step by step + the sampling knobs
        if not video:
            self.slots["frames"] = None

    # -- the view from the controls
    @property
    def controls(self) -> list:
        return [self.layer, self.head, self.drop_sink, self.shared, self.opacity, self.cmap, self.frame, self.map]

    @staticmethod
    def view(token, layer, head, drop_sink, shared, opacity, cmap, frame, map_=DEFAULT_VIEW) -> View:
        return View(token=int(token or 0), layer=layer, head=head, drop_sink=bool(drop_sink), shared_scale=bool(shared),
                    opacity=float(opacity if opacity is not None else 0.5), cmap=cmap or "viridis",
                    frame=int(frame or 1), map=map_ or DEFAULT_VIEW)

    @staticmethod
    def _render(expl: Exploration, view: View, only=None, progress=None) -> dict:
        """`render`, with the relevancy maps computed first when the view shows them and they are missing."""
        if view.map == "relevancy":
            ensure_relevancy(expl, progress)
        return render(expl, view, only=only)

    @property
    def figure_outputs(self) -> list:
        out = []
        for name in FIGURES:
            slot = self.slots.get(name)
            if slot is not None:
                out += [slot.image, slot.caption]
        return out

    def _figure_values(self, figs: dict | None) -> list:
        out = []
        for name in FIGURES:
            if self.slots.get(name) is None:
                continue
            if figs is not None and name not in figs:  # not drawn (its accordion is closed): left as it is
                out += [gr.skip(), gr.skip()]
                continue
            fig = (figs or {}).get(name)
            out += [fig.image, fig.caption] if fig is not None else [None, ""]
        return out

    @staticmethod
    def _only(opened) -> set[str] | None:
        """The figures to draw: everything outside the lazy accordions, plus those of the open ones."""
        if opened is None:
            return None
        lazy = {n for names in LAZY.values() for n in names}
        return {n for n in FIGURES if n not in lazy} | {n for s in (opened or []) for n in LAZY.get(s, ())}

    def _mask_values(self, expl) -> list:
        mask_fig, sentences = mask_figure(expl)
        return [mask_fig.image, mask_fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)]

    def _expand(self, section: str):
        def expand(opened, expl, index, *controls):
            opened = sorted(set(opened or []) | {section})
            if expl is None:
                return [opened] + [gr.skip()] * (2 if section == "mask" else 2 * len(LAZY[section]))
            if section == "mask":
                return [opened] + self._mask_values(expl)
            figs = render(expl, self.view(index, *controls).normalised(expl), only=set(LAZY[section]))
            return [opened] + [v for n in LAZY[section] for v in
                               ((figs[n].image, figs[n].caption) if figs.get(n) else (None, ""))]
        return expand

    def _section_outputs(self, section: str) -> list:
        if section == "mask":
            return [self.mask.image, self.mask.caption]
        return [c for n in LAZY[section] for c in (self.slots[n].image, self.slots[n].caption)]

    # -- event handlers
    def _split(self, rest) -> tuple[tuple, list | None]:
        """Handlers get the view controls, then (from the app) the open sections; None draws everything."""
        n = len(self.controls)
        return tuple(rest[:n]), (rest[n] if len(rest) > n else None)

    def _build(self, media, payload, *rest, progress=gr.Progress()):
        controls, opened = self._split(rest)
        if not payload or not payload.get("tokens"):
            status = (local("Generate something above, then click one of its tokens.") if not payload else
                      say("The model produced no tokens, so there is no attention to explore."))
            return [None, gr.update(choices=[], value=None), gr.update(value=1, maximum=2, interactive=False), "",
                    gr.update(), gr.update(), gr.update(), status, None, ""] + self._figure_values(None)
        # the maps come from the same precision as the answer they explain (the status line says which)
        loaded = registry.CACHE.load(registry.key_of(payload), progress_callback(progress), payload.get("precision"))
        expl = gpu.traced(exploration, loaded, media, payload, self.video)  # on a lent GPU under ZeroGPU
        view = self.view(0, *controls).normalised(expl)
        if expl.is_video:  # start on the frame the first token looks at most
            view.frame = 1 + int(np.argmax(explain.frame_split(expl.steps[0], expl.layout)))
        figs = self._render(expl, view, self._only(opened), progress_callback(progress))
        mask_values = self._mask_values(expl) if opened is None or "mask" in opened else [gr.skip(), gr.skip()]
        layers = [(local("mean of all layers"), "mean")] + \
            [(say("layer {n}", n=i), str(i)) for i in range(1, expl.num_layers + 1)]
        heads = [(local("mean over heads"), "mean"), (local("max over heads"), "max")] + \
                [(say("head {n}", n=i), str(i)) for i in range(1, expl.num_heads + 1)]
        t = len(expl.tokens)
        return [expl, gr.update(choices=expl.chips(), value=0),
                gr.update(value=1, minimum=1, maximum=max(2, t), interactive=t > 1),
                token_summary(expl, view),
                gr.update(choices=layers, value=view.layer), gr.update(choices=heads, value=view.head),
                gr.update(maximum=max(2, expl.layout.num_frames), value=view.frame),
                _status(expl) + _precision_note(loaded.precision), *mask_values] + self._figure_values(figs)

    def _select(self, expl, index, *rest):
        controls, opened = self._split(rest)
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(index, *controls).normalised(expl)
        return [view.token + 1, token_summary(expl, view)] + \
            self._figure_values(self._render(expl, view, self._only(opened)))

    def _scrub(self, expl, step, *rest):
        controls, opened = self._split(rest)
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(int(step or 1) - 1, *controls).normalised(expl)
        return [view.token, token_summary(expl, view)] + \
            self._figure_values(self._render(expl, view, self._only(opened)))

    def _redraw(self, expl, index, *rest):
        controls, opened = self._split(rest)
        if expl is None:
            return self._figure_values(None)
        return self._figure_values(self._render(expl, self.view(index, *controls).normalised(expl),
                                                self._only(opened)))

    def wire(self, media, payload: gr.JSON) -> None:
        """Build the explorer whenever the tab's JSON result changes; then react to clicks and controls."""
        common = dict(concurrency_id=EXPLORE, api_visibility="undocumented")
        k = self.key
        self.faithful.wire(self, media, payload)
        built = payload.change(guard(self._build), [media, payload, *self.controls, self.open],
                               [self.state, self.chips, self.scrubber, self.step_text, self.layer, self.head,
                                self.frame, self.status, self.mask.image, self.mask.caption, *self.figure_outputs],
                               api_name=f"{k}_explore", show_progress="minimal", **common)
        self.patches.wire(built, self.state, self.frame, self.drop_sink, self.cmap)
        self.chips.input(guard(self._select), [self.state, self.chips, *self.controls, self.open],
                         [self.scrubber, self.step_text, *self.figure_outputs], api_name=f"{k}_token",
                         show_progress="hidden", **common)
        self.scrubber.input(guard(self._scrub), [self.state, self.scrubber, *self.controls, self.open],
                            [self.chips, self.step_text, *self.figure_outputs], api_name=f"{k}_step",
                            show_progress="hidden", trigger_mode="always_last", **common)
        for i, control in enumerate(self.controls):  # the map: relevancy's first backward pass can take a moment
            control.input(guard(self._redraw), [self.state, self.chips, *self.controls, self.open],
                          self.figure_outputs, api_name=f"{k}_view_{i}",
                          show_progress="minimal" if control is self.map else "hidden",
                          trigger_mode="always_last", **common)
        for section, acc in self.accordions.items():  # lazy figures: drawn when opened
            acc.expand(guard(self._expand(section)), [self.open, self.state, self.chips, *self.controls],
                       [self.open, *self._section_outputs(section)], api_visibility="private",
                       show_progress="hidden", concurrency_id=EXPLORE)
            acc.collapse(lambda opened, s=section: sorted(set(opened or []) - {s}), [self.open], [self.open],
                         api_visibility="private", show_progress="hidden", queue=False)
        self.mechanism.wire(self)  # issue 23


__all__ = ["Explorer", "exploration", "FIGURES"]
