"""The explorer's first view from the generation's own record equals the teacher-forced trace (issue 20).

For GIT (image and video) and PaliGemma, greedy, sampling and beam search, in the plain path and through the
batching engine with two students at once: every per-token record (layers x heads x keys), the top candidates,
the vision tower's CLS rows, the mask and the pictures agree with one teacher-forced pass to 1e-5, and the
record-based view makes no model call. Rollout is the one view the record cannot give: it stays empty until asked.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from gitdemo import explain, pipeline, shapes
from gitdemo.serving import engine as E
from test_paligemma_app import loaded, picture, tiny  # noqa: F401 - PaliGemma fixtures (a reference-written tiny)
from test_viz import build_tiny_git

MODES = {"greedy": {}, "sampling": dict(do_sample=True, temperature=1.3, top_p=0.95, seed=5),
         "beam": dict(num_beams=3)}


@pytest.fixture(scope="module")
def git_tiny(tmp_path_factory):
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git-record"))


@pytest.fixture(scope="module")
def clip():
    return shapes.draw_video(np.random.default_rng(3), frame_indices=[2, 6, 10, 14, 18, 22])


def _no_model_calls(*_):
    """A stand-in for the model's passes that fails, to prove a view was built without one."""
    def refuse(*a, **k):
        raise AssertionError("the record-based view called the model")
    return refuse


def assert_same(recorded: explain.Exploration, traced: explain.Exploration) -> None:
    assert recorded.tokens == traced.tokens and recorded.token_ids == traced.token_ids
    assert recorded.text == traced.text and recorded.prompt_tokens == traced.prompt_tokens
    assert len(recorded.steps) == len(traced.steps) > 0
    for a, b in zip(recorded.steps, traced.steps):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    for a, b in zip(recorded.top, traced.top):
        assert [t for t, _ in a] == [t for t, _ in b]
        assert np.allclose([p for _, p in a], [p for _, p in b], atol=1e-5)
    assert np.array_equal(recorded.mask, traced.mask)
    assert [np.asarray(f).tobytes() for f in recorded.frames] == [np.asarray(f).tobytes() for f in traced.frames]
    if traced.vision_cls is None:
        assert recorded.vision_cls is None
    else:
        for a, b in zip(recorded.vision_cls, traced.vision_cls):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    assert recorded.rollout is None and traced.rollout is not None  # rollout needs the full pass
    # the views a student sees first are the same figures, number for number
    view = explain.View(token=len(traced.tokens) - 1, layer="1", head="2")
    a = explain.render(recorded, view, only={"heatmap", "layers"})
    b = explain.render(traced, view, only={"heatmap", "layers"})
    for name in ("heatmap", "layers", "heads"):
        assert a[name].caption == b[name].caption, name
    for name in ("topk", "share"):  # tables of percentages, drawn by the browser
        assert a[name].html == b[name].html, name


def _case(family, media, git_tiny, loaded, picture, clip):  # noqa: F811
    img, _ = picture
    if family == "git":
        model, processor = git_tiny
        return model, processor, (clip.frames if media == "video" else [img]), \
            ("which way is it moving?" if media == "video" else None)
    model, processor = loaded
    return model, processor, img, "caption en"


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("family,media", [("git", "image"), ("git", "video"), ("paligemma", "image")])
def test_record_view_equals_the_teacher_forced_trace(family, media, mode, git_tiny, loaded, picture, clip,  # noqa: F811
                                                     monkeypatch):
    model, processor, images, prompt = _case(family, media, git_tiny, loaded, picture, clip)
    result = pipeline.run(model, processor, images, prompt, max_new_tokens=5, **MODES[mode])
    assert result.tokens, "the tiny model wrote nothing to compare"
    traced = explain.trace(model, processor, images, prompt, [t.id for t in result.tokens], "tiny")
    with monkeypatch.context() as m:
        for name in ("forward", "prefill", "step", "encode_image"):
            if hasattr(model, name):
                m.setattr(model, name, _no_model_calls(model))
        recorded = explain.from_record(model, processor, result, "tiny")
    assert_same(recorded, traced)
    assert recorded.is_video == (media == "video")


def test_a_result_without_a_record_is_refused(git_tiny, picture):  # noqa: F811
    from gitdemo.errors import InputError

    model, processor = git_tiny
    result = pipeline.run(model, processor, [picture[0]], None, max_new_tokens=3, record=False)
    with pytest.raises(InputError, match="no attention record"):
        explain.from_record(model, processor, result)


def test_two_students_at_once_each_get_their_own_record(git_tiny, monkeypatch):
    """Two requests batched by the engine: each record is its own row's, equal to its own teacher-forced trace."""
    monkeypatch.setenv("GITDEMO_BATCH_WINDOW_MS", "400")
    model, processor = git_tiny
    rng = np.random.default_rng(11)
    images = [shapes.draw_scene(rng).image for _ in range(2)]
    questions = [None, "what color is the circle?"]
    results = [None, None]

    def student(i):
        results[i] = list(pipeline.run_stream(model, processor, [images[i]], questions[i], max_new_tokens=4,
                                              streamer=E.stream))[-1]

    threads = [threading.Thread(target=student, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for i in range(2):
        res = results[i]
        traced = explain.trace(model, processor, [images[i]], questions[i], [t.id for t in res.tokens], "tiny")
        recorded = explain.from_record(model, processor, res, "tiny")
        for a, b in zip(recorded.steps, traced.steps):  # batched rows: the engine's padding keys are cut off
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
        assert recorded.prompt_tokens == traced.prompt_tokens
        assert np.asarray(recorded.frames[0]).tobytes() == np.asarray(traced.frames[0]).tobytes()
    assert np.asarray(results[0].inputs.pixel_values).tobytes() != np.asarray(results[1].inputs.pixel_values).tobytes()


# ----------------------------------------------------------------------------- the app's side
def test_the_explorer_uses_the_record_it_matches_and_only_that(monkeypatch):
    """`exploring.explore`: the page's kept record when it is this JSON's, else one teacher-forced pass; the
    old path on request (GITDEMO_EXPLORE_FROM=trace, for the bench)."""
    from gitdemo.ui import exploring, registry
    from gitdemo.ui.controls import open_images
    from test_app_browser import EXAMPLES

    embedded = registry.CACHE.get(registry.EMBEDDED, None, precision="fp32")
    paths = [str(EXAMPLES / "scene_00000.png"), str(EXAMPLES / "scene_00001.png")]
    results = [pipeline.run(embedded.model, embedded.processor, open_images(p), None) for p in paths]
    payloads = [{"model": registry.EMBEDDED, "precision": "fp32", **r.to_json()} for r in results]
    traces = []
    real = exploring.exploration
    monkeypatch.setattr(exploring, "exploration", lambda *a, **k: traces.append(1) or real(*a, **k))
    monkeypatch.setattr(exploring, "EXAMPLES", exploring.ExampleCache())
    expl = exploring.explore(embedded, paths[0], payloads[0], results[0])
    assert traces == [] and expl.rollout is None and expl.text == results[0].text
    assert expl.origin["media"] == paths[0] and expl.origin["precision"] == "fp32"
    # another student's record (or a stale one) is never used for this JSON
    assert not exploring.matches(results[1], payloads[0])
    other = exploring.explore(embedded, paths[0], payloads[0], results[1])
    assert traces == [1] and other.text == results[0].text
    # a shipped example is traced once, then every visitor gets their own copy of it
    again = exploring.explore(embedded, paths[0], payloads[0], None)
    assert traces == [1] and again is not other and again.text == other.text
    again.picked = (0, 1, 1)
    assert exploring.explore(embedded, paths[0], payloads[0], None).picked is None
    monkeypatch.setenv("GITDEMO_EXPLORE_FROM", "trace")
    monkeypatch.setattr(exploring, "EXAMPLES", exploring.ExampleCache())
    exploring.explore(embedded, paths[0], payloads[0], results[0])
    assert traces == [1, 1]
    # rollout, asked for later, comes from one teacher-forced pass, once
    monkeypatch.delenv("GITDEMO_EXPLORE_FROM")
    exploring.ensure_trace(expl)
    exploring.ensure_trace(expl)
    assert traces == [1, 1, 1] and len(expl.rollout) == len(expl.tokens)


def test_two_students_in_the_app_see_their_own_maps(app_url):
    """Two sessions caption two pictures at the same time, then build their explorers: each sees its own."""
    import html

    from gradio_client import Client, handle_file

    from test_app_browser import EXAMPLES

    names = ["scene_00000.png", "scene_00002.png"]
    out = [None, None]

    def student(i):
        client = Client(app_url, analytics_enabled=False, verbose=False)
        image = handle_file(str(EXAMPLES / names[i]))
        text, data = client.predict(image, api_name="/caption")
        built = client.predict(image, data, "mean", "mean", True, True, 0.5, "viridis", 1, "attention",
                               api_name="/caption_explore")
        out[i] = (text, data, built)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert out[0] and out[1]
    def figure(outputs, marker):  # a browser-drawn figure among the build's outputs, by what it is
        return next(v for v in outputs if isinstance(v, str) and v.startswith("<figure") and marker in v)

    for text, data, built in out:
        status, heatmap = built[6], figure(built, 'gd-fig gd-heat"')
        topk = html.unescape(figure(built, "gd-bars"))
        assert f"Exploring **{text}**" in status
        first = data["tokens"][0]["text"]
        assert f"&#x27;{first}&#x27;" in heatmap and "Step 1: next-token probabilities" in topk
    assert figure(out[0][2], 'gd-fig gd-heat"') != figure(out[1][2], 'gd-fig gd-heat"')


def test_png_export_draws_the_first_view_on_request(tmp_path, monkeypatch):
    """PNG export stays: the first view's figures drawn on the server only when asked, into Gradio's cache."""
    import gradio as gr
    from PIL import Image

    from gitdemo.ui import registry
    from gitdemo.ui.controls import open_images
    from gitdemo.ui.explorer import Explorer
    from test_app_browser import EXAMPLES

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    embedded = registry.CACHE.get(registry.EMBEDDED, None, precision="fp32")
    path = str(EXAMPLES / "scene_00004.png")
    result = pipeline.run(embedded.model, embedded.processor, open_images(path), None)
    payload = {"model": registry.EMBEDDED, "precision": "fp32", **result.to_json()}
    with gr.Blocks(analytics_enabled=False):
        explorer = Explorer("png-test")
    controls = ("2", "1", True, True, 0.5, "magma", 1, "attention")
    expl = explorer._build(path, payload, *controls, [], result)[0]
    files = explorer._export(expl, 1, *controls)["value"]
    assert [p.rsplit("/", 1)[1] for p in files] == ["heatmap-step2.png", "topk-step2.png", "share-step2.png"]
    for p in files:
        assert p.startswith(str(tmp_path)) and Image.open(p).format == "PNG" and Image.open(p).width > 200


def test_a_cached_example_keeps_its_record_for_everyone(monkeypatch):
    """The example's own generation leaves its exploration for later visitors: no model call when it is clicked."""
    from gitdemo.ui import exploring, registry
    from gitdemo.ui.tabs.caption import example_caption
    from test_app_browser import EXAMPLES

    monkeypatch.setattr(exploring, "EXAMPLES", exploring.ExampleCache())
    path = str(EXAMPLES / "scene_00003.png")
    *_, (text, payload) = exploring.keeping_records(example_caption)(path, registry.EMBEDDED)
    assert payload.record is not None and len(exploring.EXAMPLES._items) == 1
    traces = []
    monkeypatch.setattr(exploring, "exploration", lambda *a, **k: traces.append(1))
    model = registry.CACHE.load(registry.key_of(payload), None, payload.get("precision"))
    plain = dict(payload)  # what the examples cache gives back later: the JSON alone, no record
    expl = exploring.explore(model, path, plain, None)
    assert traces == [] and expl.text == text and expl.rollout is None
