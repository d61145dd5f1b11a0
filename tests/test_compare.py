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


# ----------------------------------------------------------------------------- over the API
gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, analytics_enabled=False, verbose=False)


def test_compare_endpoint_git_and_paligemma(client):
    from gradio_client import handle_file

    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in info["/compare"]["parameters"]] == \
        ["image", "model_a", "model_b", "question", "word"]
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
