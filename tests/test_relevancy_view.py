"""Relevancy (Chefer et al.) as a view of the explorer's main heatmap, and the one teacher-forced pass it shares
with the trace and the deletion test (`generation.teacher_forced(..., grad=True)`).

Tiny random GIT for the pass itself; the embedded Shapes GIT for the explorer (images, beams, video, int8)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gitdemo import shapes
from gitdemo.explain import faithfulness as fa
from gitdemo.explain.maps import default_view
from gitdemo.explain.relevancy import forward, relevancy
from gitdemo.generation import teacher_forced
from gitdemo.pipeline import inputs as pipeline_inputs
from test_viz import build_tiny_git

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
CONTROLS = ("mean", "mean", True, True, 0.5, "viridis", 1)  # layer, head, sink, shared, opacity, cmap, frame


@pytest.fixture(scope="module")
def git_case(tmp_path_factory):
    model, processor = build_tiny_git(tmp_path_factory.mktemp("tiny-git"))
    scene = shapes.draw_scene(np.random.default_rng(5), n_objects=2)
    inputs = pipeline_inputs.prepare(model, processor, [scene.image])
    ids = fa.greedy_answer(model, processor, inputs, max_new_tokens=5)
    assert len(ids) >= 2
    return model, processor, inputs, ids


def test_one_teacher_forced_pass_with_and_without_gradients(git_case):
    model, _, inputs, ids = git_case
    seq = torch.cat([inputs.input_ids, torch.tensor([ids])], 1)
    p = inputs.input_ids.shape[1]
    plain = teacher_forced(model, inputs.pixel_values, seq, p)
    assert plain.attentions is None and not plain.logits.requires_grad
    graph = teacher_forced(model, inputs.pixel_values, seq, p, grad=True)
    assert graph.queries == plain.queries and torch.allclose(graph.logits, plain.logits, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(graph.full, plain.full))
    assert graph.logits.requires_grad and all(a.requires_grad for a in graph.attentions)
    g = torch.autograd.grad(graph.logits[0, 0, ids[0]], graph.attentions)
    assert any(float(x.abs().sum()) > 0 for x in g)  # the gradient reaches the attention probabilities
    assert all(prm.grad is None for prm in model.parameters())  # and nothing lands on the frozen weights
    fast = teacher_forced(model, inputs.pixel_values, seq, p, record=False)
    assert fast.full == [] and fast.steps == [] and torch.allclose(fast.logits, plain.logits, atol=1e-5)
    # a batch of images with ONE text row (the deletion test's occluded copies) = each image alone
    other = fa.occlude(inputs.pixel_values, [np.eye(7, dtype=bool)[None]], inputs.layout)
    both = forward(model, inputs, ids, torch.cat([inputs.pixel_values, other]))
    alone = forward(model, inputs, ids, other)
    assert both.logits.shape[0] == 2 and torch.allclose(both.logits[1], alone.logits[0], atol=1e-5)
    assert torch.allclose(both.logits[0], plain.logits[0], atol=1e-5)


def test_relevancy_needs_a_float_model(git_case):
    from gitdemo.errors import InputError

    model, _, inputs, ids = git_case
    model.precision, before = "int8", getattr(model, "precision", "fp32")
    try:
        with pytest.raises(InputError, match="int8 layers give none"):
            relevancy(model, inputs, ids)
    finally:
        model.precision = before


# ----------------------------------------------------------------------------- the explorer (embedded GIT)
@pytest.fixture(scope="module")
def explorer():
    import gradio as gr

    from gitdemo.ui.explorer import Explorer

    with gr.Blocks(analytics_enabled=False):
        return Explorer("relevancy-test")


def _payload(path, precision="fp32", video=False, **run_options):
    from gitdemo.pipeline.run import run
    from gitdemo.ui import registry
    from gitdemo.ui.controls import open_images, open_video

    loaded = registry.CACHE.get(registry.EMBEDDED, None, precision=precision)
    media = open_video(str(path), loaded.model.config.num_frames).frames if video else open_images(str(path))
    result = run(loaded.model, loaded.processor, media, None, **run_options)
    return {"model": registry.EMBEDDED, "precision": loaded.precision, **result.to_json()}


def _heatmap(explorer, out):
    """(the heatmap's HTML, its caption's text) in a handler's outputs."""
    import html
    import re

    figure = explorer.figure_value(out, "heatmap")
    caption = re.search(r"<figcaption>(.*?)</figcaption>", figure, re.S)
    return figure, html.unescape(caption.group(1)) if caption else ""


def test_relevancy_view_is_computed_once_when_chosen(explorer, monkeypatch):
    import gitdemo.ui.exploring as ex

    path = EXAMPLES / "scene_00000.png"
    payload = _payload(path)
    out = explorer._build(str(path), payload, *CONTROLS, "attention", [])
    expl = out[0]
    raw_image, raw_caption = _heatmap(explorer, out)
    assert expl.relevancy is None  # not computed until the view is chosen: it needs a backward pass
    calls = []
    monkeypatch.setattr(ex, "relevancy", lambda *a, **k: calls.append(1) or relevancy(*a, **k))
    out = explorer._redraw(expl, 2, *CONTROLS, "relevancy", [])
    image, caption = _heatmap(explorer, out)
    assert calls == [1] and len(expl.relevancy) == len(expl.tokens)
    assert caption.startswith("Relevancy (Chefer") and "computed once" in caption
    assert image != _heatmap(explorer, explorer._redraw(expl, 2, *CONTROLS, "attention", []))[0]
    lay = expl.layout
    differs = []
    for i, m in enumerate(expl.relevancy):
        assert m.shape == (1, lay.rows, lay.cols) and (m >= 0).all() and m.sum() == pytest.approx(1.0)
        differs.append(float(np.abs(m - default_view(expl.steps[i], lay)).sum()))
    assert max(differs) > 0.2, "relevancy is not raw attention"
    # the same maps as explain.relevancy on the same input
    from gitdemo.ui import registry

    loaded = registry.CACHE.get(registry.EMBEDDED, None, precision="fp32")
    inputs = pipeline_inputs.prepare(loaded.model, loaded.processor, [ex.open_images(str(path))[0]], None)
    direct = relevancy(loaded.model, inputs, expl.token_ids)
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(direct, expl.relevancy))
    # other tokens and settings reuse them; rollout is a view too
    out = explorer._select(expl, 4, *CONTROLS, "relevancy", [])
    assert calls == [1] and "computed once" in _heatmap(explorer, out)[1]
    out = explorer._scrub(expl, 3, *CONTROLS, "rollout", [])
    assert _heatmap(explorer, out)[1].startswith("Attention rollout") and calls == [1]
    # a new result chosen while relevancy is selected is computed with it
    rebuilt = explorer._build(str(path), payload, *CONTROLS, "relevancy", [])
    assert calls == [1, 1] and rebuilt[0].relevancy is not None
    assert raw_caption.startswith("'") and "of this map on" in raw_caption


def test_relevancy_of_an_int8_answer_comes_from_the_exact_model(explorer):
    path = EXAMPLES / "scene_00001.png"
    fast = _payload(path, precision="int8")
    assert fast["precision"] == "int8"
    expl = explorer._build(str(path), fast, *CONTROLS, "relevancy", [])[0]
    exact = explorer._build(str(path), _payload(path), *CONTROLS, "relevancy", [])[0]
    assert expl.token_ids == exact.token_ids and "exact (fp32)" in expl.relevancy_note
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(expl.relevancy, exact.relevancy))


def test_relevancy_of_beam_and_video_results(explorer):
    path = EXAMPLES / "scene_00002.png"
    beam = explorer._build(str(path), _payload(path, num_beams=3), *CONTROLS, "relevancy", [])[0]
    assert beam.relevancy is not None and len(beam.relevancy) == len(beam.tokens)
    import gradio as gr

    from gitdemo.ui.explorer import Explorer

    with gr.Blocks(analytics_enabled=False):
        video_explorer = Explorer("relevancy-video", video=True)
    clip = EXAMPLES / "video_00000.mp4"
    out = video_explorer._build(str(clip), _payload(clip, video=True), *CONTROLS, "relevancy", [])
    expl = out[0]
    assert expl.is_video and len(expl.relevancy) == len(expl.tokens)
    for m in expl.relevancy:  # one map over all frames: the frames together sum to 1
        assert m.shape == (6, 7, 7) and m.sum() == pytest.approx(1.0)


def test_relevancy_says_why_when_it_cannot_be_computed(explorer, tmp_path):
    path = tmp_path / "scene.png"
    shutil.copy(EXAMPLES / "scene_00003.png", path)
    out = explorer._build(str(path), _payload(path), *CONTROLS, "attention", [])
    expl = out[0]
    path.unlink()  # the upload is gone (e.g. a cleaned temp folder)
    image, caption = _heatmap(explorer, explorer._redraw(expl, 0, *CONTROLS, "relevancy", []))
    assert expl.relevancy is None and caption.startswith("Relevancy is not available here:")
    assert "raw attention instead" in caption and image is not None  # the raw map stays on screen
    expl.origin = {}
    caption = _heatmap(explorer, explorer._select(expl, 0, *CONTROLS, "relevancy", []))[1]
    assert "generate again" in caption


def test_relevancy_view_over_the_api(app_url):
    """The explorer's own (undocumented) endpoints, as the browser calls them: build with the relevancy view,
    then another token (the maps computed once are reused), then back to raw attention."""
    from gradio_client import Client, handle_file

    client = Client(app_url, analytics_enabled=False, verbose=False)
    image = handle_file(str(EXAMPLES / "scene_00000.png"))
    text, data = client.predict(image, api_name="/caption")
    out = client.predict(image, data, *CONTROLS, "relevancy", [], api_name="/caption_explore")
    caption = next(v for v in out if isinstance(v, str) and v.startswith('<figure class="gd-fig gd-heat"'))
    n = len(data["tokens"])
    assert "Relevancy (Chefer" in caption and f"Maps of all {n} tokens computed once" in caption
    note = caption[caption.index("Maps of all"):caption.index("reused.")]
    out = client.predict(2, *CONTROLS, "relevancy", [], api_name="/caption_token")
    assert note in out[2] and f"&#x27;{text.split()[2]}&#x27;" in out[2]  # the same computation, another token
    out = client.predict(2, *CONTROLS, "attention", [], api_name="/caption_view_7")
    assert "of this map on" in out[0] and "Relevancy" not in out[0]
