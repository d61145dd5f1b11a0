"""The Compare tab: explain.compare (word matching, one colour scale) and `/compare` over the API."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gitdemo.explain import compare as cmp

ROOT = Path(__file__).resolve().parent.parent
SCENE = ROOT / "assets" / "examples" / "scene_00000.png"


def test_words_match_across_tokenizers():
    git = ["a", "green", "square", "##s"]
    pali = ["a", " green", " circle"]
    assert cmp.norm_word(" Green") == "green" and cmp.norm_word("##s") == "s"
    assert cmp.find_token(pali, "green") == 1 and cmp.find_token(pali, "square") is None
    assert cmp.words(git, pali) == ["a", "green", "square", "s", "circle"]
    assert cmp.default_word(git, pali) == "green"  # shared, and not a little word like "a"
    assert cmp.default_word(["a", "dog"], ["a", "cat"]) == "a"
    assert cmp.default_word(["dog"], ["cat"]) == "dog"


def test_one_scale_for_two_grids_of_different_size():
    even7 = np.full((7, 7), 1 / 49)
    peaked16 = np.full((16, 16), 0.5 / 255)
    peaked16[3, 4] = 0.5
    a, b, vmax = cmp.shared_scale(even7, peaked16)
    np.testing.assert_allclose(a, np.ones((7, 7)))  # an even spread is 1 on any grid
    assert b[3, 4] == pytest.approx(128) and vmax == pytest.approx(128)
    assert a.sum() == pytest.approx(49) and b.sum() == pytest.approx(256)
    a, b, vmax = cmp.shared_scale(even7, None)
    assert b is None and vmax == pytest.approx(1.0)


def test_agreement_measures():
    a = np.zeros((2, 2)); a[0, 0] = 4.0  # all attention on one patch (x even spread: 4 on a 2 x 2 grid)
    b = np.ones((2, 2))  # spread evenly
    agree = cmp.agreement("A green square", "a  green square", ["a", "green", "square"], ["a", "green", "square"],
                          [0.9, 0.8, 0.7], [0.9, 0.5, 0.75], 1, 1, a, b)
    assert agree["same_text"] and agree["same_tokens"]
    assert agree["word_p"] == [0.8, 0.5] and agree["word_p_diff"] == pytest.approx(0.3)
    assert agree["max_p_diff"] == pytest.approx(0.3)
    assert agree["map_max_diff"] == pytest.approx(3.0) and agree["map_moved"] == pytest.approx(0.75)
    assert cmp.agreement("x", "x", ["x"], ["x"], [0.5], [0.5], 0, 0, a, a)["map_moved"] == 0.0
    other = cmp.agreement("a dog", "a cat", ["a", "dog"], ["a", "cat"], [0.9, 0.6], [0.9, 0.4], 0, 0, a,
                          np.ones((3, 3)))
    assert not other["same_text"] and not other["same_tokens"] and other["max_p_diff"] is None
    assert other["map_max_diff"] is None and other["map_moved"] is None  # different grids: not cell by cell
    missing = cmp.agreement("a dog", "a cat", ["a", "dog"], ["a", "cat"], [0.9, 0.6], [0.9, 0.4], 1, None, a, None)
    assert missing["word_p"] == [0.6, None] and missing["word_p_diff"] is None


# ----------------------------------------------------------------------------- over the API
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, analytics_enabled=False, verbose=False)


def test_compare_endpoint_git_and_paligemma(client):
    from gradio_client import handle_file

    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    params = info["/compare"]["parameters"]
    assert [p["parameter_name"] for p in params] == \
        ["image", "model_a", "model_b", "question", "word", "precision_a", "precision_b"]  # new ones last
    assert [p["parameter_default"] for p in params[-2:]] == ["auto", "auto"]
    text, data = client.predict(handle_file(str(SCENE)), api_name="/caption")
    out = client.predict(handle_file(str(SCENE)), "embedded", "embedded-paligemma", "", "", api_name="/compare")
    text_a, text_b, heat_a, heat_b, caption, result = out
    word = result["word"]
    assert text_a == text and result["a"]["model"] == "embedded" and result["b"]["model"] == "embedded-paligemma"
    assert word not in ("", "a") and result["a"]["token"] == word
    assert Path(heat_a).is_file() and Path(heat_b).is_file()
    ga, gb = np.asarray(result["a"]["grid"]), np.asarray(result["b"]["grid"])
    assert result["vmax"] == pytest.approx(max(ga.max(), gb.max()), abs=1e-5)  # ONE scale
    assert ga.sum() == pytest.approx(ga.size, rel=1e-4) and gb.sum() == pytest.approx(gb.size, rel=1e-4)
    # model A's map is /caption's map of the same token, times the number of patches
    i = result["a"]["index"]
    assert data["tokens"][i]["text"] == result["a"]["token"]
    np.testing.assert_allclose(ga, np.asarray(data["tokens"][i]["attention"]) * ga.size, atol=1e-3)
    assert "ONE colour scale" in caption


def test_compare_a_word_only_one_model_wrote(client):
    from gradio_client import handle_file

    out = client.predict(handle_file(str(SCENE)), "embedded", "embedded", "", "zebra", api_name="/compare")
    result = out[5]
    assert result["a"]["grid"] is None and result["b"]["grid"] is None and out[2] is None
    assert "'zebra' is not in its answer" in out[4]
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(handle_file(str(SCENE)), "embedded", "/etc/passwd", "", "", api_name="/compare")


def test_compare_one_model_at_fp32_and_int8(client):
    """The embedded GIT against itself, exact vs int8: both answer, the JSON says each side's precision, and on
    this model the greedy captions are the same (measured: identical on the shipped examples; p differs ~1e-6)."""
    from gradio_client import handle_file

    out = client.predict(handle_file(str(SCENE)), "embedded", "embedded", "", "", "fp32", "int8",
                         api_name="/compare")
    text_a, text_b, heat_a, heat_b, caption, result = out
    assert text_a.strip() and text_b.strip()
    assert result["a"]["precision"] == "fp32" and result["b"]["precision"] == "int8"
    assert result["a"]["model"] == result["b"]["model"] == "embedded"
    agree = result["agreement"]
    assert text_a == text_b and agree["same_text"] and agree["same_tokens"]
    assert 0 <= agree["max_p_diff"] < 0.01 and agree["word_p_diff"] <= agree["max_p_diff"]
    assert all(0 < p <= 1 for p in result["a"]["probs"] + result["b"]["probs"])
    # int8 moves the maps a little, not nowhere: the word's two maps differ, yet mostly overlap
    ga, gb = np.asarray(result["a"]["grid"]), np.asarray(result["b"]["grid"])
    assert agree["map_max_diff"] == pytest.approx(np.abs(ga - gb).max(), abs=1e-4)
    assert 0 < agree["map_moved"] < 0.2
    assert "exact (fp32)" in caption and "int8" in caption and "**Agreement:** the same answer" in caption
    # "auto" is exact for the embedded model; the old five-argument call is "auto" on both sides
    old = client.predict(handle_file(str(SCENE)), "embedded", "embedded", "", "", api_name="/compare")[5]
    assert old["a"]["precision"] == old["b"]["precision"] == "fp32" and old["a"]["text"] == text_a
    assert old["agreement"]["map_max_diff"] == 0.0 and old["agreement"]["max_p_diff"] == 0.0
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict(handle_file(str(SCENE)), "embedded", "embedded", "", "", "fp64", "int8", api_name="/compare")
