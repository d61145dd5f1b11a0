"""The PaliGemma tab: prompt PaliGemma (caption, describe, answer, detect, segment, OCR), see its answer
streamed, its `<loc>` boxes and `<seg>` masks drawn on the image, each token's attention over SigLIP's
patch grid (the shared attention explorer), and its prefix-LM mask beside GIT's rule.

API: `/paligemma(image, prompt, model, folder, decoding, max_new_tokens, num_beams, temperature, top_p, seed)`
-> (answer, annotated image, box explanation, JSON {text, plain_text, tokens, grid, detections, ...});
only the image and the prompt are required. `folder`, when given, is a local checkpoint folder used
instead of `model` (set GITDEMO_LOCAL_MODELS=0 on a public server to refuse folders).

`build()` renders the tab; when `gitdemo.models.paligemma` is missing it says so instead.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import gradio as gr

API_NAME = "paligemma"  # reserved endpoint name

PALI_MODELS = ["google/paligemma-3b-mix-224", "google/paligemma-3b-mix-448", "google/paligemma2-3b-mix-224"]
EMBEDDED_PALI = "embedded-paligemma"
NOTES = {"google/paligemma-3b-mix-224": "gated, 3B, 224 px, 16 x 16 patches",
         "google/paligemma-3b-mix-448": "gated, 3B, 448 px, 32 x 32 patches, slower",
         "google/paligemma2-3b-mix-224": "gated, PaliGemma 2 (Gemma 2), 224 px"}
HOW_TO_GET_ONE = (
    "To run PaliGemma, either (1) accept Google's licence on huggingface.co for the model (e.g. "
    "google/paligemma-3b-mix-224), create a read token, and start the app with `HF_TOKEN` set to it (on a Space: "
    "a secret named HF_TOKEN), with the Hugging Face Hub reachable; or (2) type the path of a local folder "
    "holding a PaliGemma checkpoint (config.json, *.safetensors, tokenizer.json, preprocessor_config.json) in "
    "'Local model folder'.")


def available() -> bool:
    try:
        return importlib.util.find_spec("gitdemo.models.paligemma") is not None
    except (ImportError, ValueError):
        return False


# ----------------------------------------------------------------------------- models
def embedded_folder() -> Path | None:
    from ..loading import ASSETS

    folder = Path(os.environ.get("GITDEMO_EMBEDDED_PALIGEMMA") or ASSETS / "models" / "paligemma-shapes")
    return folder if (folder / "config.json").is_file() else None


def choices() -> list[tuple[str, str]]:
    out = [("PaliGemma Shapes (embedded, works offline)", EMBEDDED_PALI)] if embedded_folder() else []
    return out + [(f"{m} ({NOTES[m]})", m) for m in PALI_MODELS]


def default_model() -> str:
    """Google's models are gated: they are the default only with the Hub reachable and HF_TOKEN set;
    otherwise the embedded Shapes PaliGemma (when this build has it)."""
    from . import models

    if embedded_folder() is None:
        return PALI_MODELS[0]
    return PALI_MODELS[0] if os.environ.get("HF_TOKEN") and models.hub_online() else EMBEDDED_PALI


def _cached(repo: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo, "config.json"), str)
    except Exception:  # noqa: BLE001 - no cache, no answer
        return False


def offline_note() -> str | None:
    """A sentence when no PaliGemma can run as things stand (no embedded folder, no Hub, nothing cached)."""
    from . import models

    if embedded_folder() or models.hub_online() or any(_cached(m) for m in PALI_MODELS):
        return None
    return "**No PaliGemma model is available here:** the Hub cannot be reached and none is cached. " + HOW_TO_GET_ONE


def local_models_allowed() -> bool:
    return os.environ.get("GITDEMO_LOCAL_MODELS", "1").strip().lower() not in ("0", "false", "no", "off")


def _key(model, folder) -> str:
    """The cache key: a checked local folder (absolute), the embedded model, or a Hub id from the menu."""
    folder = str(folder or "").strip()
    if folder:
        from ..errors import InputError

        if not local_models_allowed():
            raise InputError("This server does not load models from local folders; pick one from the model menu.")
        path = Path(folder).expanduser()
        cfg = path / "config.json"
        try:
            kind = json.loads(cfg.read_text(encoding="utf-8")).get("model_type") if cfg.is_file() else None
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != "paligemma":  # one message whether or not the path exists: the disk is not for probing
            raise InputError(f"'{folder}' is not a PaliGemma checkpoint folder: it needs a config.json with "
                             f"model_type 'paligemma', its *.safetensors weights, tokenizer.json and "
                             f"preprocessor_config.json.")
        return str(path.resolve())
    model = model or default_model()
    if model == EMBEDDED_PALI:
        if embedded_folder() is None:
            from ..errors import CheckpointError

            raise CheckpointError("The embedded PaliGemma Shapes model is not in this build. " + HOW_TO_GET_ONE)
        return EMBEDDED_PALI
    if model not in PALI_MODELS:
        from ..errors import InputError

        raise InputError(f"Unknown PaliGemma model '{model}'. Choose one of: {', '.join(PALI_MODELS)}, or give a "
                         f"local folder.")
    return model


def _load(key: str):
    import gitdemo

    from ..errors import HubError
    from . import models

    path = str(embedded_folder()) if key == EMBEDDED_PALI else key
    try:  # the small embedded model runs in float32 (bfloat16 would cost it accuracy for no gain)
        model = gitdemo.load_model(path, progress=True, device=models.device(),
                                   dtype="float32" if key == EMBEDDED_PALI else None)
        processor = gitdemo.load_processor(path)
    except HubError as exc:
        raise HubError(f"{models.scrub(str(exc))} {HOW_TO_GET_ONE}") from exc
    if getattr(model.config, "model_type", None) != "paligemma":
        from ..errors import CheckpointError

        raise CheckpointError(f"'{key}' is not a PaliGemma checkpoint.")
    return model, processor


def _cache():
    from . import models

    class PaliCache(models.ModelCache):
        """models.ModelCache for PaliGemma keys (Hub ids of PALI_MODELS, the embedded folder, checked folders)."""

        def check_name(self, name):
            return name  # keys come from `_key`, which has already checked Hub ids and folders

    return PaliCache(loader=_load)


CACHE = None


def get_model(model, folder, progress=None):
    global CACHE
    if CACHE is None:
        CACHE = _cache()
    return CACHE.get(_key(model, folder), progress)


# ----------------------------------------------------------------------------- handlers
def build_prompt(task, text, lang):
    """The prompt builder: writes the task's prompt into the prompt box."""
    from .. import paligemma_pipeline as pp

    return pp.build_prompt(task, text or "", lang or "en")


def paligemma(image, prompt, model=None, folder="", decoding="greedy", max_new_tokens=32, num_beams=3,
              temperature=1.0, top_p=0.9, seed=0, progress=gr.Progress()):
    """Run PaliGemma on an image and a prompt. Yields the answer so far after every token; the last update
    adds the annotated image (boxes, masks), a line per box, and the JSON
    {"text", "plain_text", "tokens": [{"text", "id", "attention": rows x cols, "top"}], "grid", "detections": [...]}."""
    from .. import paligemma_pipeline as pp
    from . import models, widgets
    from .explore import Decoding

    settings = Decoding.from_inputs(decoding, max_new_tokens, num_beams, temperature, top_p, seed)
    settings.check()
    prompt = pp.clean_prompt(prompt if prompt is not None else "")
    images = widgets.open_images(image)
    loaded = get_model(model, folder, widgets.progress_callback(progress))
    yield "", None, "", None
    sampling = settings.mode == "sampling"
    result = None
    with models.COMPUTE:
        for result in pp.run_stream(loaded.model, loaded.processor, images[0], prompt,
                                    max_new_tokens=settings.max_new_tokens, do_sample=sampling,
                                    temperature=settings.temperature, top_p=settings.top_p, seed=settings.seed,
                                    num_beams=settings.num_beams if settings.mode == "beam" else 1):
            if not result.done:
                yield result.text, gr.skip(), gr.skip(), gr.skip()
    value, parsed = pp.annotations(images[0], result.text)
    payload = {"model": loaded.name if not str(folder or "").strip() else "local folder",
               "model_key": loaded.name, "settings": settings.__dict__, **result.to_json()}
    yield result.text, value, pp.describe_detections(parsed), payload


def example_mask(model=None, folder="", prompt="detect cat", answer="<loc0100><loc0200><loc0800><loc0900> cat",
                 progress=gr.Progress()):
    """The prefix-LM mask for a prompt and an answer you type, beside GIT's rule (no image needed)."""
    from .. import paligemma_pipeline as pp
    from . import widgets

    loaded = get_model(model, folder, widgets.progress_callback(progress))
    ids = loaded.processor.encode_text(str(answer or "")) if str(answer or "").strip() else []
    views = pp.mask_views(loaded.model, loaded.processor, prompt or "caption en", ids, models_label(loaded.name))
    return views.paligemma.image, _mask_text(views.paligemma, views.paligemma_sentences), views.git.image, \
        _mask_text(views.git, views.git_sentences)


def models_label(key: str) -> str:
    return "local PaliGemma" if os.path.isabs(key) else key


PALI_RULE = ("**PaliGemma (prefix-LM):** the image and the prompt form one prefix block that sees itself in both "
             "directions (token type 0, one rank), so the prompt can shape how the image is read; each answer token "
             "(type 1) sees the whole prefix and the answer up to itself.")
GIT_RULE = ("**GIT:** only the image is a bidirectional block; every text token, prompt (question) included, is "
            "causal and sees the whole image and the text before it; the image never sees the text.")


def _mask_text(fig, sentences) -> str:
    return fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)


# ----------------------------------------------------------------------------- the explorer, for PaliGemma
def _explorer_class():
    from . import widgets

    class PaliExplorer(widgets.Explorer):
        """The shared explorer; its record comes from PaliGemma (SigLIP grid, no CLS token)."""

        def _build(self, media, payload, *controls, progress=gr.Progress()):
            from .. import paligemma_pipeline as pp
            from . import explore

            if not payload or not payload.get("tokens"):
                return super()._build(media, payload, *controls)
            key = payload.get("model_key") or ""
            folder = key if os.path.isabs(key) else ""
            loaded = get_model(None if folder else key, folder, widgets.progress_callback(progress))
            images = widgets.open_images(media)
            ids = [int(t["id"]) for t in payload["tokens"]]
            expl = pp.exploration(loaded.model, loaded.processor, images[0], payload.get("prompt") or "", ids,
                                     models_label(loaded.name))
            view = self.view(0, *controls).normalised(expl)
            figs = explore.render(expl, view)
            mask_fig, sentences = explore.mask_figure(expl)
            layers = [("mean of all layers", "mean")] + [(f"layer {i}", str(i)) for i in range(1, expl.num_layers + 1)]
            heads = [("mean over heads", "mean"), ("max over heads", "max")] + \
                    [(f"head {i}", str(i)) for i in range(1, expl.num_heads + 1)]
            t = len(expl.tokens)
            status = (f"Exploring **{expl.text}** ({t} tokens). SigLIP has no class token: the maps cover its "
                      f"{expl.layout.rows} x {expl.layout.cols} patches. Click a token, or use the scrubber.")
            return [expl, gr.update(choices=expl.chips(), value=0),
                    gr.update(value=1, minimum=1, maximum=max(2, t), interactive=t > 1),
                    explore.token_summary(expl, view),
                    gr.update(choices=layers, value=view.layer), gr.update(choices=heads, value=view.head),
                    gr.update(maximum=2, value=1), status, mask_fig.image,
                    mask_fig.caption + "\n\n" + "\n".join(f"- {s}" for s in sentences)] + self._figure_values(figs)

    return PaliExplorer


# ----------------------------------------------------------------------------- layout
def _build_ready() -> None:
    from .. import paligemma_pipeline as pp
    from . import examples, models, widgets

    note = offline_note()
    gr.Markdown("PaliGemma (Google: a SigLIP vision encoder + the Gemma language model) answers *prompts*: "
                "`caption en`, `answer en what is this?`, `detect cat ; dog` (boxes), `segment cat` (masks), `ocr`. "
                "Build a prompt with the task menu or type your own, then click any token of the answer to see where "
                "it looked.")
    if note:
        gr.Markdown(note, elem_id="paligemma-offline")
    with gr.Row():
        with gr.Column(scale=1):
            image = widgets.ImageUpload(label="Image", type="filepath", sources=["upload", "clipboard"],
                                        elem_id="paligemma-image", height=320)
            with gr.Group():
                with gr.Row():
                    task = gr.Dropdown(pp.TASK_CHOICES, value="caption", label="Task", elem_id="paligemma-task")
                    lang = gr.Textbox(value="en", label="Language", max_lines=1, elem_id="paligemma-lang",
                                      info="caption / describe / answer: en, fr, de, es, …")
                text = gr.Textbox(label="Question or objects", placeholder="what is on the table?   or   cat ; dog",
                                  max_lines=1, elem_id="paligemma-text")
            prompt = gr.Textbox(value="caption en", label="Prompt (built from the task, or type your own)",
                                max_lines=2, elem_id="paligemma-prompt",
                                info="Typed control tokens such as <image> are read as plain text.")
            model = gr.Dropdown(choices(), value=default_model(), label="Model", elem_id="paligemma-model",
                                info="Google's PaliGemma models are gated: they need HF_TOKEN and an accepted licence.")
            folder = gr.Textbox("", label="Local model folder (optional, used instead of the menu)", max_lines=1,
                                placeholder="/path/to/paligemma-checkpoint", elem_id="paligemma-folder",
                                visible=local_models_allowed())
            controls = widgets.decoding_controls("paligemma", max_new_tokens=32)
            run = gr.Button("Run PaliGemma", variant="primary", elem_id="paligemma-run")
        with gr.Column(scale=1):
            answer = gr.Textbox(label="Answer (with <loc>/<seg> tokens as generated)", lines=3, interactive=False,
                                buttons=["copy"], elem_id="paligemma-answer")
            boxes = gr.AnnotatedImage(label="Boxes and masks", elem_id="paligemma-boxes")
            loc_note = gr.Markdown(pp.LOC_EXPLANATION, elem_id="paligemma-loc")
            with gr.Accordion("Result data, as the API returns it (JSON)", open=False):
                data = gr.JSON(label="Result", elem_id="paligemma-json")
    rows = examples.paligemma_rows(EMBEDDED_PALI) if embedded_folder() else []
    if rows:
        gr.Examples(rows, [image, prompt, model], label="Shapes examples (embedded PaliGemma)",
                    elem_id="paligemma-examples")
    explorer = _explorer_class()("paligemma")
    with gr.Accordion("Prefix-LM mask: PaliGemma beside GIT", open=False):
        gr.Markdown(PALI_RULE + "\n\n" + GIT_RULE + "\n\nBoth diagrams are drawn for the same prompt and answer: "
                    "PaliGemma's from `model.mask_for` (the mask it really uses), GIT's from its own rule.")
        with gr.Row():
            mask_answer = gr.Textbox(label="Answer tokens to draw (as text)", value="a red circle", max_lines=1,
                                     elem_id="paligemma-mask-answer")
            draw = gr.Button("Draw both masks", elem_id="paligemma-mask-run")
        with gr.Row():
            with gr.Column():
                pali_mask = gr.Image(label="PaliGemma", type="pil", format="png", interactive=False,
                                     buttons=["download", "fullscreen"], elem_id="paligemma-mask")
                pali_text = gr.Markdown()
            with gr.Column():
                git_mask = gr.Image(label="GIT", type="pil", format="png", interactive=False,
                                    buttons=["download", "fullscreen"], elem_id="paligemma-git-mask")
                git_text = gr.Markdown()

    builder = widgets.guard(build_prompt)
    for c in (task, text, lang):
        c.input(builder, [task, text, lang], prompt, api_visibility="private", show_progress="hidden")
    run.click(widgets.guard(paligemma), [image, prompt, model, folder, *controls.inputs], [answer, boxes, loc_note, data],
              api_name=API_NAME, concurrency_id=widgets.GENERATE, concurrency_limit=models.QUEUE_WORKERS,
              show_progress="minimal")
    explorer.wire(image, data)
    draw.click(widgets.guard(example_mask), [model, folder, prompt, mask_answer], [pali_mask, pali_text, git_mask,
                                                                                  git_text],
               api_visibility="private", concurrency_id=widgets.EXPLORE)


def build() -> None:
    with gr.Tab("PaliGemma", id="paligemma"):
        if available():
            _build_ready()
        else:
            gr.Markdown("### PaliGemma: coming soon\nThis tab will run PaliGemma (SigLIP + Gemma) with our own code: "
                        "`caption en`, `answer en …` and `detect …` prompts, `<loc>` boxes drawn on the image, and "
                        "its prefix-LM attention mask beside GIT's. It is not in this build yet: nothing here runs.",
                        elem_id="paligemma-coming")
