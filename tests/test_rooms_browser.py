"""The class wall in a real browser: a teacher and three students, each in a browser context of their own
(chromium, against `python app.py`). The students join (one by the link, two by the typed code) and caption;
the wall shows exactly their posts; a word shows their maps; a withdrawn post disappears; a second room sees
none of it; a wrong teacher key gets nothing; closing the room removes everything. Then presenter mode at a
projector's sizes (screenshots to docs/screenshots/)."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from test_app_browser import CHROMIUM, EXAMPLES, FLAGS, TIMEOUT, TRUTH, _shot, local_only  # noqa: E402 - same browser setup

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PICTURES = ("scene_00000.png", "scene_00001.png", "scene_00002.png")


@contextlib.contextmanager
def browser(app_url: str, leaked: list[str]):
    """One chromium; `open_page(**options)` gives a page in a new, separate context (its own cookies, storage,
    Gradio session). Every request that does not go to the app is blocked and listed in `leaked`."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)

        route = local_only(app_url, leaked)

        def open_page(path: str = "", **options):
            ctx = b.new_context(viewport=options.pop("viewport", {"width": 1280, "height": 1000}), **options)
            ctx.set_default_timeout(TIMEOUT)
            ctx.route("**/*", route)
            page = ctx.new_page()
            page.goto(app_url + path)
            page.wait_for_selector("#caption-run")
            return page

        try:
            yield open_page
        finally:
            b.close()


def _text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first.input_value()


def _class_tab(page) -> None:
    page.get_by_role("tab", name="Class").click()


def _caption(page, name: str) -> None:
    page.get_by_role("tab", name="Caption").click()
    page.set_input_files("#caption-image input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector("#caption-image img")
    page.click("#caption-run")
    page.wait_for_function("v => { const t = document.querySelector('#caption-text textarea'); "
                           "return t && t.value === v; }", arg=TRUTH[name]["caption"], timeout=TIMEOUT)


def _wall_texts(page, n: int) -> list[str]:
    """The texts of the wall's cards, once there are `n` of them (the wall refreshes by itself)."""
    page.wait_for_function("n => document.querySelectorAll('#room-wall figure').length === n", arg=n,
                           timeout=TIMEOUT)
    return page.locator("#room-wall figure .wall-text").all_inner_texts()


def _toast(page, text: str) -> None:
    page.wait_for_function("s => [...document.querySelectorAll('[data-testid=toast-body]')]"
                           ".some(t => t.textContent.includes(s))", arg=text, timeout=TIMEOUT)


def test_a_teacher_and_three_students(app_url):
    leaked: list[str] = []
    with browser(app_url, leaked) as open_page:
        teacher = open_page()
        _class_tab(teacher)
        teacher.click("#room-open")
        teacher.wait_for_function("() => document.querySelector('#room-code-big').innerText.includes('-')")
        link = _text(teacher, "room-student-link")
        code = link.split("?room=")[1]
        assert len(code) == 8 and "#key=" in _text(teacher, "room-teacher-link")
        assert "No posts yet" in teacher.inner_text("#room-wall")

        students = [open_page(f"/?room={code}"), open_page(), open_page()]  # by the link, then by the code
        for s in students[1:]:
            _class_tab(s)
            s.fill("#room-join-code textarea, #room-join-code input", code.lower())
            s.click("#room-join")
        for s in students:
            s.wait_for_function("c => { const b = document.querySelector('#caption-room textarea, #caption-room "
                                "input'); return b && b.value === c; }", arg=code, timeout=TIMEOUT)
        for s, name in zip(students, PICTURES, strict=True):
            _caption(s, name)
        captions = sorted(TRUTH[n]["caption"] for n in PICTURES)
        assert sorted(_wall_texts(teacher, 3)) == captions  # exactly their posts

        # a word: every post that says it shows its map, on one scale
        words = teacher.locator("#room-word label").all_inner_texts()
        word = next(w for w in words[1:] if w not in ("a", "the"))
        saying = [c for c in captions if word in c.split()]
        teacher.locator("#room-word label", has_text=word).first.click()
        teacher.wait_for_function("n => document.querySelectorAll('#room-wall figure img[alt*=\"the map of\"]')"
                                  ".length === n", arg=len(saying), timeout=TIMEOUT)
        alts = teacher.locator("#room-wall figure img").evaluate_all("els => els.map(e => e.alt)")
        assert all(f"“{word}”" in a and "times an even share" in a for a in alts)
        assert sorted(teacher.locator("#room-wall figure .wall-text").all_inner_texts()) == saying
        _shot(teacher, "class-wall-word", SHOTS)
        teacher.locator("#room-word label").first.click()  # back to the pictures
        _wall_texts(teacher, 3)

        # a student withdraws her post: it disappears from the wall
        gone = students[1]
        _class_tab(gone)
        gone.click("#room-mine-refresh")
        gone.locator("#room-mine label").first.click()
        gone.click("#room-withdraw")
        left = sorted(TRUTH[n]["caption"] for n in (PICTURES[0], PICTURES[2]))
        teacher.wait_for_function("() => document.querySelectorAll('#room-wall figure').length === 2",
                                  timeout=TIMEOUT)
        assert sorted(_wall_texts(teacher, 2)) == left

        # the private teacher link opens the same wall, on the Class tab, on another device
        elsewhere = open_page("/" + _text(teacher, "room-teacher-link").split("/", 3)[3])
        elsewhere.wait_for_function("() => document.querySelector('#class-button').getAttribute('aria-selected') "
                                    "=== 'true'", timeout=TIMEOUT)
        assert sorted(_wall_texts(elsewhere, 2)) == left

        # a second room (another teacher) sees none of it
        other = students[2]
        _class_tab(other)
        other.click("#room-open")
        other.wait_for_function("() => document.querySelector('#room-wall').innerText.includes('No posts yet')")
        assert other.locator("#room-wall figure").count() == 0

        # a wrong teacher key gets nothing
        nosy = students[0]
        _class_tab(nosy)
        nosy.locator("#room-teacher-acc").get_by_text("Show the wall of a class").click()
        nosy.fill("#room-teacher-code textarea, #room-teacher-code input", code)
        nosy.fill("#room-teacher-key input, #room-teacher-key textarea", "not-the-key")
        nosy.click("#room-show")
        _toast(nosy, "No class with this code")
        assert nosy.locator("#room-wall figure").count() == 0
        _shot(teacher, "class-wall", SHOTS)

        # closing the room removes everything: the wall says so, a student's next caption is refused
        teacher.click("#room-close")
        teacher.wait_for_function("() => document.querySelector('#room-wall').innerText.includes('closed')")
        assert teacher.locator("#room-wall figure").count() == 0
        s = students[0]
        s.get_by_role("tab", name="Caption").click()
        s.click("#caption-run")
        _toast(s, "No class with this code")
    assert not leaked, leaked


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)], ids=["1920x1080", "1280x720"])
def test_presenter_mode_at_projector_sizes(app_url, size):
    leaked: list[str] = []
    w, h = size
    with browser(app_url, leaked) as open_page:
        page = open_page("/?presenter=1", viewport={"width": w, "height": h})
        page.wait_for_function("() => document.body.classList.contains('presenter')")
        assert page.locator("#presenter-switch input").is_checked()
        _caption(page, "scene_00000.png")
        size_px = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#caption-text textarea'))"
                                ".fontSize)")
        assert size_px >= 20  # large type
        assert not page.locator("#caption-precision").is_visible()  # the lesson's controls only
        folded = page.get_by_text("Decoding", exact=True)
        assert folded.count() and not folded.first.is_visible()
        assert page.locator("#caption-run").is_visible()
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"presenter-{w}x{h}.png"))
        page.click("#presenter-switch input")  # the switch turns it off again
        page.wait_for_function("() => !document.body.classList.contains('presenter')")
    assert not leaked, leaked


CLASS_TEXTS_JS = """() => Array.from(document.querySelectorAll(
  '#class [data-testid=block-info], #class [data-testid=block-label], #class button, #class .label-wrap span, '
  + '#class .prose, #class label span, #room-counts p, #room-counts caption, #room-counts th, #room-wall > p, '
  + '#room-code-big'))
  .filter(e => e.offsetParent !== null && !e.closest('#room-word'))
  .map(e => e.innerText.trim()).filter(t => t)"""


@pytest.mark.parametrize("locale", ["ar", "zh-CN"])
def test_the_class_tab_in_arabic_and_chinese_and_for_axe(app_url, locale):
    """Every text of the Class tab and its wall in the page's language (the model's words excepted), and axe-core
    finds nothing on the tab with a wall of posts."""
    from axe_playwright_python.sync_playwright import Axe

    from gitdemo.bench.classroom import Student, _defaults
    from test_browser_i18n import SCRIPT, english_left

    leaked: list[str] = []
    with browser(app_url, leaked) as open_page:
        page = open_page(locale=locale)
        page.wait_for_function("s => new RegExp('[' + s + ']').test(document.querySelector('#app-title').innerText)",
                               arg=SCRIPT[locale], timeout=TIMEOUT)
        page.locator("#class-button").click()
        page.click("#room-open")
        page.wait_for_function("() => document.querySelector('#room-code-big').innerText.includes('-')")
        code = _text(page, "room-student-link").split("?room=")[1]
        student = Student(app_url, "git", _defaults(app_url, "git", None))
        try:
            student.ask(str(EXAMPLES / PICTURES[0]), room=code)
        finally:
            student.close()
        _wall_texts(page, 1)
        page.locator("#room-word label").nth(1).click()  # a word: the legend and the maps' line
        page.wait_for_selector("#room-wall .wall-legend")
        texts = page.evaluate(CLASS_TEXTS_JS)
        assert texts and not english_left(texts, locale), english_left(texts, locale)
        alt = page.locator("#room-wall figure img").first.get_attribute("alt")
        assert english_left([alt.split("“")[0]], locale) == []  # the alt text too (its quoted words are the model's)
        violations = Axe().run(page, context="#class").response["violations"]
        assert not violations, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        page.click("#room-close")
    assert not leaked, leaked
