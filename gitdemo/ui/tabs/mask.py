"""The Attention mask tab: the mask GIT builds for an input, drawn from the model's own mask rule.

Pick a model, an input kind (image or video), type a question and/or the text generated so far:
the tab tokenizes them as the model would and draws the (queries x keys) mask with the image
block and every text token labelled, and one sentence per block read off the mask itself.
"""
from __future__ import annotations

import gradio as gr
import torch

from ... import explain, viz
from ...explain.mask import mask_for
from ...lang import say
from .. import controls, registry
from ..i18n import choices, tr


def mask_view(model=None, kind="image", question="", generated="a red circle", progress=gr.Progress()):
    """Draw the attention mask GIT builds for an input: which positions may look at which.

    Args:
        model: "embedded" or a GIT checkpoint name from the menu.
        kind: "image" or "video" (a video model reads several frames).
        question: an optional question (the prompt tokens).
        generated: the text generated so far (the output tokens).

    Returns:
        The mask as an image, and a caption with one sentence per block of the mask.
    """
    loaded = registry.CACHE.get(model or registry.EMBEDDED, controls.progress_callback(progress), family=registry.GIT)
    tok, cfg = loaded.processor.tokenizer, loaded.model.config
    frames = cfg.num_frames if kind == "video" else 1
    if kind == "video" and frames == 1:
        raise gr.Error(say("{model} reads single images, not videos: pick a video model.",
                           model=registry.label(loaded.name)))
    layout = explain.ImageLayout.for_model(loaded.model, frames)
    q = controls.clean_question(question, required=False)
    prompt = tok.encode_prompt(q) if q else [tok.cls_token_id]
    output = tok.encode(generated, add_special_tokens=False) if generated and generated.strip() else []
    limit = cfg.max_position_embeddings
    if len(prompt) + len(output) > limit:
        raise gr.Error(say("That is {n} text tokens; this model reads at most {limit}.", n=len(prompt) + len(output),
                           limit=limit))
    n, p, t = layout.num_image_tokens, len(prompt), len(output)
    mask = mask_for(n, torch.ones(p + t)).numpy()
    name = "video" if frames > 1 else "image"
    segments = [viz.Segment(name, 0, n), viz.Segment("prompt", n, n + p, [tok.token_text(i) for i in prompt])]
    if t:
        segments.append(viz.Segment("output", n + p, n + p + t, [tok.token_text(i) for i in output]))
    fig, sentences = viz.mask_diagram(mask, segments, title=say("Mask of {name}", name=loaded.name))
    if frames > 1:
        block = say("Image block: {frames} frames x {n} tokens (1 CLS + {rows} x {cols} patches each).",
                    frames=layout.num_frames, n=layout.per_frame, rows=layout.rows, cols=layout.cols)
    else:
        block = say("Image block: {n} tokens (1 CLS + {rows} x {cols} patches).", n=layout.per_frame,
                    rows=layout.rows, cols=layout.cols)
    detail = block + " " + say("Text: {p} prompt token(s) and {t} generated token(s).", p=p, t=t)
    return fig.image, fig.caption + " " + detail + "\n\n" + "\n".join(f"- {s}" for s in sentences)


def alt_text(caption: str):
    """The diagram's text alternative: its caption and one sentence per block (after the API's outputs)."""
    return gr.update(alt_text=" ".join(str(caption or "").replace("**", "").replace("\n- ", " ").split()))


def build() -> None:
    with gr.Tab(tr("Attention mask"), id="mask") as tab:
        gr.Markdown(tr("GIT reads one sequence: the image tokens first, then the text. Its mask says which position "
                       "may look at which: the image block sees itself in both directions, text sees the whole image "
                       "and only the text before it. This diagram is drawn from the very rule the model applies "
                       "(`layers.visibility` on the ranks `cumsum(mask_ar)` that `GitForCausalLM.prefill` builds), "
                       "not from a second implementation; each tab's explorer also shows the mask of its own "
                       "result."))
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Radio(choices(registry.dropdown_choices("mask")), value=registry.EMBEDDED, label=tr("Model"),
                                    elem_id="mask-model")
                kind = gr.Radio(choices([("Image", "image"), ("Video", "video")]), value="image", label=tr("Input"),
                                elem_id="mask-kind")
                question = gr.Textbox(label=tr("Question (optional)"), placeholder="what color is the circle?",
                                      elem_id="mask-question")
                generated = gr.Textbox(label=tr("Text generated so far"), value="a red circle",
                                       elem_id="mask-generated")
                run = gr.Button(tr("Draw the mask"), variant="primary", elem_id="mask-run")
            with gr.Column(scale=2):
                image = gr.Image(label=tr("Attention mask"), show_label=False, type="pil", format="png", interactive=False,
                                 buttons=["download", "fullscreen"], elem_id="mask-image")
                caption = gr.Markdown(elem_id="mask-caption")
    inputs = [model, kind, question, generated]
    run.click(controls.guard(mask_view), inputs, [image, caption], api_name="mask", concurrency_id=controls.EXPLORE)
    caption.change(alt_text, caption, image, api_visibility="private", show_progress="hidden", queue=False)
    tab.select(controls.guard(mask_view), inputs, [image, caption], api_visibility="private",
               concurrency_id=controls.EXPLORE)
    for box in (question, generated):
        box.submit(controls.guard(mask_view), inputs, [image, caption], api_visibility="private",
                   concurrency_id=controls.EXPLORE)
