"""The sampling knobs (gitdemo.explain.sampling, gitdemo.ui.knobs) and the step-by-step panel's HTML and endpoint
(gitdemo.ui.scores_html, gitdemo.ui.mechanism), without a browser, on the embedded GIT."""
from __future__ import annotations

import html
import re

import pytest
import torch
from PIL import Image

import gitdemo
from gitdemo.explain import faithfulness as fa
from gitdemo.explain import sampling
from gitdemo.explain import scores as sc
from gitdemo.generation import sampling_probs, teacher_forced
from gitdemo.io.assets import ASSETS
from gitdemo.pipeline import inputs as pipeline_inputs

EXAMPLE = ASSETS / "examples" / "scene_00003.png"


@pytest.fixture(scope="module")
def run():
    folder = ASSETS / "models" / "git-shapes"
    model, processor = gitdemo.load_model(folder), gitdemo.load_processor(folder)
    inputs = pipeline_inputs.prepare(model, processor, [Image.open(EXAMPLE)], None)
    ids = fa.greedy_answer(model, processor, inputs, max_new_tokens=8)
    return model, processor, inputs, ids


@pytest.fixture(scope="module")
def logits(run):
    model, processor, inputs, ids = run
    return sampling.step_logits(model, processor, inputs, ids)


def test_the_first_stage_is_the_models_distribution(run, logits):
    model, processor, inputs, ids = run
    seq = torch.cat([inputs.input_ids, torch.tensor([ids])], 1)
    full = teacher_forced(model, inputs.pixel_values, seq, inputs.input_ids.shape[1], record=False).logits[0]
    probs = full.softmax(-1)
    assert len(logits) == len(ids) and all(len(row) == sampling.KEEP for row in logits.ids)
    for step in range(len(ids)):
        st = sampling.stages(logits, step)
        top = probs[step].topk(sampling.KEEP)
        assert st.ids == top.indices.tolist()
        assert torch.allclose(torch.tensor(st.base), top.values, atol=1e-6)
        assert abs(st.other - (1 - float(top.values.sum()))) < 1e-5
        assert st.chosen == 0  # a greedy answer: the answer's token is the likeliest at every step


def test_knobs_apply_the_decoders_own_sampling(logits):
    st = sampling.stages(logits, 1, temperature=0.7, top_k=5, top_p=0.9)
    raw = torch.tensor(logits.logits[1])
    assert torch.allclose(torch.tensor(st.tempered), sampling_probs(raw, 0.7, None, None), atol=1e-6)
    assert torch.allclose(torch.tensor(st.final), sampling_probs(raw, 0.7, 5, 0.9), atol=1e-6)
    assert st.kept <= 5 and abs(sum(st.final) - 1) < 1e-5
    # temperature: lower sharpens (the top token gains), higher flattens
    cold, hot = sampling.stages(logits, 1, 0.3), sampling.stages(logits, 1, 2.0)
    assert cold.tempered[0] > st.tempered[0] > hot.tempered[0]
    # top-p 1 and top-k 0 cut nothing; top-k 1 keeps only the answer's (greedy) token
    assert sampling.stages(logits, 1, 1.0, 0, 1.0).kept == sampling.KEEP
    one = sampling.stages(logits, 1, 1.0, 1, 1.0)
    assert one.kept == 1 and one.final[one.chosen] == pytest.approx(1.0)


def test_sample_again_counts_draws(logits):
    st = sampling.stages(logits, 0, 1.5, 3, 1.0)
    counts = sampling.draw(st, 100, seed=1)
    assert sum(c for _, c in counts) == 100 and all(st.final[i] > 0 for i, _ in counts)
    assert len(counts) <= 3 and counts == sorted(counts, key=lambda x: (-x[1], x[0]))
    assert sampling.draw(st, 100, seed=1) == counts  # seeded
    assert sampling.draw(sampling.stages(logits, 0, 1.0, 1, 1.0), 100, seed=2) == [(0, 100)]


def test_knobs_table_marks_the_answer_and_escapes(logits):
    from gitdemo.ui.knobs import render

    st = sampling.stages(logits, 2, 1.0, 2, 1.0)
    st.texts = list(st.texts)
    st.texts[1] = "<b>x</b>"
    page = render(st, sampling.draw(st, 100, 0))
    assert "<b>x</b>" not in page and html.escape("<b>x</b>") in page
    assert page.count("gd-chosen") == 1 and "<caption>" in page and "scope=col" in page
    assert page.count("cut (0)") == min(12, len(st.ids)) - 2  # top-k 2: every other shown row is cut


def test_scores_html_has_numbers_for_every_key(run):
    from gitdemo.ui import scores_html

    model, processor, inputs, ids = run
    view = sc.step_scores(model, processor, inputs, ids, 1, 0, token=2)
    view.keys[-1].text = '<img src=x onerror="alert(1)">'
    page = scores_html.render(view, [Image.open(EXAMPLE)], "token 3")
    assert "onerror=\"alert" not in page and "&lt;img" in page
    tips = re.findall(r'data-cell="\d+" tabindex="-1" role="img" aria-label="([^"]*)"', page)
    assert len(tips) == 2 * len(view.keys)  # scores and weights: every key once each, with its numbers
    assert all(re.search(r"\d", t) for t in tips)
    rows = re.findall(r"<tr><td>\d+</td>", page)
    assert len(rows) == len(view.keys)  # the table: one row per key
    assert sum(view.masked) == page.count("gd-blocked") // 2 and "scope=col" in page


def test_attention_scores_endpoint_counts_from_one():
    from gitdemo.ui.mechanism import attention_scores

    data = attention_scores(str(EXAMPLE), "", "", 2, 2, 3)
    assert (data["token"], data["layer"], data["head"]) == (2, 2, 3)
    assert len(data["keys"]) == len(data["scores"]) == len(data["masked"]) == len(data["weights"])
    assert data["answer"] and data["keys"][0]["kind"] == "cls"
    expected = sc.softmax_of(data["scores"], data["masked"])
    assert max(abs(a - b) for a, b in zip(expected, data["weights"], strict=True)) < 1e-5
    with pytest.raises(gitdemo.errors.InputError, match="Layer 99"):
        attention_scores(str(EXAMPLE), "", "", 1, 99, 1)


def test_texts_given_by_name_are_in_the_tables():
    """The panels' texts handed over in variables (tr(INTRO), say(HINT), the mask rules, menu choices)."""
    from gitdemo.lang import MESSAGES
    from gitdemo.ui import knobs, mechanism
    from gitdemo.ui.i18n import TABLE

    assert {mechanism.INTRO, knobs.INTRO, "the selected token's query", "an image patch's own query"} <= set(TABLE)
    assert {mechanism.HINT, *sc.REASONS.values()} <= set(MESSAGES)


def test_scores_html_of_a_video_draws_every_frame(run):
    from gitdemo.io.video import read_frames
    from gitdemo.ui import scores_html

    model, processor, _, _ = run
    frames = read_frames(str(ASSETS / "examples" / "video_00001.mp4"), model.config.num_image_with_embedding).frames
    inputs = pipeline_inputs.prepare(model, processor, frames, None)
    ids = fa.greedy_answer(model, processor, inputs, max_new_tokens=6)
    view = sc.step_scores(model, processor, inputs, ids, 0, 1, token=1)
    page = scores_html.render(view, frames, "token 2")
    n = len(frames)
    assert page.count('class="gd-grid"') == 2 * n and page.count("background-image: url(data:image/jpeg") == n
    assert "patch frame 3, row 1, column 1" in page and "CLS of frame 6" in page
