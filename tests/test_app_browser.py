"""The app in a real browser: Debian's chromium driven by playwright, against `python app.py`.

Every request that does not go to the app (127.0.0.1) is blocked and recorded; the test fails if
there was any. Screenshots of each tab go to assets/screenshots/ (README shows them).
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (tests/run.sh installs it)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "assets" / "examples"
SHOTS = ROOT / "assets" / "screenshots"
TRUTH = json.loads((EXAMPLES / "truth.json").read_text())["files"]
# headless in a container, and quiet: no background requests of chromium's own (updates, sync, safe browsing)
FLAGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps",
         "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
         "--metrics-recording-only", "--mute-audio"]
TIMEOUT = 60_000


def local_only(app_url: str, leaked: list[str]):
    """A route handler: requests to the app (and data:/blob: addresses) go through; any other is blocked and
    listed in `leaked`."""
    def route(r):
        url = r.request.url
        if url.startswith(app_url) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            leaked.append(url)
            r.abort()
    return route


@contextlib.contextmanager
def local_page(app_url: str, leaked: list[str], path: str = "", **context_options):
    """A page of headless chromium on the app (at `path`, e.g. "/?tab=vqa"); every request elsewhere is blocked and
    listed in `leaked`."""
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                   **context_options)
        ctx.set_default_timeout(TIMEOUT)
        ctx.route("**/*", local_only(app_url, leaked))
        page = ctx.new_page()
        page.goto(app_url + path)
        page.wait_for_selector("#caption-run")
        try:
            yield page
        finally:
            ctx.close()


@pytest.fixture(scope="module")
def browser_page(app_url):
    leaked: list[str] = []
    with local_page(app_url, leaked, viewport={"width": 1280, "height": 1000}) as page:
        yield page, leaked


def _shot(page, name: str, folder: Path = SHOTS) -> None:
    """A full-page screenshot, shrunk and palette-compressed for the README (or the docs: `folder`)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    im = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    width = 1000
    im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(folder / f"{name}.png", optimize=True)


def _value(page, selector: str) -> str:
    return page.input_value(f"{selector} textarea")


def _wait_value(page, selector: str, expected: str) -> None:
    page.wait_for_function("([s, v]) => { const t = document.querySelector(s + ' textarea'); "
                           "return t && t.value === v; }", arg=[selector, expected], timeout=TIMEOUT)


def _src(page, selector: str) -> str | None:
    img = page.locator(f"{selector} img")
    return img.first.get_attribute("src") if img.count() else None


def _wait_new_src(page, selector: str, old: str | None) -> str:
    page.wait_for_function("([s, old]) => { const i = document.querySelector(s + ' img'); "
                           "return i && i.src && i.src !== old; }", arg=[selector, old], timeout=TIMEOUT)
    return _src(page, selector)


def _figure(page, selector: str) -> str:
    """A browser-drawn figure's HTML (empty until it is drawn)."""
    return page.evaluate("s => { const f = document.querySelector(s + ' figure'); return f ? f.outerHTML : ''; }",
                         selector)


def _wait_new_figure(page, selector: str, old: str | None) -> str:
    """Wait until the browser-drawn figure in `selector` exists and differs from `old`; return its HTML."""
    page.wait_for_function("([s, old]) => { const f = document.querySelector(s + ' figure'); "
                           "return f && f.outerHTML !== old; }", arg=[selector, old or ""], timeout=TIMEOUT)
    return _figure(page, selector)


def _caption(page, selector: str) -> str:
    return page.inner_text(f"{selector} figcaption")


def test_caption_click_a_word_and_the_heatmap_changes(browser_page):
    page, _ = browser_page
    name = "scene_00000.png"
    caption = TRUTH[name]["caption"]
    page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector("#caption-image img")
    page.click("#caption-run")
    _wait_value(page, "#caption-text", caption)
    chips = page.locator("#caption-chips label")
    chips.first.wait_for()
    page.wait_for_function("n => document.querySelectorAll('#caption-chips label').length === n",
                           arg=len(caption.split()))
    assert chips.all_inner_texts() == caption.split()
    first = _wait_new_figure(page, "#caption-heatmap", None)
    assert page.locator("#caption-heatmap [role=gridcell]").count() == 7 * 7  # one cell per patch (embedded GIT)
    assert "of this map on" in _caption(page, "#caption-heatmap")
    word = caption.split()[2]  # a shape word ("a green square ...")
    chips.nth(2).click()
    second = _wait_new_figure(page, "#caption-heatmap", first)
    assert second != first
    page.wait_for_function("w => document.querySelector('#caption-step').innerText.includes(w)", arg=word)
    assert f"'{word}'" in _caption(page, "#caption-heatmap")
    assert f"it chose '{word}'" in _caption(page, "#caption-topk")
    assert page.locator("#caption-scrubber input[type=number]").input_value() == "3"
    page.get_by_text("All layers and all heads (small multiples)").first.click()
    page.locator("#caption-layers img").first.wait_for()
    _shot(page, "caption")


def test_vqa_example_from_the_cache(browser_page):
    page, _ = browser_page
    page.get_by_role("tab", name="Visual QA").click()
    page.locator("#vqa-examples tbody tr").first.click()
    first = sorted(n for n, f in TRUTH.items() if f["kind"] == "image")[0]
    page.wait_for_function("() => document.querySelector('#vqa-question textarea').value.length > 0")
    question = page.input_value("#vqa-question textarea")
    answer = dict(TRUTH[first]["questions"])[question]
    _wait_value(page, "#vqa-text", answer)
    page.locator("#vqa-chips label").first.wait_for()
    _wait_new_figure(page, "#vqa-heatmap", None)
    _shot(page, "vqa")


def test_video_upload(browser_page):
    page, _ = browser_page
    page.get_by_role("tab", name="Video").click()
    name = sorted(n for n, f in TRUTH.items() if f["kind"] == "video")[0]
    page.set_input_files("#video-input input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector("#video-input video")
    page.click("#video-run")
    _wait_value(page, "#video-text", TRUTH[name]["caption"])
    _wait_new_figure(page, "#video-frames", None)
    assert "frames the model read" in _caption(page, "#video-frames")
    assert page.locator("#video-frames .gd-stage").count() == 6  # one map per frame read
    _shot(page, "video")


def test_mask_and_paligemma_tabs(browser_page):
    page, _ = browser_page
    page.get_by_role("tab", name="Attention mask").click()
    page.click("#mask-run")
    _wait_new_src(page, "#mask-image", None)
    page.wait_for_function("() => document.querySelector('#mask-caption').innerText.includes('causal')")
    _shot(page, "mask")
    page.get_by_role("tab", name="PaliGemma").click()
    page.wait_for_selector("#paligemma-run", state="attached")


def test_paligemma_detect_draws_boxes(browser_page):
    """Offline, the PaliGemma tab runs the embedded model: an example `detect ...` prompt gives its exact
    answer and the boxes drawn over the image, labelled."""
    page, _ = browser_page
    page.get_by_role("tab", name="PaliGemma").click()
    examples = json.loads((EXAMPLES / "truth.json").read_text())["paligemma"]
    k, example = next((i, e) for i, e in enumerate(examples) if e["prompt"].startswith("detect "))
    page.locator("#paligemma-examples tbody tr").nth(k).click()
    _wait_value(page, "#paligemma-prompt", example["prompt"])
    page.wait_for_selector("#paligemma-image img")
    _wait_value(page, "#paligemma-answer", example["answer"])  # a cached example fills the outputs by itself
    label = example["prompt"][len("detect "):]
    page.wait_for_function("l => document.querySelector('#paligemma-boxes') && "
                           "document.querySelector('#paligemma-boxes').innerText.includes(l)", arg=label)
    n_boxes = example["answer"].count(" ; ") + 1
    assert page.locator("#paligemma-boxes img").count() >= 1 + n_boxes  # the image and one overlay per box
    page.locator("#paligemma-chips label").first.wait_for()  # the explorer has the answer's tokens
    _wait_new_figure(page, "#paligemma-heatmap", None)
    _shot(page, "paligemma")


def test_bad_file_shows_an_error(browser_page, bad_inputs):
    page, _ = browser_page
    page.get_by_role("tab", name="Caption").click()
    page.set_input_files("#caption-image input[type=file]", str(bad_inputs["text.png"]))
    page.wait_for_timeout(500)
    page.click("#caption-run")
    toast = page.locator("[data-testid=toast-body]")
    toast.first.wait_for(state="attached")
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=toast-body]')]"
                           ".some(t => t.textContent.includes('not an image'))")
    # and the app still works
    page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / "scene_00003.png"))
    page.wait_for_timeout(500)
    page.click("#caption-run")
    _wait_value(page, "#caption-text", TRUTH["scene_00003.png"]["caption"])


def test_no_request_left_the_machine(browser_page):
    _, leaked = browser_page
    assert leaked == []
