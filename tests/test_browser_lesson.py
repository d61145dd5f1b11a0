"""Issue 23 in a real browser (chromium): every lesson step sets up the app with one click and shows what its text
names; "Attention step by step" and "The sampling knobs, live" open, work by keyboard, carry their numbers as text,
and pass axe-core."""
from __future__ import annotations

from pathlib import Path

import pytest

from gitdemo.ui import lessons
from test_app_browser import EXAMPLES, TIMEOUT, TRUTH, _wait_value, local_page

DOCS_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
RESULT = {"caption": "#caption-text", "vqa": "#vqa-text", "video": "#video-text", "paligemma": "#paligemma-answer"}
TAB_NAMES = {"caption": "Caption", "vqa": "Visual QA", "video": "Video", "paligemma": "PaliGemma"}


@pytest.fixture()
def page_(app_url):
    """A fresh page per test (each test may need its own locale; one sync playwright at a time)."""
    leaked: list[str] = []
    with local_page(app_url, leaked, viewport={"width": 1280, "height": 1000}) as page:
        yield page, leaked


def _panel_shot(page, selector: str, name: str) -> None:
    """One panel's screenshot for docs/usage.md (palette-compressed, as the other screenshots)."""
    import io

    from PIL import Image

    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    im = Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(DOCS_SHOTS / f"{name}.png", optimize=True)


def _axe(page, selector: str) -> list:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector, options={"runOnly": ["wcag2a", "wcag2aa"]})
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]


def test_every_lesson_step_sets_up_the_app(page_):
    page, leaked = page_
    lesson = lessons.load()
    # a student had switched the caption tab to sampling: the lesson's click sets greedy back
    page.get_by_role("button", name="Decoding").first.click()
    page.locator("#caption-decoding label").filter(has_text="sampling").click()
    page.get_by_role("tab", name="Lesson").click()
    page.wait_for_function("() => document.querySelector('#lesson-body').innerText.includes('1.')", timeout=TIMEOUT)
    for i, step in enumerate(lesson.steps):
        s = step.state
        assert step.text("title") in page.inner_text("#lesson-body")
        page.click("#lesson-reveal")
        page.wait_for_function("t => document.querySelector('#lesson-answer').innerText.includes(t)",
                               arg=step.text("answer")[:30], timeout=TIMEOUT)
        page.click("#lesson-setup")
        page.wait_for_function("n => [...document.querySelectorAll('[role=tab]')].some(t => "
                               "t.innerText.trim() === n && t.getAttribute('aria-selected') === 'true')",
                               arg=TAB_NAMES[s.tab], timeout=TIMEOUT)
        # the tab ran the step's example: its answer holds the token the step's text names
        word = s.token if isinstance(s.token, str) else None
        if s.tab in ("caption", "video") and s.model == "embedded":
            _wait_value(page, RESULT[s.tab], TRUTH[s.example]["caption"])
        page.wait_for_function("([sel, w]) => { const t = document.querySelector(sel + ' textarea'); "
                               "return t && t.value.trim().length > 0 && (!w || t.value.includes(w)); }",
                               arg=[RESULT[s.tab], word], timeout=TIMEOUT)
        if s.tab == "caption":  # its decoding accordion is open (closed ones are not in the page)
            assert page.locator("#caption-decoding input:checked").get_attribute("value") == "greedy"
        if s.question:
            q = "#paligemma-prompt" if s.tab == "paligemma" else f"#{s.tab}-question"
            assert page.input_value(f"{q} textarea") == s.question
        # the explorer was built for that answer: the named token is one of its chips
        page.wait_for_function("([k, w]) => [...document.querySelectorAll('#' + k + '-chips label')].some("
                               "l => !w || l.innerText.trim() === w)", arg=[s.tab, word], timeout=TIMEOUT)
        # ... and it opened on the step's token, layer, head and view, with no further click
        page.wait_for_function("([k, w]) => { const c = document.querySelector('#' + k + '-chips input:checked'); "
                               "return c && (!w || c.closest('label').innerText.trim() === w); }",
                               arg=[s.tab, word], timeout=TIMEOUT)
        for name, value in (("layer", s.layer), ("head", s.head), ("map", s.view)):
            page.wait_for_function("([sel, v]) => { const c = document.querySelector(sel + ' input:checked'); "
                                   "return c && c.value === v; }", arg=[f"#{s.tab}-{name}", str(value)],
                                   timeout=TIMEOUT)
        page.get_by_role("tab", name="Lesson").click()
        if i + 1 < len(lesson.steps):
            page.click("#lesson-next")
            page.wait_for_function("t => document.querySelector('#lesson-body').innerText.includes(t)",
                                   arg=lesson.steps[i + 1].text("title"), timeout=TIMEOUT)
            assert page.inner_text("#lesson-answer").strip() == ""  # the next answer is hidden again
    assert not _axe(page, "#lesson-body")
    assert not leaked


def test_step_by_step_and_the_knobs_by_keyboard(page_):
    page, leaked = page_
    name = "scene_00000.png"
    page.get_by_role("tab", name="Caption").click()
    page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector("#caption-image img")
    page.click("#caption-run")
    _wait_value(page, "#caption-text", TRUTH[name]["caption"])
    page.wait_for_function("() => document.querySelectorAll('#caption-chips label').length > 2", timeout=TIMEOUT)
    # attention step by step: opened by keyboard (Enter on the accordion's button), computed on opening
    page.locator("#caption-mechanism button").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#caption-mech-html table')", timeout=TIMEOUT)
    text = page.inner_text("#caption-mech-html")
    assert "Layer 1, head 1" in text and "blocked by the mask" in text and "weights after softmax" in text
    cells = page.locator("#caption-mech-html .gd-grid").first.locator("[data-cell]")
    assert cells.count() == 49 and all(ch.isdigit() for ch in cells.nth(0).get_attribute("aria-label")[-1:])
    grid = page.locator("#caption-mech-html .gd-grid").first
    grid.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused and "row 2, column 2" in focused and "score" in focused  # the first arrow enters the grid
    assert not _axe(page, "#caption-mech-html")  # what this panel draws (Gradio's own labels: the theme's)
    _panel_shot(page, "#caption-mechanism", "attention-step-by-step")
    # an image patch's own query: text keys are blocked by GIT's rule
    page.locator("#caption-mech-query label").nth(1).click()
    page.click("#caption-mech-run")
    page.wait_for_function("() => document.querySelector('#caption-mech-html').innerText.includes('never text')",
                           timeout=TIMEOUT)
    # the sampling knobs: opened, then redrawn by the temperature slider (keyboard), then 100 draws
    page.locator("#caption-knobs button").first.click()
    page.wait_for_function("() => document.querySelector('#caption-knobs-html table')", timeout=TIMEOUT)
    assert "with temperature 1" in page.inner_text("#caption-knobs-html")
    slider = page.locator("#caption-knobs-t input[type=range]")
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#caption-knobs-html').innerText.includes("
                           "'with temperature 1.2')", timeout=TIMEOUT)
    page.click("#caption-knobs-again")
    page.wait_for_function("() => document.querySelector('#caption-knobs-html').innerText.includes('100 draws')",
                           timeout=TIMEOUT)
    counts = page.evaluate("() => [...document.querySelectorAll('#caption-knobs-html tr')].map(r => "
                           "r.cells.length > 4 ? parseInt(r.cells[4].innerText || '0') : 0)")
    assert sum(c for c in counts if c == c) == 100
    assert not _axe(page, "#caption-knobs-html")
    _panel_shot(page, "#caption-knobs", "sampling-knobs")
    assert not leaked


@pytest.mark.parametrize("lang, word", [("ar", "الدرس"), ("zh-CN", "课程")])
def test_the_lesson_speaks_the_pages_language(app_url, lang, word):
    leaked: list[str] = []
    with local_page(app_url, leaked, locale=lang, viewport={"width": 1280, "height": 900}) as page:
        page.get_by_role("tab", name=word).click()
        expected = lessons.load().steps[0].text("question", lang)
        page.wait_for_function("t => document.querySelector('#lesson-body').innerText.includes(t)", arg=expected,
                               timeout=TIMEOUT)
    assert not leaked


def test_attention_scores_over_the_api(app_url):
    from gradio_client import Client, handle_file

    from gitdemo.explain.scores import softmax_of

    client = Client(app_url, analytics_enabled=False, verbose=False)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in info["/attention_scores"]["parameters"]] == \
        ["image", "model", "question", "token", "layer", "head"]
    data = client.predict(handle_file(str(EXAMPLES / "scene_00000.png")), "embedded", "", 3, 2, 2,
                          api_name="/attention_scores")
    assert (data["token"], data["layer"], data["head"]) == (3, 2, 2) and data["answer"] == TRUTH["scene_00000.png"][
        "caption"]
    assert max(abs(a - b) for a, b in zip(softmax_of(data["scores"], data["masked"]), data["weights"],
                                          strict=True)) < 1e-5
    pali = client.predict(handle_file(str(EXAMPLES / "scene_00001.png")), "embedded-paligemma", "caption en", 1, 1, 1,
                          api_name="/attention_scores")
    assert pali["family"] == "paligemma" and "cls" not in {k["kind"] for k in pali["keys"]}


def test_step_by_step_in_arabic(app_url):
    leaked: list[str] = []
    name = "scene_00000.png"
    with local_page(app_url, leaked, locale="ar", viewport={"width": 1280, "height": 1000}) as page:
        page.wait_for_function("() => document.documentElement.dir === 'rtl'", timeout=TIMEOUT)
        page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
        page.wait_for_selector("#caption-image img")
        page.click("#caption-run")
        _wait_value(page, "#caption-text", TRUTH[name]["caption"])
        page.wait_for_function("() => document.querySelectorAll('#caption-chips label').length > 2", timeout=TIMEOUT)
        page.locator("#caption-mechanism button").first.click()
        page.wait_for_function("() => document.querySelector('#caption-mech-html table')", timeout=TIMEOUT)
        text = page.inner_text("#caption-mech-html")
        assert "الطبقة 1" in text and "المفاتيح" in text  # the server wrote it in the page's language
        grid = page.locator("#caption-mech-html .gd-grid").first
        grid.focus()
        page.keyboard.press("ArrowRight")  # the picture is not mirrored: column 2 is right of column 1
        page.keyboard.press("ArrowRight")
        focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        assert focused and "الصف 1، العمود 2" in focused
        page.locator("#caption-knobs button").first.click()
        page.wait_for_function("() => { const c = document.querySelector('#caption-knobs-html caption'); "
                               "return c && /[\\u0600-\\u06ff]/.test(c.innerText); }", timeout=TIMEOUT)
    assert not leaked
