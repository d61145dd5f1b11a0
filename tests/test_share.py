"""Share this view (issue 22): a link restores the tab, picture, model, precision, question and the explorer's
token, layer, head and view, with no further click; what a link may name on the server is checked."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from gitdemo.ui import share

pytest.importorskip("playwright.sync_api")
from test_app_browser import EXAMPLES, TIMEOUT, TRUTH, local_page  # noqa: E402


def test_a_link_names_only_examples_and_kept_uploads(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    (tmp_path / "uploads" / "abc").mkdir(parents=True)
    kept = tmp_path / "uploads" / "abc" / "photo.png"
    kept.write_bytes(b"x")
    assert share.shared_media("scene_00001.png") == str((EXAMPLES / "scene_00001.png").resolve())
    assert share.shared_media(str(EXAMPLES / "scene_00001.png")) == str((EXAMPLES / "scene_00001.png").resolve())
    assert share.shared_media(str(kept)) == str(kept.resolve())
    for bad in ("/etc/passwd", str(tmp_path / "elsewhere.png"), "../../etc/passwd", str(kept) + ".gone",
                str(tmp_path / "uploads" / ".." / "x.png"), ""):
        assert share.shared_media(bad) is None, bad


def test_sharing_a_view_and_opening_the_link(app_url):
    """A student captions an example, picks the third word, layer 2 and rollout, and shares; the link opens
    that view in another browser (a fresh profile) without a click."""
    leaked: list[str] = []
    name = "scene_00002.png"
    words = TRUTH[name]["caption"].split()
    with local_page(app_url, leaked, viewport={"width": 1280, "height": 1000}) as page:
        page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
        page.wait_for_selector("#caption-image img")
        page.click("#caption-run")
        page.wait_for_selector("#caption-heatmap .gd-grid", timeout=TIMEOUT)
        page.locator("#caption-chips label").nth(2).click()
        page.locator("#caption-layer").get_by_label("layer 2", exact=True).check()
        page.locator("#caption-map").get_by_label("attention rollout", exact=True).check()
        page.wait_for_function("() => document.querySelector('#caption-heatmap figcaption').innerText"
                               ".startsWith('Attention rollout')", timeout=TIMEOUT)
        page.click("#caption-share-view")
        page.wait_for_function("() => document.querySelector('#caption-link textarea, #caption-link input').value"
                               ".includes('tab=caption')", timeout=TIMEOUT)
        link = page.locator("#caption-link textarea, #caption-link input").first.input_value()
    query = parse_qs(urlparse(link).query)
    assert query["tab"] == ["caption"] and query["token"] == ["3"] and query["layer"] == ["2"]
    assert query["view"] == ["rollout"] and query["model"] == ["embedded"] and query["image"][0].endswith(".png")
    assert link.startswith(app_url)
    with local_page(app_url, leaked, path=link[len(app_url):], viewport={"width": 1280, "height": 1000}) as other:
        other.wait_for_function("v => document.querySelector('#caption-text textarea').value === v",
                                arg=" ".join(words), timeout=TIMEOUT)
        other.wait_for_function("w => document.querySelector('#caption-heatmap .gd-title') && document.querySelector("
                                "'#caption-heatmap .gd-title').innerText.includes(w)", arg=f"'{words[2]}'",
                                timeout=TIMEOUT)
        assert other.locator("#caption-layer input:checked").get_attribute("value") == "2"
        assert other.locator("#caption-map input:checked").get_attribute("value") == "rollout"
        assert other.locator("#caption-chips input:checked").get_attribute("value") == "2"
        assert other.inner_text("#caption-heatmap figcaption").startswith("Attention rollout")
    assert not leaked, leaked


def test_a_link_to_a_picture_no_longer_kept_says_so(app_url):
    leaked: list[str] = []
    with local_page(app_url, leaked, path="/?tab=vqa&image=%2Ftmp%2Fgone%2Fphoto.png&model=nonsense&q=what%3F",
                    viewport={"width": 1280, "height": 900}) as page:
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=toast-body]')]"
                               ".some(t => t.textContent.includes('not kept on this server'))", timeout=TIMEOUT)
        assert page.locator("button[role=tab][data-tab-id=vqa]").get_attribute("aria-selected") == "true"
        assert page.input_value("#vqa-question textarea") == "what?"
    assert not leaked, leaked
