"""Gradio pieces every tab shares: the image input, model picker, decoding controls, error handling,
progress, opening inputs, and the streaming generation handler (the explorer is in `explorer`)."""
from __future__ import annotations

import functools
import inspect
import logging
import os
import traceback
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from .. import serving
from ..errors import GitDemoError, InputError
from ..lang import say
from ..pipeline.decoding import DECODING, MAX_NEW_TOKENS, Decoding, Payload, generate
from . import gpu, registry
from .i18n import choices, tr

log = logging.getLogger("gitdemo.ui")
GENERATE = "generate"  # one concurrency group for every generation, whatever the tab (see registry.COMPUTE)
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


def image_upload(elem_id: str) -> ImageUpload:
    """The image input of every tab: upload, the camera (in a secure context: https or localhost) or paste;
    the app opens the file itself."""
    return ImageUpload(label=tr("Image"), type="filepath", sources=["upload", "webcam", "clipboard"], elem_id=elem_id,
                       height=320)


def model_picker(task: str, elem_id: str) -> gr.Radio:
    """The tab's models as radio buttons: native inputs a screen reader and a keyboard operate (Gradio's
    dropdowns are not, gradio issues 10532 and 12855)."""
    return gr.Radio(choices(registry.dropdown_choices(task)), value=registry.default_model(task), label=tr("Model"),
                       info=tr("The Shapes model is small, offline and trained on the synthetic scenes; the Microsoft "
                            "checkpoints download on first use."), elem_id=elem_id)


@dataclass
class DecodingControls:
    mode: gr.Radio
    max_new_tokens: gr.Slider
    num_beams: gr.Slider
    temperature: gr.Slider
    top_p: gr.Slider
    seed: gr.Number
    precision: gr.Radio | None = None  # last, so the API's earlier inputs keep their places

    @property
    def inputs(self) -> list:
        return [self.mode, self.max_new_tokens, self.num_beams, self.temperature, self.top_p, self.seed,
                *([self.precision] if self.precision is not None else [])]


def precision_picker(key: str) -> gr.Radio:
    """How the model computes: the machine's fast default, with exact fp32 one click away."""
    return gr.Radio(choices(registry.precision_choices()), value=registry.AUTO, label=tr("Precision"),
                    info=tr("int8 is about 2x faster on a CPU and almost always writes the same words; "
                            "exact (fp32) is the model as trained (each is loaded once, then kept)."),
                    elem_id=f"{key}-precision")


def decoding_controls(key: str, max_new_tokens: int | None = None) -> DecodingControls:
    d = Decoding()
    if max_new_tokens is not None:
        d.max_new_tokens = max_new_tokens
    precision = precision_picker(key)  # under the model picker, outside the folded decoding settings
    with gr.Accordion(tr("Decoding"), open=False, elem_classes=["presenter-hide"]):
        mode = gr.Radio(choices((m, m) for m in DECODING), value=d.mode, label=tr("Decoding"),
                        info=tr("greedy: the likeliest token each step (streams); beam: keeps several candidates and "
                             "shows the best at the end; sampling: draws tokens at random (streams)."),
                        elem_id=f"{key}-decoding")
        max_new = gr.Slider(1, MAX_NEW_TOKENS, value=d.max_new_tokens, step=1, precision=0,
                            label=tr("Max new tokens"))
        beams = gr.Slider(2, 8, value=d.num_beams, step=1, precision=0, label=tr("Beams (beam search)"))
        with gr.Row():
            temperature = gr.Slider(0.1, 2.0, value=d.temperature, step=0.05, label=tr("Temperature (sampling)"))
            top_p = gr.Slider(0.05, 1.0, value=d.top_p, step=0.05, label=tr("Top-p (sampling)"))
        seed = gr.Number(value=d.seed, precision=0, label=tr("Seed (sampling: same seed, same text)"))
    return DecodingControls(mode, max_new, beams, temperature, top_p, seed, precision)


# ----------------------------------------------------------------------------- errors
def _as_gr_error(exc: Exception) -> gr.Error:
    """The sentence for the visitor. Gradio would print each gr.Error's traceback (its message names the file,
    the question) to the server's log: `print_exception=False`; the unexpected ones are logged here instead."""
    if isinstance(exc, gr.Error):
        exc.message = say(exc.message) if isinstance(exc.message, str) else exc.message
        exc.print_exception = False
        return exc
    if isinstance(exc, GitDemoError):  # the sentences without names or numbers are translated
        return gr.Error(say(registry.scrub(str(exc))), print_exception=False)
    log_unexpected(exc)
    return gr.Error(say("Something went wrong on the server ({kind}). Try again, or try another input; the app keeps "
                        "running.", kind=type(exc).__name__), print_exception=False)


def log_unexpected(exc: Exception) -> None:
    """Where it failed (type, files and lines), not what it said: an exception's message can quote a visitor's
    file name or question. The whole traceback, message included, only at debug level."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("unexpected error in the app: %s at %s", type(exc).__name__, where)
    log.debug("unexpected error in the app", exc_info=exc)


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
    from ..io.video import read_frames

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


def load_git(model: str | None, task: str, progress, precision: str | None = None) -> registry.Loaded:
    """The GIT model a generation tab asked for (the tab's default when none), from the one cache."""
    return registry.CACHE.get(model or registry.default_model(task), progress_callback(progress), family=registry.GIT,
                              precision=precision)


def stream_generation(loaded: registry.Loaded, images, question, decoding: Decoding, extra: dict | None = None):
    """(text, payload) per update; the payload (API JSON) only with the last one."""
    from .notices import world_notice

    task = "video" if extra and "video" in extra else "vqa" if question else "caption"
    notice = world_notice(loaded.name, images, task)
    yield "", None  # clears the previous text and the explorer at once
    extra = {"precision": loaded.precision, **(extra or {})}
    if decoding.mode != "beam" and serving.enabled() and not gpu.enabled():
        # greedy / sampling: the model's batching engine serves everyone together (not under ZeroGPU, where a
        # GPU is lent only inside the decorated call, never to the engine's own thread)
        updates = generate(loaded.model, loaded.processor, images, question, decoding, loaded.name, serving.stream)
        yield from _updates(updates, extra, loaded.name, notice)
        return
    with registry.COMPUTE:  # beams run alone; released on return, error, or when the user goes away
        yield from _updates(gpu.stream(generate, loaded, images, question, decoding), extra, loaded.name, notice)


def _updates(updates, extra: dict, name: str, notice):
    from .notices import finish

    for text, payload in updates:
        if payload is not None:  # the last update: a sentence for an empty answer, the notice in the JSON
            payload.update(extra)
            record = getattr(payload, "record", None)
            text, payload = finish(text, payload, name, notice)
            payload = Payload(payload, record)
        yield text, (payload if payload is not None else gr.skip())



# ----------------------------------------------------------------------------- the GIT tabs' shared pieces
def result_column(key: str, label: str, lines: int, rows: list, inputs: list, example_fn: Callable):
    """The text box, the JSON the API returns, and the cached examples (greedy) of a generation tab."""
    text = gr.Textbox(label=tr(label), lines=lines, interactive=False, buttons=["copy"], elem_id=f"{key}-text")
    with gr.Accordion(tr("Attention data, as the API returns it (JSON)"), open=False, elem_classes=["presenter-hide"]):
        data = gr.JSON(label=tr("Attention data"), elem_id=f"{key}-json")
    gr.Examples(rows, inputs, [text, data], fn=guard(example_fn), cache_examples=True, cache_mode="lazy",
                label=tr("Examples (results cached after first use; greedy decoding)"), api_visibility="private",
                elem_id=f"{key}-examples")
    return text, data


def with_record(fn: Callable) -> Callable:
    """`fn`'s updates, each followed by the record its final `Payload` carries (for the explorer's `gr.State`;
    a State output is not part of the API, so the endpoint's outputs stay the same)."""
    @functools.wraps(fn)
    def gen(*args, **kwargs):
        for values in fn(*args, **kwargs):
            payload = next((v for v in values if isinstance(v, Payload)), None)
            yield (*values, payload.record if payload is not None else gr.skip())
    return gen


def on_generate(event, fn: Callable, inputs: list, outputs: list, api_name: str | None = None,
                record: gr.State | None = None) -> None:
    """Wire a generation to `event` (e.g. `button.click`): the API name when public, one shared concurrency
    group (compute slots are taken inside, by `registry.COMPUTE`). `record`: the explorer's State that receives
    the finished result's attention record."""
    visibility = dict(api_name=api_name) if api_name else dict(api_visibility="private")
    if record is not None:
        fn, outputs = with_record(fn), [*outputs, record]
    event(guard(fn), inputs, outputs, concurrency_id=GENERATE, concurrency_limit=registry.QUEUE_WORKERS,
          show_progress="minimal", **visibility)

__all__ = ["ImageUpload", "image_upload", "model_picker", "decoding_controls", "DecodingControls", "guard",
           "open_images", "open_video", "clean_question", "stream_generation", "progress_callback", "GENERATE",
           "EXPLORE", "result_column", "on_generate", "load_git", "precision_picker"]
