"""Gradio pieces every tab shares: the image input, model picker, decoding controls, error handling,
the generation handler, and the attention explorer.

The explorer is built from the JSON a generation returns (its `.change` event), so it works the
same after a fresh generation, a beam search or a cached example; all it keeps is one
`Exploration` per user, in `gr.State`.
"""
from __future__ import annotations

import functools
import inspect
import logging
import os
from dataclasses import dataclass
from typing import Callable

import gradio as gr
import numpy as np

from .. import explain, viz
from ..errors import GitDemoError, InputError
from . import explore, models
from .explore import Decoding, View

log = logging.getLogger("gitdemo.ui")
STATE_TTL_S = int(os.environ.get("GITDEMO_STATE_TTL_S", "3600"))
GENERATE = "generate"  # one concurrency group for every generation, whatever the tab (see models.COMPUTE)
EXPLORE = "explore"


# ----------------------------------------------------------------------------- inputs
class ImageUpload(gr.Image):
    """A `gr.Image` that passes the uploaded file's path on without decoding it.

    gr.Image opens every upload with PIL before the app sees it, so a text file renamed .png
    fails inside Gradio with a generic "Error". Here the app opens it (`processing.open_image`)
    and says what is wrong. The browser side is the ordinary Image component.
    """

    is_template = True  # render with the frontend of the parent class (gr.Image)

    def preprocess(self, payload):
        if payload is not None and getattr(payload, "path", None) and not str(payload.url or "").startswith("data:"):
            return str(payload.path)
        return super().preprocess(payload)


def model_picker(task: str, elem_id: str) -> gr.Dropdown:
    return gr.Dropdown(models.dropdown_choices(task), value=models.default_model(task), label="Model",
                       info="The Shapes model is small, offline and trained on the synthetic scenes; the Microsoft "
                            "checkpoints download on first use.", elem_id=elem_id)


@dataclass
class DecodingControls:
    mode: gr.Radio
    max_new_tokens: gr.Slider
    num_beams: gr.Slider
    temperature: gr.Slider
    top_p: gr.Slider
    seed: gr.Number

    @property
    def inputs(self) -> list:
        return [self.mode, self.max_new_tokens, self.num_beams, self.temperature, self.top_p, self.seed]


def decoding_controls(key: str, max_new_tokens: int | None = None) -> DecodingControls:
    d = Decoding()
    if max_new_tokens is not None:
        d.max_new_tokens = max_new_tokens
    with gr.Accordion("Decoding", open=False):
        mode = gr.Radio(list(explore.DECODING), value=d.mode, label="Decoding",
                        info="greedy: the likeliest token each step (streams); beam: keeps several candidates and "
                             "shows the best at the end; sampling: draws tokens at random (streams).",
                        elem_id=f"{key}-decoding")
        max_new = gr.Slider(1, explore.MAX_NEW_TOKENS, value=d.max_new_tokens, step=1, precision=0,
                            label="Max new tokens")
        beams = gr.Slider(2, 8, value=d.num_beams, step=1, precision=0, label="Beams (beam search)")
        with gr.Row():
            temperature = gr.Slider(0.1, 2.0, value=d.temperature, step=0.05, label="Temperature (sampling)")
            top_p = gr.Slider(0.05, 1.0, value=d.top_p, step=0.05, label="Top-p (sampling)")
        seed = gr.Number(value=d.seed, precision=0, label="Seed (sampling: same seed, same text)")
    return DecodingControls(mode, max_new, beams, temperature, top_p, seed)


# ----------------------------------------------------------------------------- errors
def _as_gr_error(exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, GitDemoError):
        return gr.Error(models.scrub(str(exc)))
    log.exception("unexpected error in the app")
    return gr.Error(f"Something went wrong on the server ({type(exc).__name__}). Try again, or try another input; "
                    f"the app keeps running.")


def guard(fn: Callable) -> Callable:
    """Turn GitDemoError (and anything unexpected) into a gr.Error with a sentence; works for generators."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message, the server lives on
                raise _as_gr_error(exc) from exc
        return gen

    @functools.wraps(fn)
    def plain(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise _as_gr_error(exc) from exc
    return plain


def progress_callback(progress) -> Callable[[float, str], None]:
    def report(fraction: float, message: str) -> None:
        try:
            progress(fraction, desc=message)
        except Exception:  # noqa: BLE001 - progress is a nicety (absent over some API paths)
            pass
    return report


# ----------------------------------------------------------------------------- opening inputs
def open_images(path) -> list:
    from ..processing import open_image

    if path is None or path == "":
        raise InputError("Upload an image first (or click one of the examples).")
    return [open_image(path)]


def open_video(path, num_frames: int):
    from ..video import read_frames

    if path is None or path == "":
        raise InputError("Upload a video first (or click one of the examples).")
    if isinstance(path, dict):  # an old-style {"video": ...} payload
        path = path.get("video") or path.get("path")
    return read_frames(path, num_frames)


def clean_question(question, required: bool) -> str | None:
    q = " ".join(str(question or "").split())
    if not q:
        if required:
            raise InputError("Type a question first (to describe the image instead, use the Caption tab).")
        return None
    return q


def stream_generation(loaded: models.Loaded, images, question, decoding: Decoding, extra: dict | None = None):
    """(text, payload) per update; the payload (API JSON) only with the last one."""
    yield "", None  # clears the previous text and the explorer at once
    with models.COMPUTE:  # released on return, error, or when the user goes away (generator closed)
        for text, payload in explore.generate(loaded.model, loaded.processor, images, question, decoding,
                                              loaded.name):
            if payload is not None and extra:
                payload.update(extra)
            yield text, (payload if payload is not None else gr.skip())


# ----------------------------------------------------------------------------- the explorer
@dataclass
class Slot:
    image: gr.Image
    caption: gr.Markdown


def _slot(label: str, elem_id: str, height: int | None = None) -> Slot:
    image = gr.Image(label=label, show_label=False, type="pil", format="png", interactive=False,
                     buttons=["download", "fullscreen"],
                     elem_id=elem_id, height=height)
    caption = gr.Markdown(elem_id=f"{elem_id}-caption", elem_classes=["figure-caption"])
    return Slot(image, caption)


FIGURES = ("heatmap", "topk", "share", "layers", "heads", "rollout", "frames", "vision")


class Explorer:
    """The attention explorer under each tab: token chips, scrubber, view controls and figures."""

    def __init__(self, key: str, video: bool = False):
        self.key, self.video = key, video
        self.state = gr.State(None, time_to_live=STATE_TTL_S)
        with gr.Group(elem_classes=["explorer"]):
            gr.Markdown("### Attention explorer\nWhere did the model look while it wrote each token? "
                        "Attention shows where information *could* flow, not *why* the model decided.")
            self.status = gr.Markdown("Generate something above, then click one of its tokens.",
                                      elem_id=f"{key}-status")
            self.chips = gr.Radio(choices=[], label="Generated tokens: click one", interactive=True,
                                  elem_id=f"{key}-chips", elem_classes=["token-chips"])
            self.scrubber = gr.Slider(1, 2, value=1, step=1, precision=0, label="Generation scrubber: step",
                                      interactive=False, elem_id=f"{key}-scrubber")
            self.step_text = gr.Markdown(elem_id=f"{key}-step")
            with gr.Row():
                with gr.Column(scale=3):
                    self.slots = {"heatmap": _slot("Attention over the image", f"{key}-heatmap")}
                with gr.Column(scale=2):
                    self.slots["topk"] = _slot("Next-token probabilities", f"{key}-topk")
                    self.slots["share"] = _slot("Image vs text", f"{key}-share")
            with gr.Row():
                self.layer = gr.Dropdown([("mean of all layers", "mean")], value="mean", label="Layer",
                                         elem_id=f"{key}-layer")
                self.head = gr.Dropdown([("mean over heads", "mean"), ("max over heads", "max")], value="mean",
                                        label="Head", elem_id=f"{key}-head")
                self.cmap = gr.Dropdown(list(viz.CMAPS), value="viridis", label="Colour map (colour-blind safe)")
                self.frame = gr.Slider(1, 6, value=1, step=1, precision=0, label="Frame", visible=video,
                                       elem_id=f"{key}-frame")
            with gr.Row():
                self.opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Heatmap opacity")
                self.drop_sink = gr.Checkbox(value=True, label="Leave out the CLS sink (rescale the patches to 100%)")
                self.shared = gr.Checkbox(value=True, label="One colour scale for all small multiples")
            if video:
                with gr.Accordion("Frames: where each frame is looked at", open=True):
                    self.slots["frames"] = _slot("Sampled frames", f"{key}-frames")
            with gr.Accordion("All layers and all heads (small multiples)", open=False):
                self.slots["layers"] = _slot("Layers", f"{key}-layers")
                self.slots["heads"] = _slot("Heads", f"{key}-heads")
            with gr.Accordion("Raw attention beside rollout", open=False):
                self.slots["rollout"] = _slot("Raw vs rollout", f"{key}-rollout")
            with gr.Accordion("The vision encoder's own attention (CLS to patches, per layer)", open=False):
                self.slots["vision"] = _slot("Vision encoder", f"{key}-vision")
            with gr.Accordion("The attention mask the model used for this input", open=False):
                self.mask = _slot("Attention mask", f"{key}-mask")
                self.mask_sentences = gr.Markdown()
        if not video:
            self.slots["frames"] = None

    # -- the view from the controls
    @property
    def controls(self) -> list:
        return [self.layer, self.head, self.drop_sink, self.shared, self.opacity, self.cmap, self.frame]

    @staticmethod
    def view(token, layer, head, drop_sink, shared, opacity, cmap, frame) -> View:
        return View(token=int(token or 0), layer=layer, head=head, drop_sink=bool(drop_sink), shared_scale=bool(shared),
                    opacity=float(opacity if opacity is not None else 0.5), cmap=cmap or "viridis",
                    frame=int(frame or 1))

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
            fig = (figs or {}).get(name)
            out += [fig.image, fig.caption] if fig is not None else [None, ""]
        return out

    # -- event handlers
    def _build(self, media, payload, *controls, progress=gr.Progress()):
        empty = [None, gr.update(choices=[], value=None), gr.update(value=1, maximum=2, interactive=False), "",
                 gr.update(), gr.update(), gr.update()]
        if not payload or not payload.get("tokens"):
            status = ("Generate something above, then click one of its tokens." if not payload else
                      "The model produced no tokens, so there is no attention to explore.")
            return empty + [status, None, ""] + self._figure_values(None)
        loaded = models.CACHE.get(payload.get("model") or models.EMBEDDED, progress_callback(progress))
        if self.video:
            images = open_video(media, loaded.model.config.num_frames).frames
        else:
            images = open_images(media)
        ids = [int(t["id"]) for t in payload["tokens"]]
        expl = explore.build_exploration(loaded.model, loaded.processor, images, payload.get("question"), ids,
                                         loaded.name)
        view = self.view(0, *controls).normalised(expl)
        if expl.is_video:  # start on the frame the first token looks at most
            view.frame = 1 + int(np.argmax(explain.frame_split(expl.steps[0], expl.layout)))
        figs = explore.render(expl, view)
        mask_fig, sentences = explore.mask_figure(expl)
        layers = [("mean of all layers", "mean")] + [(f"layer {i}", str(i)) for i in range(1, expl.num_layers + 1)]
        heads = [("mean over heads", "mean"), ("max over heads", "max")] + \
                [(f"head {i}", str(i)) for i in range(1, expl.num_heads + 1)]
        t = len(expl.tokens)
        status = (f"Exploring **{expl.text}** ({t} tokens, model {models.label(expl.model_name)}). Click a token, "
                  f"or step through the generation with the scrubber.")
        return [expl, gr.update(choices=expl.chips(), value=0),
                gr.update(value=1, minimum=1, maximum=max(2, t), interactive=t > 1),
                explore.token_summary(expl, view),
                gr.update(choices=layers, value=view.layer), gr.update(choices=heads, value=view.head),
                gr.update(maximum=max(2, expl.layout.num_frames), value=view.frame),
                status, mask_fig.image, mask_fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)] + \
            self._figure_values(figs)

    def _select(self, expl, index, *controls):
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(index, *controls).normalised(expl)
        return [view.token + 1, explore.token_summary(expl, view)] + self._figure_values(explore.render(expl, view))

    def _scrub(self, expl, step, *controls):
        if expl is None:
            raise gr.Error("Generate something first: there is nothing to explore yet.")
        view = self.view(int(step or 1) - 1, *controls).normalised(expl)
        return [view.token, explore.token_summary(expl, view)] + self._figure_values(explore.render(expl, view))

    def _redraw(self, expl, index, *controls):
        if expl is None:
            return self._figure_values(None)
        return self._figure_values(explore.render(expl, self.view(index, *controls).normalised(expl)))

    def wire(self, media, payload: gr.JSON) -> None:
        """Build the explorer whenever the tab's JSON result changes; then react to clicks and controls."""
        common = dict(concurrency_id=EXPLORE, api_visibility="undocumented")
        k = self.key
        payload.change(guard(self._build), [media, payload, *self.controls],
                       [self.state, self.chips, self.scrubber, self.step_text, self.layer, self.head, self.frame,
                        self.status, self.mask.image, self.mask.caption, *self.figure_outputs],
                       api_name=f"{k}_explore", show_progress="minimal", **common)
        self.chips.input(guard(self._select), [self.state, self.chips, *self.controls],
                         [self.scrubber, self.step_text, *self.figure_outputs], api_name=f"{k}_token",
                         show_progress="hidden", **common)
        self.scrubber.input(guard(self._scrub), [self.state, self.scrubber, *self.controls],
                            [self.chips, self.step_text, *self.figure_outputs], api_name=f"{k}_step",
                            show_progress="hidden", trigger_mode="always_last", **common)
        for i, control in enumerate(self.controls):
            control.input(guard(self._redraw), [self.state, self.chips, *self.controls], self.figure_outputs,
                          api_name=f"{k}_view_{i}", show_progress="hidden", trigger_mode="always_last", **common)


__all__ = ["ImageUpload", "model_picker", "decoding_controls", "DecodingControls", "guard", "Explorer",
           "open_images", "open_video", "clean_question", "stream_generation", "progress_callback"]
