"""The UI in Arabic (right to left), Chinese and English: chromium with locale ar / zh-CN / en-US against `python app.py`.

For each language every tab is visited: no label, heading, button, info, menu value, lesson sentence or example
header the page shows is left in English (proper nouns and code excepted), Arabic lays out right to left, and a
caption run writes its figure captions and status line in the page's language (the server follows the page).
In English, a switch to Arabic in Gradio's settings panel flips the page and what the server writes, and the
PaliGemma prompt follows. Screenshots go to docs/screenshots/ (`{tab}-{locale}.png`).
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from test_app_browser import EXAMPLES, TIMEOUT, TRUTH, _wait_new_figure, _wait_new_src, local_page  # same browser setup

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
TABS = ("caption", "vqa", "video", "mask", "paligemma", "compare")  # in the order the app shows them
SHOT_TABS = ("caption", "video", "mask", "paligemma", "compare")
# what Gradio shows for our texts: labels, infos, tab names, buttons, accordions, radio choices, menu values,
# lesson sentences (Markdown), example-table headers
VISIBLE_JS = """() => Array.from(document.querySelectorAll(
  '[data-testid=block-info], [data-testid=block-label], [role=tab], button, .label-wrap span, .prose h3, .prose p, '
  + '.prose li, #app-title, label span, input[role=combobox], th'))
  .filter(e => e.offsetParent !== null)
  .map(e => (e.tagName === 'INPUT' ? e.value : e.innerText).trim()).filter(t => t)"""
# proper nouns, code and names that stay as they are in every language
KEEP = re.compile(r"`[^`]*`|<[^>]*>|\b(GIT|PaliGemma|SigLIP|Gemma|Google|PyTorch|CLS|JSON|fp32|int8|bf16|fp16|"
                  r"[Tt]op-p|top|Hugging Face|Hub|HF_TOKEN|OCR|VQ-VAE|gitdemo|Chefer|viridis|cividis|magma|inferno|"
                  r"x_min|y_min|x_max|y_max|locNNNN|segNNN|NNNN|px)\b|\S*[/_.]\S*|\S*\d\S*")
SCRIPT = {"ar": "\u0600-\u06FF", "zh-CN": "\u4e00-\u9fff"}


def english_left(texts: list[str], locale: str) -> list[str]:
    """The texts with English words in them (and none of the page language's script)."""
    script = SCRIPT[locale]
    return sorted({t for t in texts if not re.search(f"[{script}]", t) and re.search("[A-Za-z]{3,}", KEEP.sub(" ", t))})


def _shot(page, name: str) -> None:
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    im = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(SHOTS / f"{name}.png", optimize=True)


def _open_tab(page, i: int, tab: str) -> None:
    page.locator("[role=tab]").nth(i).click()
    page.wait_for_selector(f"#{tab}-run", state="visible")


def _open_accordions(page) -> None:
    """Open every closed accordion on the visible tab, so their labels and buttons are on screen too."""
    for _ in range(3):  # nested ones appear once their parent is open
        closed = page.locator(".label-wrap:not(.open):visible")
        if not closed.count():
            return
        for i in range(closed.count() - 1, -1, -1):
            closed.nth(i).click()
        page.wait_for_timeout(300)


def _visible_after_sync(page, locale: str, tries: int = 20) -> list[str]:
    """The visible texts, once the server's updates (example headers, the mask figure) have arrived."""
    texts = page.evaluate(VISIBLE_JS)
    for _ in range(tries):
        if locale == "en-US" or not english_left(texts, locale):
            break
        page.wait_for_timeout(250)
        texts = page.evaluate(VISIBLE_JS)
    return texts


def _pick_model(page, elem_id: str, name_part: str) -> None:
    page.locator(f"#{elem_id} label").filter(has_text=name_part).first.click()


def _caption_run(page) -> dict[str, str]:
    """Caption an example scene; the server's texts (status line, figure captions) once the explorer is drawn."""
    name = "scene_00003.png"
    _open_tab(page, 0, "caption")
    page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector("#caption-image img")
    page.wait_for_timeout(300)
    page.click("#caption-run")
    page.wait_for_function("v => document.querySelector('#caption-text textarea').value === v",
                           arg=TRUTH[name]["caption"], timeout=TIMEOUT)
    _wait_new_figure(page, "#caption-heatmap", None)
    page.wait_for_function("() => document.querySelector('#caption-topk figcaption')")
    texts = {sel: page.inner_text(f"#caption-{sel}") for sel in ("status", "step")}
    for fig in ("heatmap", "topk", "share"):
        texts[f"{fig}-caption"] = page.inner_text(f"#caption-{fig} figcaption")
    texts["heatmap-cell"] = page.get_attribute("#caption-heatmap [role=gridcell]", "aria-label")
    texts["topk-header"] = page.inner_text("#caption-topk thead")
    return texts


@pytest.mark.parametrize("locale,direction", [("ar", "rtl"), ("zh-CN", "ltr")])
def test_every_tab_in_the_browsers_language(app_url, locale, direction):
    leaked: list[str] = []
    script = SCRIPT[locale]
    with local_page(app_url, leaked, locale=locale, viewport={"width": 1280, "height": 1000}) as page:
        page.wait_for_function("s => new RegExp('[' + s + ']').test(document.querySelector('#app-title').innerText)",
                               arg=script, timeout=TIMEOUT)
        page.wait_for_function("d => document.documentElement.dir === d", arg=direction, timeout=TIMEOUT)
        assert page.evaluate("getComputedStyle(document.querySelector('#caption-run')).direction") == direction
        left, seen = {}, 0
        for i, tab in enumerate(TABS):
            _open_tab(page, i, tab)
            if tab == "mask":  # the tab draws its figure when opened: its sentences are the server's
                page.wait_for_function("() => document.querySelector('#mask-caption').innerText.trim()")
                _wait_new_src(page, "#mask-image", None)
            if tab in SHOT_TABS:
                _shot(page, f"{tab}-{locale}")
            _open_accordions(page)
            texts = _visible_after_sync(page, locale)
            seen += sum(bool(re.search(f"[{script}]", t)) for t in texts)
            if english_left(texts, locale):
                left[tab] = english_left(texts, locale)
            assert "__i18n__" not in page.inner_text("body"), tab  # no raw translation marker anywhere
        assert not left, f"untranslated in {locale}: {left}"
        assert seen >= 100
        # the PaliGemma prompt in the page's language, for a model that reads it (the embedded one: English)
        _open_tab(page, TABS.index("paligemma"), "paligemma")
        assert page.input_value("#paligemma-prompt textarea") == "caption en"
        _pick_model(page, "paligemma-model", "paligemma-3b-mix-224")
        code = {"ar": "ar", "zh-CN": "zh"}[locale]
        page.wait_for_function("v => document.querySelector('#paligemma-prompt textarea').value === v",
                               arg=f"caption {code}")
        assert page.locator("#paligemma-lang").locator("input, textarea").first.input_value() == code
        # what the server writes after a caption is in the page's language too
        server = _caption_run(page)
        for sel, text in server.items():
            assert re.search(f"[{script}]", text), (sel, text)
        assert "of this map" not in server["heatmap-caption"] and "Step 1" not in server["topk-caption"]
        page.locator("#caption-heatmap").scroll_into_view_if_needed()
        _shot(page, f"explorer-{locale}")
    assert not leaked, leaked


def test_english_then_a_switch_in_the_settings_panel(app_url):
    leaked: list[str] = []
    with local_page(app_url, leaked, locale="en-US", viewport={"width": 1280, "height": 1000}) as page:
        texts = []
        for i, tab in enumerate(TABS):
            _open_tab(page, i, tab)
            texts += page.evaluate(VISIBLE_JS)
        assert {"Image", "Model", "Caption", "Compare", "Model A", "Describe the video", "Draw the mask",
                "Run PaliGemma", "Precision", "Language", "Task"} <= set(texts)
        assert page.evaluate("document.documentElement.dir") == "ltr"
        assert "__i18n__" not in page.inner_text("body")
        # Gradio's settings panel: Arabic. The page flips, and the server writes Arabic from then on
        page.locator("footer").get_by_text("Settings").click()
        page.get_by_role("combobox", name="Language").click()
        page.get_by_role("option", name="العربية").click()
        page.locator("[role=dialog] button").first.click()  # the panel's close button (an icon)
        page.wait_for_selector("[role=dialog]", state="detached")
        page.wait_for_function("() => document.documentElement.dir === 'rtl'", timeout=TIMEOUT)
        _open_tab(page, TABS.index("mask"), "mask")
        page.click("#mask-run")
        page.wait_for_function("() => /[\u0600-\u06FF]/.test(document.querySelector('#mask-caption').innerText)",
                               timeout=TIMEOUT)
        _open_tab(page, TABS.index("paligemma"), "paligemma")
        _pick_model(page, "paligemma-model", "paligemma-3b-mix-224")
        page.wait_for_function("() => document.querySelector('#paligemma-prompt textarea').value === 'caption ar'")
    assert not leaked, leaked


def test_english_left_finds_english():
    assert english_left(["Draw the mask", "ارسم القناع", "PaliGemma", "GIT", "viridis", "fp32",
                         "microsoft/git-base-coco", "Top-p (العيّنات)"], "ar") == ["Draw the mask"]
