"""The PaliGemma tab: prompt PaliGemma (caption, describe, answer, detect, segment, OCR), see its answer
streamed, its `<loc>` boxes and `<seg>` masks drawn on the image, each token's attention over SigLIP's
patch grid (the shared attention explorer), and its prefix-LM mask beside GIT's rule.

API: `/paligemma(image, prompt, model, folder, decoding, max_new_tokens, num_beams, temperature, top_p, seed,
precision, room)` (`room`: a class code to post the result to, `ui.room_api`)
-> (answer, annotated image, box explanation, JSON {text, plain_text, tokens, grid, detections, ...});
only the image and the prompt are required. `folder`, when given, is a local checkpoint folder used
instead of `model`, only when the app was started with GITDEMO_LOCAL_MODELS=1 or `--local-models`
(off by default: the box is hidden and a folder is refused).

`build()` renders the tab; when `gitdemo.models.paligemma` is missing it says so instead.
"""
from __future__ import annotations

import contextlib
import importlib.util

import gradio as gr

from ... import lang as server_lang
from ... import serving
from ...explain.mask import mask_views
from ...lang import use
from ...pipeline import prompts
from ...pipeline.answers import LOC_EXPLANATION, annotations, describe_detections
from ...pipeline.decoding import Decoding, Payload
from ...pipeline.prompts import TASK_CHOICES, clean_prompt
from ...pipeline.run import run_stream
from .. import controls, examples, exploring, gpu, notices, registry, room_api, share, tooldoc
from ..explorer import Explorer
from ..i18n import choices, on_language, tr

API_NAME = "paligemma"  # reserved endpoint name


def available() -> bool:
    try:
        return importlib.util.find_spec("gitdemo.models.paligemma") is not None
    except (ImportError, ValueError):
        return False


# ----------------------------------------------------------------------------- handlers
def get_model(model, folder, progress=None, precision=None) -> registry.Loaded:
    """The PaliGemma a request names: `folder` (a checked local checkpoint) wins over `model` (a menu name)."""
    return registry.CACHE.get(model, progress, family=registry.PALIGEMMA, folder=folder, precision=precision)


def build_prompt(task, text, lang):
    """The prompt builder: writes the task's prompt into the prompt box."""
    return prompts.build_prompt(task, text or "", lang or "en")


# ----------------------------------------------------------------------------- the prompt's language
AUTO_LANGS = ("", "en", "ar", "zh")  # what the Language box holds until the user types another code
ENGLISH_ONLY = {registry.EMBEDDED_PALI}  # trained on English prompts only


def prompt_language(ui_lang, model) -> str:
    """The prompt language for the page's language: 'ar' / 'zh' / 'en' where the model reads it (Google's mix
    models were trained with prompts in many languages; the embedded Shapes PaliGemma only with English)."""
    code = server_lang.normalise(ui_lang)
    return "en" if model in ENGLISH_ONLY else code


def _auto_built(task, text, lang, prompt) -> bool:
    """Whether the prompt box still holds what the task menu built (so a new language may rewrite it)."""
    if str(lang or "").strip() not in AUTO_LANGS:
        return False
    try:
        return " ".join(str(prompt or "").split()) == build_prompt(task, text, lang)
    except Exception:  # noqa: BLE001 - an incomplete task (no question yet): the prompt is the user's
        return not str(prompt or "").strip()


def follow_language(ui_lang, model, task, text, lang, prompt):
    """(Language box, prompt) for the page's language or a new model; left alone once the user changed them."""
    if not _auto_built(task, text, lang, prompt):
        return gr.skip(), gr.skip()
    code = prompt_language(ui_lang, model)
    try:
        return code, build_prompt(task, text, code)
    except Exception:  # noqa: BLE001
        return code, gr.skip()


def on_page_language(ui_lang, model, task, text, lang, prompt):
    """The language listener: remember the page's language (for model changes), then follow it."""
    return (server_lang.normalise(ui_lang), *follow_language(ui_lang, model, task, text, lang, prompt))


@tooldoc.decoding_args
def paligemma(image, prompt, model=None, folder="", decoding="greedy", max_new_tokens=32, num_beams=3,
              temperature=1.0, top_p=0.9, seed=0, precision=None, room="", progress=gr.Progress()):
    """Run PaliGemma on an image and a prompt. Yields the answer so far after every token; the last update
    adds the annotated image (boxes, masks), a line per box, and the JSON
    {"text", "plain_text", "tokens": [{"text", "id", "attention": rows x cols, "top"}], "grid", "detections": [...]}.

    Args:
        image: the picture (a file path or URL).
        prompt: a PaliGemma prompt: "caption en", "answer en what is this?", "detect cat ; dog", "segment cat", "ocr".
        model: "embedded-paligemma" (offline, Shapes only) or a Google checkpoint such as
            "google/paligemma-3b-mix-224" (gated: the server needs HF_TOKEN).
        folder: a local checkpoint folder; refused unless the server was started with --local-models.
        {decoding_args}
        room: a class code to post the result to the class wall (empty: not joined).

    Returns:
        The answer (with <loc>/<seg> tokens), the image with boxes and masks, one line per box, and the JSON.
    """

    settings = Decoding.from_inputs(decoding, max_new_tokens, num_beams, temperature, top_p, seed)
    settings.check()
    prompt = clean_prompt(prompt if prompt is not None else "")
    images = controls.open_images(image)
    room_api.check(room)  # a class code that is not open stops here, before the model runs
    loaded = get_model(model, folder, controls.progress_callback(progress), precision)
    notice = notices.world_notice(loaded.name, images, "paligemma")
    yield "", None, "", None
    sampling = settings.mode == "sampling"
    result = None
    beam = settings.mode == "beam"  # beams run alone in a compute slot; the rest join the batching engine
    alone = beam or not serving.enabled() or gpu.enabled()
    with registry.COMPUTE if alone else contextlib.nullcontext():
        for result in gpu.stream_pali(run_stream, loaded, images[0], prompt,
                                      max_new_tokens=settings.max_new_tokens, do_sample=sampling,
                                      temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed,
                                      num_beams=settings.num_beams if beam else 1,
                                      streamer=None if alone else serving.stream):
            if not result.done:
                yield result.text, gr.skip(), gr.skip(), gr.skip()
    value, parsed = annotations(images[0], result.text)
    payload = {"model": loaded.name if not str(folder or "").strip() else "local folder",
               "model_key": loaded.name, "precision": loaded.precision, "settings": settings.__dict__,
               **result.to_json()}
    shown, payload = notices.finish(result.text, payload, loaded.name, notice)
    payload = room_api.post(room, images[0], Payload(payload, result), crop=False, task="paligemma")
    yield shown, value, describe_detections(parsed), payload


def example_paligemma(image, prompt, model):
    """What a cached example shows: greedy decoding with the default settings (cached once for everyone, so in
    English whatever the page's language)."""
    with use("en"):
        yield from paligemma(image, prompt, model)


def example_mask(model=None, folder="", prompt="detect cat", answer="<loc0100><loc0200><loc0800><loc0900> cat",
                 progress=gr.Progress()):
    """The prefix-LM mask for a prompt and an answer you type, beside GIT's rule (no image needed)."""

    loaded = get_model(model, folder, controls.progress_callback(progress))
    ids = loaded.processor.encode_text(str(answer or "")) if str(answer or "").strip() else []
    views = mask_views(loaded.model, loaded.processor, prompt or "caption en", ids, registry.short_name(loaded.name))
    return views.paligemma.image, _mask_text(views.paligemma, views.paligemma_sentences), views.git.image, \
        _mask_text(views.git, views.git_sentences)


PALI_RULE = ("**PaliGemma (prefix-LM):** the image and the prompt form one prefix block that sees itself in both "
             "directions (token type 0, one rank), so the prompt can shape how the image is read; each answer token "
             "(type 1) sees the whole prefix and the answer up to itself.")
GIT_RULE = ("**GIT:** only the image is a bidirectional block; every text token, prompt (question) included, is "
            "causal and sees the whole image and the text before it; the image never sees the text.")
MASK_LESSON = (PALI_RULE + "\n\n" + GIT_RULE + "\n\nBoth diagrams are drawn for the same prompt and answer: "
               "PaliGemma's from `model.mask_for` (the mask it really uses), GIT's from its own rule.")
INTRO = ("PaliGemma (Google: a SigLIP vision encoder + the Gemma language model) answers *prompts*: `caption en`, "
         "`answer en what is this?`, `detect cat ; dog` (boxes), `segment cat` (masks), `ocr`. Build a prompt with the "
         "task menu or type your own, then click any token of the answer to see where it looked.")
COMING = ("### PaliGemma: coming soon\nThis tab will run PaliGemma (SigLIP + Gemma) with our own code: `caption en`, "
          "`answer en …` and `detect …` prompts, `<loc>` boxes drawn on the image, and its prefix-LM attention mask "
          "beside GIT's. It is not in this build yet: nothing here runs.")


def _mask_text(fig, sentences) -> str:
    return fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)


# ----------------------------------------------------------------------------- layout
def _build_ready() -> share.Target:

    note = registry.offline_note()
    gr.Markdown(tr(INTRO))
    if note:
        gr.Markdown(tr(note), elem_id="paligemma-offline")
    with gr.Row():
        with gr.Column(scale=1):
            image = controls.image_upload("paligemma-image")
            with gr.Group():
                with gr.Row():
                    task = gr.Radio(choices(TASK_CHOICES), value="caption", label=tr("Task"),
                                       elem_id="paligemma-task")
                    lang = gr.Textbox(value="en", label=tr("Language"), max_lines=1, elem_id="paligemma-lang",
                                      info=tr("caption / describe / answer: en, ar, zh, fr, de, es, … (follows the "
                                              "page's language where the model reads it; the embedded Shapes "
                                              "PaliGemma reads English only)"))
                text = gr.Textbox(label=tr("Question or objects"), placeholder="what is on the table?   or   cat ; dog",
                                  max_lines=1, elem_id="paligemma-text")
            prompt = gr.Textbox(value="caption en", label=tr("Prompt (built from the task, or type your own)"),
                                max_lines=2, elem_id="paligemma-prompt",
                                info=tr("Typed control tokens such as <image> are read as plain text."))
            model = gr.Radio(choices(registry.dropdown_choices("paligemma")), value=registry.default_model("paligemma"),
                                label=tr("Model"), elem_id="paligemma-model",
                                info=tr("Google's PaliGemma models are gated: they need HF_TOKEN and an accepted "
                                        "licence."))
            ui_lang = gr.State("en")  # the page's language, for a model change
            folder = gr.Textbox("", label=tr("Local model folder (optional, used instead of the menu)"), max_lines=1,
                                placeholder="/path/to/paligemma-checkpoint", elem_id="paligemma-folder",
                                visible=registry.local_models_allowed())
            decoding_ui = controls.decoding_controls("paligemma", max_new_tokens=32)
            run = gr.Button(tr("Run PaliGemma"), variant="primary", elem_id="paligemma-run")
            room = room_api.room_input("paligemma")
        with gr.Column(scale=1):
            answer = gr.Textbox(label=tr("Answer (with <loc>/<seg> tokens as generated)"), lines=3, interactive=False,
                                buttons=["copy"], elem_id="paligemma-answer")
            boxes = gr.AnnotatedImage(label=tr("Boxes and masks"), elem_id="paligemma-boxes")
            loc_note = gr.Markdown(tr(LOC_EXPLANATION), elem_id="paligemma-loc")
            with gr.Accordion(tr("Result data, as the API returns it (JSON)"), open=False,
                              elem_classes=["presenter-hide"]):
                data = gr.JSON(label=tr("Result"), elem_id="paligemma-json")
    rows = examples.paligemma_rows(registry.EMBEDDED_PALI) if registry.embedded_folder() else []
    if rows:  # cached like the other tabs: run once on first click, then served from the cache
        gr.Examples(rows, [image, prompt, model], [answer, boxes, loc_note, data],
                    fn=controls.guard(exploring.keeping_records(example_paligemma)),
                    cache_examples=True, cache_mode="lazy", api_visibility="private",
                    label=tr("Shapes examples (embedded PaliGemma; results cached after first use, greedy decoding)"),
                    elem_id="paligemma-examples")
    explorer = Explorer("paligemma")
    with gr.Accordion(tr("Prefix-LM mask: PaliGemma beside GIT"), open=False):
        gr.Markdown(tr(MASK_LESSON))
        with gr.Row():
            mask_answer = gr.Textbox(label=tr("Answer tokens to draw (as text)"), value="a red circle", max_lines=1,
                                     elem_id="paligemma-mask-answer")
            draw = gr.Button(tr("Draw both masks"), elem_id="paligemma-mask-run")
        with gr.Row():
            with gr.Column():
                pali_mask = gr.Image(label=tr("PaliGemma"), type="pil", format="png", interactive=False,
                                     buttons=["download", "fullscreen"], elem_id="paligemma-mask")
                pali_text = gr.Markdown()
            with gr.Column():
                git_mask = gr.Image(label="GIT", type="pil", format="png", interactive=False,
                                    buttons=["download", "fullscreen"], elem_id="paligemma-git-mask")
                git_text = gr.Markdown()

    builder = controls.guard(build_prompt)
    for c in (task, text, lang):
        c.input(builder, [task, text, lang], prompt, api_visibility="private", show_progress="hidden")
    # the prompt's language follows the page's (and the model: the embedded one reads English only)
    on_language(on_page_language, [model, task, text, lang, prompt], [ui_lang, lang, prompt])
    model.input(follow_language, [ui_lang, model, task, text, lang, prompt], [lang, prompt], api_visibility="private",
                show_progress="hidden", queue=False)
    controls.on_generate(run.click, paligemma, [image, prompt, model, folder, *decoding_ui.inputs, room],
                         [answer, boxes, loc_note, data], api_name=API_NAME, record=explorer.record)
    explorer.wire(image, data)
    draw.click(controls.guard(example_mask), [model, folder, prompt, mask_answer], [pali_mask, pali_text, git_mask,
                                                                                  git_text],
               api_visibility="private", concurrency_id=controls.EXPLORE)
    return share.Target("paligemma", image, model, decoding_ui.precision, prompt, explorer)


def build() -> share.Target | None:
    with gr.Tab(tr("PaliGemma"), id="paligemma"):
        if available():
            return _build_ready()
        gr.Markdown(tr(COMING), elem_id="paligemma-coming")
        return None
