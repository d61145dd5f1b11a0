"""The Video tab: a clip (and optionally a question) in; the frames the model reads, the text streamed,
and the attention explorer with a strip of per-frame heatmaps.

API: `/video(video, question, model, decoding, max_new_tokens, num_beams, temperature, top_p, seed, precision)` ->
(text, attention JSON); only the video is required (no question: a caption).
"""
from __future__ import annotations

import gradio as gr

from ...errors import InputError
from ...pipeline.decoding import Decoding
from .. import controls, examples, exploring, registry, share, tooldoc
from ..explorer import Explorer
from ..i18n import tr


@tooldoc.decoding_args
def video(video, question="", model=None, decoding="greedy", max_new_tokens=20, num_beams=3, temperature=1.0,
          top_p=0.9, seed=0, precision=None, progress=gr.Progress(track_tqdm=True)):
    """Caption a video, or answer a question about it. The model reads a fixed number of frames spread
    evenly over the clip (6 for the GIT video checkpoints). The last update carries the attention data
    with one rows x cols grid per frame, and which frames were read.

    Args:
        video: the clip (a file path or URL; MP4, WebM, ...).
        question: optional; empty to caption the clip, else a question about it.
        model: "embedded" (the offline Shapes model) or a GIT video checkpoint, e.g. "microsoft/git-base-vatex".
        {decoding_args}

    Returns:
        The caption or answer, and a JSON object with each token's attention per frame and the frames read.
    """
    settings = Decoding.from_inputs(decoding, max_new_tokens, num_beams, temperature, top_p, seed)
    if video is None or video == "":
        raise InputError("Upload a video first (or click one of the examples).")
    q = controls.clean_question(question, required=False)
    loaded = controls.load_git(model, "video", progress, precision)
    frames = controls.open_video(video, loaded.model.config.num_frames)
    info = {"video": {"frame_indices": frames.indices, "fps": frames.fps, "duration": frames.duration,
                      "total_frames": frames.total_frames, "note": frames.note}}
    if frames.note:
        gr.Info(frames.note)
    yield from controls.stream_generation(loaded, frames.frames, q, settings, extra=info)


def example_video(clip, question, model):
    yield from video(clip, question, model)


def build() -> share.Target:
    with gr.Tab(tr("Video"), id="video"):
        gr.Markdown(tr("Upload a short clip. The model reads a few frames spread evenly over it (6 for the GIT video "
                       "models), each as its own block of image tokens with a learned frame embedding, then captions "
                       "it or answers your question."))
        with gr.Row():
            with gr.Column(scale=1):
                clip = gr.Video(label=tr("Video"), sources=["upload", "webcam"], elem_id="video-input", height=300)
                question = gr.Textbox(value="", label=tr("Question (optional: leave empty for a caption)"), max_lines=3,
                                      placeholder="which way is the square moving?", elem_id="video-question")
                model = controls.model_picker("video", "video-model")
                decoding_ui = controls.decoding_controls("video")
                run = gr.Button(tr("Describe the video"), variant="primary", elem_id="video-run")
            with gr.Column(scale=1):
                text, data = controls.result_column("video", "Text", 2, examples.video_rows(registry.EMBEDDED),
                                                    [clip, question, model],
                                                    exploring.keeping_records(example_video, video=True))
        explorer = Explorer("video", video=True)
    controls.on_generate(run.click, video, [clip, question, model, *decoding_ui.inputs], [text, data],
                         api_name="video", record=explorer.record)
    explorer.wire(clip, data)
    return share.Target("video", clip, model, decoding_ui.precision, question, explorer)
