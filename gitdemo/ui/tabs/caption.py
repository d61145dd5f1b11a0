"""The Caption tab: an image in, a caption streamed token by token, then the attention explorer.

API: `/caption(image, model, decoding, max_new_tokens, num_beams, temperature, top_p, seed, precision, room)` ->
(caption, attention JSON); only the image is required. With a class code as `room`, the result is posted to that
class's wall and the JSON carries `room_post: {"id", "key"}` (`ui.room_api`).
"""
from __future__ import annotations

import gradio as gr

from ...pipeline.decoding import Decoding
from .. import controls, examples, exploring, registry, room_api, share, tooldoc
from ..explorer import Explorer
from ..i18n import tr


@tooldoc.decoding_args
def caption(image, model=None, decoding="greedy", max_new_tokens=20, num_beams=3, temperature=1.0, top_p=0.9, seed=0,
            precision=None, room="", progress=gr.Progress(track_tqdm=True)):
    """Describe an image. Yields the caption so far after every token; the last update also carries the
    attention data: {"text", "tokens": [{"text", "id", "attention": rows x cols}], "grid", "frames", ...}.

    Args:
        image: the picture to describe (a file path or URL; PNG, JPEG, WebP, GIF...).
        model: "embedded" (the offline Shapes model: coloured shapes only) or a GIT checkpoint from the menu,
            e.g. "microsoft/git-base-coco" for photos; empty for the tab's default.
        {decoding_args}
        room: a class code to post the result to the class wall (empty: not joined).

    Returns:
        The caption, and a JSON object with each generated token and its attention over the image patches.
    """
    settings = Decoding.from_inputs(decoding, max_new_tokens, num_beams, temperature, top_p, seed)
    images = controls.open_images(image)
    loaded = controls.load_git(model, "caption", progress, precision)
    updates = controls.stream_generation(loaded, images, None, settings)
    yield from room_api.posting(room, images[0], updates, "caption")


def example_caption(image, model):
    """What a cached example shows: greedy decoding with the default settings."""
    yield from caption(image, model)


def build() -> share.Target:
    with gr.Tab(tr("Caption"), id="caption"):
        gr.Markdown(tr("Upload a picture (or click an example) and the model describes it, one token at a time. "
                    "Then click any word of the caption to see where the model looked when it wrote it."))
        with gr.Row():
            with gr.Column(scale=1):
                image = controls.image_upload("caption-image")
                model = controls.model_picker("caption", "caption-model")
                decoding_ui = controls.decoding_controls("caption")
                run = gr.Button(tr("Caption"), variant="primary", elem_id="caption-run")
                room = room_api.room_input("caption")
            with gr.Column(scale=1):
                rows = examples.caption_rows(registry.EMBEDDED, registry.default_model("caption"))
                text, data = controls.result_column("caption", "Caption", 2, rows, [image, model],
                                                    exploring.keeping_records(example_caption))
        explorer = Explorer("caption")
    controls.on_generate(run.click, caption, [image, model, *decoding_ui.inputs, room], [text, data], api_name="caption",
                         record=explorer.record)
    explorer.wire(image, data)
    return share.Target("caption", image, model, decoding_ui.precision, None, explorer)
