"""The UI in Arabic (right to left) and Chinese: chromium with locale ar / zh-CN against `python app.py`.

No label the page shows may still be one of the English strings of the translation table, Arabic lays
out right to left, and the screenshots go to docs/screenshots/.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from test_app_browser import CHROMIUM, FLAGS, TIMEOUT, sync_api

from gitdemo.ui.i18n import TABLE

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
# texts Gradio shows for our labels, tab names, buttons and accordions
VISIBLE_JS = """() => Array.from(document.querySelectorAll(
  '[data-testid=block-info], [data-testid=block-label], [role=tab], button, .label-wrap span, .prose h3, #app-title'))
  .filter(e => e.offsetParent !== null).map(e => e.innerText.trim()).filter(t => t)"""
SAME_IN_EVERY_LANGUAGE = {k for k, (ar, zh) in TABLE.items() if ar == k and zh == k}  # "PaliGemma"
ENGLISH = {k.replace("### ", "").split("\n")[0].lstrip("# ").strip() for k in TABLE} - SAME_IN_EVERY_LANGUAGE


def _open(app_url, locale):
    p = sync_api.sync_playwright().start()
    profile = tempfile.TemporaryDirectory()
    ctx = p.chromium.launch_persistent_context(profile.name, executable_path=CHROMIUM, headless=True, args=FLAGS,
                                               locale=locale, viewport={"width": 1280, "height": 1000})
    ctx.set_default_timeout(TIMEOUT)
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith((app_url, "data:", "blob:")) else r.abort())
    page = ctx.new_page()
    page.goto(app_url)
    page.wait_for_selector("#caption-run")
    return p, profile, ctx, page


def _shot(page, name):
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    im = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(SHOTS / f"{name}.png", optimize=True)


@pytest.mark.parametrize("locale,script,direction", [("ar", "\u0600-\u06FF", "rtl"), ("zh-CN", "\u4e00-\u9fff", "ltr"),
                                                      ("en-US", "A-Za-z", "ltr")])
def test_ui_language_follows_the_browser(app_url, locale, script, direction):
    import re

    p, profile, ctx, page = _open(app_url, locale)
    try:
        page.wait_for_function("s => new RegExp('[' + s + ']').test(document.querySelector('#app-title').innerText)",
                               arg=script, timeout=TIMEOUT)
        page.wait_for_function("d => document.documentElement.dir === d", arg=direction, timeout=TIMEOUT)
        assert page.evaluate("getComputedStyle(document.querySelector('#caption-run')).direction") == direction
        seen = {}
        for tab in ("caption", "compare"):
            page.locator("[role=tab]").nth(0 if tab == "caption" else 5).click()
            page.wait_for_selector(f"#{tab}-run", state="visible")
            seen[tab] = page.evaluate(VISIBLE_JS)
            if locale != "en-US":
                _shot(page, f"{tab}-{locale}")
        texts = seen["caption"] + seen["compare"]
        assert "__i18n__" not in page.inner_text("body")  # no raw translation marker anywhere
        if locale == "en-US":
            assert {"Image", "Model", "Caption", "Compare", "Model A"} <= set(texts)
        else:
            left = sorted(t for t in texts if t in ENGLISH)
            assert not left, f"untranslated in {locale}: {left}"
            assert sum(bool(re.search(f"[{script}]", t)) for t in texts) >= 15
    finally:
        ctx.close()
        p.stop()
        profile.cleanup()
