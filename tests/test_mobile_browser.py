"""The app on a phone: chromium at a 390 px wide viewport (an iPhone 12-14 in portrait), against `python app.py`.
A student uploads a scene, captions it and clicks a word; nothing spills sideways; the screenshot goes to
assets/screenshots/mobile.png. Every request that does not go to the app is blocked and must not happen."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from test_app_browser import TIMEOUT, _wait_new_figure, local_page  # noqa: E402 - same browser setup

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
SHOTS = ROOT / "assets" / "screenshots"
WIDTH = 390


def test_caption_on_a_phone(app_url):
    truth = json.loads((EXAMPLES / "truth.json").read_text())["files"]
    name = sorted(n for n, f in truth.items() if f["kind"] == "image")[0]
    leaked: list[str] = []
    with local_page(app_url, leaked, viewport={"width": WIDTH, "height": 844}, device_scale_factor=2,
                    is_mobile=True, has_touch=True) as page:
        page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
        page.wait_for_selector("#caption-image img")
        page.locator("#caption-run").tap()
        page.wait_for_function("v => document.querySelector('#caption-text textarea').value === v",
                               arg=truth[name]["caption"], timeout=TIMEOUT)
        page.locator("#caption-chips label").first.wait_for()
        _wait_new_figure(page, "#caption-heatmap", None)
        # the layout fits the phone: no sideways scrolling, the button and the output inside the screen
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the phone"
        for sel in ("#caption-run", "#caption-text", "#caption-heatmap"):
            box = page.locator(sel).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, (sel, box)
        from PIL import Image

        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#caption-text").scroll_into_view_if_needed()
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(SHOTS / "mobile.png", optimize=True)
    assert not leaked, leaked
