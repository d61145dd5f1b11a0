"""Click a patch in a real browser (chromium): the explorer's patch panel draws which tokens read it."""
from __future__ import annotations

from test_app_browser import EXAMPLES, ROOT, TIMEOUT, TRUTH, _shot, _wait_value, browser_page  # noqa: F401

DOCS_SHOTS = ROOT / "docs" / "screenshots"


def _caption_has(page, selector: str, text: str) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
                           arg=[selector, text], timeout=TIMEOUT)


def _run_example(page, tab: str, key: str, name: str) -> None:
    """Open `tab`, upload the shipped example `name` into `#<key>-image` and press `#<key>-run`."""
    page.get_by_role("tab", name=tab).click()
    page.set_input_files(f"#{key}-image input[type=file]", str(EXAMPLES / name))
    page.wait_for_selector(f"#{key}-image img")
    page.click(f"#{key}-run")


def test_pick_a_patch_by_keyboard_draws_its_readers(browser_page):  # noqa: F811
    """The heatmap is the picker: Tab into its grid, arrow keys move between patches, Enter picks one."""
    page, leaked = browser_page
    name = "scene_00000.png"
    _run_example(page, "Caption", "caption", name)
    _wait_value(page, "#caption-text", TRUTH[name]["caption"])
    page.wait_for_selector("#caption-heatmap [role=gridcell][tabindex='0']")
    page.focus("#caption-heatmap [role=gridcell][tabindex='0']")
    page.keyboard.press("Home")  # column 1 of the peak's row
    for _ in range(6):
        page.keyboard.press("ArrowUp")  # to row 1 (the grid stops at its edge)
    page.keyboard.press("ArrowDown")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("row 2, column 4:")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#caption-readers') && "
                           "document.querySelector('#caption-readers').innerText.includes('row 2, column 4')",
                           timeout=TIMEOUT)
    text = page.inner_text("#caption-readers")
    assert "read this patch most" in text
    assert page.locator("#caption-readers tbody tr").count() == len(TRUTH[name]["caption"].split())
    selected = page.get_attribute("#caption-heatmap [aria-selected=true]", "aria-label")
    assert selected.startswith("row 2, column 4:")  # the picked patch is outlined on the heatmap
    _shot(page, "patch-readers")
    assert not leaked


def test_compare_tab_two_models_one_scale(browser_page):  # noqa: F811
    page, leaked = browser_page
    name = "scene_00000.png"
    _run_example(page, "Compare", "compare", name)
    _wait_value(page, "#compare-text-a", TRUTH[name]["caption"])
    page.wait_for_function("() => document.querySelector('#compare-heat-a img') && "
                           "document.querySelector('#compare-heat-b img') && "
                           "document.querySelector('#compare-caption').innerText.includes('ONE colour scale')",
                           timeout=TIMEOUT)
    assert page.input_value("#compare-text-b textarea").strip()
    page.wait_for_function("() => document.querySelector('#compare-word textarea, #compare-word input').value === "
                           "'green'", timeout=TIMEOUT)
    page.locator("#compare-words").get_by_label("circle", exact=True).check()  # a radio: keyboard and readers
    page.wait_for_function("() => document.querySelector('#compare-caption').innerText.includes(\"'circle'\")",
                           timeout=TIMEOUT)
    _shot(page, "compare")
    # the same model twice, exact against int8: both answers, each side's precision, and how far they agree
    page.locator("#compare-model-b").get_by_label("Shapes (embedded, works offline)", exact=True).check()
    page.locator("#compare-precision-a").get_by_text("exact (fp32)", exact=True).click()
    page.locator("#compare-precision-b").get_by_text("int8 (fast, CPU)", exact=True).click()
    page.click("#compare-run")
    _caption_has(page, "#compare-caption", "Agreement:")
    _caption_has(page, "#compare-caption", "int8 (fast, CPU)")
    caption = page.inner_text("#compare-caption")
    assert "(Shapes (embedded, works offline), exact (fp32))" in caption
    assert "(Shapes (embedded, works offline), int8 (fast, CPU))" in caption
    assert "Agreement: the same answer" in caption  # measured: the embedded GIT's int8 caption is its fp32 one
    _wait_value(page, "#compare-text-b", TRUTH[name]["caption"])
    _shot(page, "compare-precision", DOCS_SHOTS)
    assert not leaked


def test_relevancy_view_in_the_explorer(browser_page):  # noqa: F811
    """Choose relevancy for the main heatmap: it is computed on demand and replaces raw attention."""
    page, leaked = browser_page
    name = "scene_00001.png"
    _run_example(page, "Caption", "caption", name)
    _wait_value(page, "#caption-text", TRUTH[name]["caption"])
    _caption_has(page, "#caption-heatmap figcaption", "of this map on")
    raw = page.inner_html("#caption-heatmap .gd-grid")
    page.locator("#caption-map").get_by_text("relevancy (gradient-weighted; computed on demand)").click()
    _caption_has(page, "#caption-heatmap figcaption", "Relevancy (Chefer, Gur & Wolf 2021)")
    assert page.inner_html("#caption-heatmap .gd-grid") != raw
    page.locator("#caption-chips label").nth(2).click()  # another token: the maps computed once are reused
    word = TRUTH[name]['caption'].split()[2]
    _caption_has(page, "#caption-heatmap .gd-title", f"'{word}' — relevancy")
    _shot(page, "relevancy", DOCS_SHOTS)
    assert not leaked
