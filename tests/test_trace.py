"""One pipeline and one trace for both families (gitdemo.pipeline, gitdemo.explain.trace), on tiny random models.

The PaliGemma fixtures are test_paligemma_app's (a reference-written tiny checkpoint); GIT's is the training
code's own tiny model, as in test_viz.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from gitdemo import explain, pipeline
from gitdemo.errors import InputError
from test_paligemma_app import loaded, picture, tiny  # noqa: F401 - PaliGemma fixtures
from test_viz import build_tiny_git


@pytest.fixture(scope="module")
def git_tiny(tmp_path_factory):
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git"))


def test_clean_question_serves_both_callers():
    assert pipeline.clean_question(None) is None and pipeline.clean_question("  \n ") is None
    assert pipeline.clean_question("  what\tis  red? ") == "what is red?"
    with pytest.raises(InputError, match="Type a question"):
        pipeline.clean_question(" ", required=True)
    with pytest.raises(InputError, match="characters long"):
        pipeline.clean_question("x" * (pipeline.MAX_QUESTION_CHARS + 1))


def test_one_result_type_for_both_families(git_tiny, loaded, picture):  # noqa: F811 - the fixtures above
    img, _ = picture
    pali = pipeline.run(*loaded, img, "caption en", max_new_tokens=3)
    assert isinstance(pali, pipeline.Result) and pali.family == "paligemma"
    data = pali.to_json()
    assert {"prompt", "detections", "image_size"} <= set(data) and all("top" in t for t in data["tokens"])
    git = pipeline.run(*git_tiny, [img], max_new_tokens=3)
    assert git.family == "git" and set(git.to_json()) == {"text", "tokens", "grid", "frames"}
    token = git.to_json()["tokens"][0]
    assert set(token) == {"text", "id", "attention", "share"}  # the CLI's --json contract, extended by "share"
    assert set(token["share"]) == {"image", "cls", "text"} and abs(sum(token["share"].values()) - 1) < 1e-3
    json.dumps(data), json.dumps(git.to_json())


@pytest.mark.parametrize("family", ["git", "paligemma"])
def test_trace_of_a_beam_answer_matches_its_records(family, git_tiny, loaded, picture):  # noqa: F811
    """Beam search's records and the explorer's trace are the same teacher-forced pass, for both families."""
    img, _ = picture
    model, processor = git_tiny if family == "git" else loaded
    images, prompt = ([img], None) if family == "git" else (img, "caption en")
    result = pipeline.run(model, processor, images, prompt, max_new_tokens=4, num_beams=2)
    assert result.tokens and all(t.attention is not None for t in result.tokens)
    expl = explain.trace(model, processor, images, prompt, [t.id for t in result.tokens], "tiny")
    assert len(expl.steps) == len(result.tokens)
    for step, token in zip(expl.steps, result.tokens):
        assert np.allclose(explain.default_view(step, expl.layout), token.attention, atol=1e-5)
    # the mask drawn is the model's: PaliGemma's own mask_for; GIT's rule (image block, causal text)
    s = expl.segments[-1].end
    assert expl.mask.shape == (s, s)
    if family == "paligemma":
        ids, mask, types = explain.mask.sequence(model, processor, prompt, expl.token_ids)
        assert np.array_equal(expl.mask, model.mask_for(ids, mask, types)[0, 0].numpy())
    else:
        n = expl.layout.num_image_tokens
        assert expl.mask[:n, :n].all() and not expl.mask[:n, n:].any()
        assert np.array_equal(expl.mask[n:, n:], np.tril(np.ones((s - n, s - n), bool)))
