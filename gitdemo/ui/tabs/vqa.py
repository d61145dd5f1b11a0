"""The Visual QA tab: an image and a question in, the answer streamed, then the attention explorer.

API: `/vqa(image, question, model, decoding, max_new_tokens, num_beams, temperature, top_p, seed, precision, room)`
-> (answer, attention JSON); image and question are required; `room`: a class code to post to (`ui.room_api`).
"""
from __future__ import annotations

import gradio as gr

from ...pipeline.decoding import Decoding
from .. import controls, examples, exploring, registry, room_api, share, tooldoc
from ..explorer import Explorer
from ..i18n import tr


@tooldoc.decoding_args
def vqa(image, question, model=None, decoding="greedy", max_new_tokens=10, num_beams=3, temperature=1.0, top_p=0.9,
        seed=0, precision=None, room="", progress=gr.Progress(track_tqdm=True)):
    """Answer a question about an image (GIT's prompt: [CLS] question, then the answer is generated).
    Yields the answer so far per token; the last update carries the attention data.

    Args:
        image: the picture to ask about (a file path or URL).
        question: the question, in English, e.g. "what color is the circle?".
        model: "embedded" (the offline Shapes model) or a GIT VQA checkpoint, e.g. "microsoft/git-base-vqav2".
        {decoding_args}
        room: a class code to post the result to the class wall (empty: not joined).

    Returns:
        The answer, and a JSON object with each generated token and its attention over the image patches.
    """
    settings = Decoding.from_inputs(decoding, max_new_tokens, num_beams, temperature, top_p, seed)
    images = controls.open_images(image)
    q = controls.clean_question(question, required=True)
    loaded = controls.load_git(model, "vqa", progress, precision)
    updates = controls.stream_generation(loaded, images, q, settings)
    yield from room_api.posting(room, images[0], updates, "vqa")


def example_vqa(image, question, model):
    yield from vqa(image, question, model)


def build() -> share.Target:
    with gr.Tab(tr("Visual QA"), id="vqa"):
        gr.Markdown(tr("Ask a question about a picture. GIT reads the question as the start of the text and simply "
                    "continues it with the answer; the explorer shows where each answer token looked."))
        with gr.Row():
            with gr.Column(scale=1):
                image = controls.image_upload("vqa-image")
                question = gr.Textbox(label=tr("Question"), placeholder="what color is the circle?", max_lines=3,
                                      elem_id="vqa-question")
                model = controls.model_picker("vqa", "vqa-model")
                decoding_ui = controls.decoding_controls("vqa", max_new_tokens=10)
                run = gr.Button(tr("Answer"), variant="primary", elem_id="vqa-run")
                room = room_api.room_input("vqa")
            with gr.Column(scale=1):
                rows = examples.vqa_rows(registry.EMBEDDED, registry.default_model("vqa"))
                text, data = controls.result_column("vqa", "Answer", 1, rows, [image, question, model],
                                                    exploring.keeping_records(example_vqa))
        explorer = Explorer("vqa")
    inputs = [image, question, model, *decoding_ui.inputs, room]
    controls.on_generate(run.click, vqa, inputs, [text, data], api_name="vqa", record=explorer.record)
    controls.on_generate(question.submit, vqa, inputs, [text, data], record=explorer.record)
    explorer.wire(image, data)
    return share.Target("vqa", image, model, decoding_ui.precision, question, explorer)
